#include "tests/helpers.h"

using namespace cf;
using cf::test::error_of;
using cf::test::require_gradcheck;

TEST_CASE("softmax rows sum to one and are stable", "[ops][softmax]") {
  Tensor x = Tensor::from({1000, 1001, 1002, -5, 0, 5}, {2, 3});
  Tensor y = softmax(x);
  CHECK(sum(y, 1).at({0}) == Approx(1.0f));
  CHECK(y.at({0, 2}) == Approx(std::exp(2.0) / (1 + std::exp(1.0) + std::exp(2.0))));
  CHECK(log_softmax(x).at({0, 0}) == Approx(std::log(y.at({0, 0}))));
  Tensor cols = softmax(x, 0);
  CHECK(cols.at({0, 0}) + cols.at({1, 0}) == Approx(1.0f));
}

TEST_CASE("softmax and log_softmax gradients", "[ops][softmax][grad]") {
  const std::vector<Shape> shapes = {{1}, {5}, {3, 4}, {2, 3, 4}, {2, 1, 3}};
  for (const Shape& s : shapes)
    for (int64_t axis = -int64_t(s.size()); axis < int64_t(s.size()); ++axis) {
      INFO(shape_str(s) << " axis " << axis);
      Tensor x = Tensor::randn(s, 31);
      require_gradcheck([=](const std::vector<Tensor>& v) { return softmax(v[0], axis); }, {x});
      require_gradcheck([=](const std::vector<Tensor>& v) { return log_softmax(v[0], axis); }, {x});
    }
}

TEST_CASE("softmax rejects a bad axis", "[ops][softmax][errors]") {
  CHECK(error_of([] { softmax(Tensor::ones({2, 3}), 2); }).find("softmax: axis 2 is out of range for shape [2, 3]") != std::string::npos);
  CHECK(error_of([] { log_softmax(Tensor::zeros({0, 3})); }).find("log_softmax") != std::string::npos);
}

TEST_CASE("softmax and log_softmax of inputs of size 1e4 are finite and exact", "[ops][softmax]") {
  // 17 columns: the SIMD kernels' full blocks and their tail.
  Tensor x = Tensor::randn({3, 17}, 41, 0.0f, 1e4f).requires_grad_();
  Tensor y = softmax(x), ly = log_softmax(x);
  for (int64_t r = 0; r < 3; ++r) {
    double m = -1e300, den = 0;
    for (int64_t c = 0; c < 17; ++c) m = std::max(m, double(x.at({r, c})));
    for (int64_t c = 0; c < 17; ++c) den += std::exp(double(x.at({r, c})) - m);
    for (int64_t c = 0; c < 17; ++c) {
      const double logp = double(x.at({r, c})) - m - std::log(den);
      CHECK(y.at({r, c}) == Approx(std::exp(logp)).margin(1e-6));
      CHECK(ly.at({r, c}) == Approx(logp).epsilon(1e-5).margin(1e-2));  // float spacing at 1e4 is 1e-3
    }
  }
  sum(y * Tensor::randn({3, 17}, 42) + ly).backward();
  for (float g : x.grad().to_vector()) CHECK(std::isfinite(g));
}
