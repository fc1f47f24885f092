#include "tests/helpers.h"

using namespace cf;
using cf::test::error_of;
using cf::test::require_gradcheck;

TEST_CASE("pooling values", "[ops][pool]") {
  Tensor x = reshape(Tensor::arange(16), {1, 1, 4, 4});
  CHECK(max_pool2d(x, 2, 2).to_vector() == std::vector<float>{5, 7, 13, 15});
  CHECK(avg_pool2d(x, 2, 2).to_vector() == std::vector<float>{2.5f, 4.5f, 10.5f, 12.5f});
  // CCT's pooling: kernel 3, stride 2, padding 1 halves 32 -> 16.
  CHECK(max_pool2d(Tensor::ones({2, 3, 32, 32}), 3, 2, 1).shape() == Shape{2, 3, 16, 16});
  Tensor p = max_pool2d(x, 3, 2, 1);
  CHECK(p.to_vector() == std::vector<float>{5, 7, 13, 15});
  CHECK(avg_pool2d(x, 3, 2, 1).at({0, 0, 0, 0}) == Approx((0 + 1 + 4 + 5) / 9.0f));
}

TEST_CASE("pooling gradients", "[ops][pool][grad]") {
  using V = const std::vector<Tensor>&;
  for (const Shape& s : std::vector<Shape>{{1, 1, 4, 4}, {2, 3, 5, 6}, {1, 2, 1, 1}}) {
    INFO(shape_str(s));
    Tensor x = Tensor::randn(s, 91);
    require_gradcheck([](V v) { return max_pool2d(v[0], 1, 1); }, {x});
    require_gradcheck([](V v) { return avg_pool2d(v[0], 1, 1); }, {x});
    if (s[2] >= 3) {
      require_gradcheck([](V v) { return max_pool2d(v[0], 3, 2, 1); }, {x});
      require_gradcheck([](V v) { return max_pool2d(v[0], 2, 2); }, {x});
      require_gradcheck([](V v) { return avg_pool2d(v[0], 3, 2, 1); }, {x});
      require_gradcheck([](V v) { return avg_pool2d(v[0], 2, 1); }, {x});
    }
  }
}

TEST_CASE("pooling reports bad arguments", "[ops][pool][errors]") {
  Tensor x = Tensor::ones({1, 1, 4, 4});
  CHECK(error_of([&] { max_pool2d(Tensor::ones({4, 4}), 2, 2); }).find("max_pool2d: expected input [B, C, H, W], got [4, 4]") != std::string::npos);
  CHECK(error_of([&] { avg_pool2d(x, 2, 0); }).find("avg_pool2d: kernel 2, stride 0") != std::string::npos);
  CHECK(error_of([&] { max_pool2d(x, 2, 2, 2); }).find("padding 2") != std::string::npos);
  CHECK(error_of([&] { max_pool2d(x, 5, 1); }).find("larger than the padded input") != std::string::npos);
}
