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
