#include "tests/helpers.h"

using namespace cf;
using cf::test::error_of;
using cf::test::require_gradcheck;

TEST_CASE("binary ops broadcast like NumPy", "[ops][binary]") {
  Tensor a = Tensor::from({1, 2, 3, 4, 5, 6}, {2, 3});
  Tensor row = Tensor::from({10, 20, 30}, {3});
  Tensor col = Tensor::from({100, 200}, {2, 1});
  Tensor s = add(a, row);
  CHECK(s.shape() == Shape{2, 3});
  CHECK(s.at({1, 2}) == 36.0f);
  Tensor t = mul(a, col);
  CHECK(t.at({0, 1}) == 200.0f);
  CHECK(t.at({1, 0}) == 800.0f);
  Tensor outer = sub(Tensor::from({1, 2}, {2, 1}), Tensor::from({1, 2, 3}, {1, 3}));
  CHECK(outer.shape() == Shape{2, 3});
  CHECK(outer.at({1, 0}) == 1.0f);
  CHECK(div(a, Tensor::scalar(2.0f)).at({1, 1}) == 2.5f);
  CHECK(broadcast_shapes({5, 1, 4}, {3, 1}, "x") == Shape{5, 3, 4});
}

TEST_CASE("add, sub, mul, div gradients", "[ops][binary][grad]") {
  const std::vector<std::pair<Shape, Shape>> shapes = {
      {{3, 4}, {3, 4}}, {{3, 4}, {4}},       {{3, 1}, {1, 4}}, {{2, 3, 4}, {3, 1}},
      {{1}, {2, 3}},    {{1, 1}, {1, 1}},    {{5}, {}},        {{2, 1, 3}, {2, 4, 1}}};
  for (const auto& [sa, sb] : shapes) {
    Tensor a = Tensor::randn(sa, 1), b = Tensor::randn(sb, 2) + 3.0f;  // b away from 0 for div
    INFO("shapes " << shape_str(sa) << " and " << shape_str(sb));
    require_gradcheck([](const std::vector<Tensor>& x) { return add(x[0], x[1]); }, {a, b});
    require_gradcheck([](const std::vector<Tensor>& x) { return sub(x[0], x[1]); }, {a, b});
    require_gradcheck([](const std::vector<Tensor>& x) { return mul(x[0], x[1]); }, {a, b});
    require_gradcheck([](const std::vector<Tensor>& x) { return div(x[0], x[1]); }, {a, b});
  }
}

TEST_CASE("sum_to reduces a broadcast gradient", "[ops][binary]") {
  Tensor g = Tensor::ones({2, 3, 4});
  CHECK(sum_to(g, {3, 1}).at({2, 0}) == 8.0f);
  CHECK(sum_to(g, {}).item() == 24.0f);
  CHECK(error_of([&] { sum_to(g, {5}); }).find("sum_to") != std::string::npos);
}

TEST_CASE("a row repeated down the other operand broadcasts like any shape", "[ops][binary]") {
  // The repeated-row fast path (a bias, a positional table) on either side,
  // against values computed one element at a time.
  const Tensor big = Tensor::randn({4, 5, 6}, 1);
  for (const Shape& small_shape : {Shape{5, 6}, Shape{6}, Shape{1, 5, 6}, Shape{1}}) {
    const Tensor small = add_scalar(Tensor::randn(small_shape, 2), 3.0f);
    INFO(shape_str(small_shape));
    const int64_t cols = small.numel();
    for (bool small_first : {false, true}) {
      INFO("small operand first: " << small_first);
      const Tensor& a = small_first ? small : big;
      const Tensor& b = small_first ? big : small;
      const Tensor results[] = {add(a, b), sub(a, b), mul(a, b), div(a, b)};
      for (int64_t i = 0; i < big.numel(); ++i) {
        const float u = small_first ? small.data()[i % cols] : big.data()[i];
        const float v = small_first ? big.data()[i] : small.data()[i % cols];
        REQUIRE(results[0].data()[i] == u + v);
        REQUIRE(results[1].data()[i] == u - v);
        REQUIRE(results[2].data()[i] == u * v);
        REQUIRE(results[3].data()[i] == u / v);
      }
    }
  }
}

TEST_CASE("sum_to over consecutive axes and over scattered ones", "[ops][binary]") {
  const Shape from{3, 4, 5};
  const Tensor g = Tensor::randn(from, 3);
  // Each target against a plain loop: out[broadcast index] += g[i], in double.
  for (const Shape& to : {Shape{4, 5}, Shape{5}, Shape{3, 1, 5}, Shape{3, 4, 1}, Shape{1, 4, 1},
                          Shape{1, 1, 1}, Shape{3, 1, 1}}) {
    INFO(shape_str(to));
    const Tensor out = sum_to(g, to);
    REQUIRE(out.shape() == to);
    Shape padded(from.size() - to.size(), 1);
    padded.insert(padded.end(), to.begin(), to.end());
    std::vector<double> want(size_t(out.numel()), 0.0);
    for (int64_t i0 = 0; i0 < 3; ++i0)
      for (int64_t i1 = 0; i1 < 4; ++i1)
        for (int64_t i2 = 0; i2 < 5; ++i2) {
          const int64_t j = ((padded[0] == 1 ? 0 : i0) * padded[1] + (padded[1] == 1 ? 0 : i1)) * padded[2] +
                            (padded[2] == 1 ? 0 : i2);
          want[size_t(j)] += g.data()[(i0 * 4 + i1) * 5 + i2];
        }
    for (int64_t j = 0; j < out.numel(); ++j) CHECK(out.data()[j] == Approx(want[size_t(j)]).margin(1e-5));
  }
}

TEST_CASE("a tensor used twice gets the sum of its gradients", "[ops][binary][grad]") {
  Tensor x = Tensor::from({1, 2, 3}, {3}).requires_grad_();
  Tensor y = sum(x * x + x);  // d/dx = 2x + 1
  y.backward();
  CHECK(x.grad().to_vector() == std::vector<float>{3, 5, 7});
  sum(x).backward();  // accumulates into .grad
  CHECK(x.grad().to_vector() == std::vector<float>{4, 6, 8});
  x.zero_grad();
  CHECK_FALSE(x.grad().defined());
}

TEST_CASE("binary ops reject bad shapes and empty tensors", "[ops][binary][errors]") {
  Tensor a = Tensor::ones({2, 3}), b = Tensor::ones({4});
  std::string msg = error_of([&] { add(a, b); });
  CHECK(msg.find("add") != std::string::npos);
  CHECK(msg.find("[2, 3]") != std::string::npos);
  CHECK(msg.find("[4]") != std::string::npos);
  msg = error_of([&] { mul(Tensor::zeros({0, 3}), Tensor::ones({3})); });
  CHECK(msg.find("mul") != std::string::npos);
  CHECK(msg.find("empty") != std::string::npos);
  CHECK(error_of([&] { div(Tensor(), a); }).find("undefined") != std::string::npos);
}
