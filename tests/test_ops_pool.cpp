#include <limits>

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

// max_pool2d keeps no arg max: backward finds it again. Ties, NaNs and -inf
// must give what the forward's definition says.
TEST_CASE("max_pool2d: ties, NaN and -inf windows", "[ops][pool][grad]") {
  const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
  // Ties: every window of ones sends its gradient to its first element.
  Tensor ones = Tensor::ones({1, 1, 4, 4}).requires_grad_(true);
  sum(max_pool2d(ones, 2, 2)).backward();
  CHECK(ones.grad().to_vector() ==
        std::vector<float>{1, 0, 1, 0, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0});
  // Windows (2x2, stride 2): NaNs skipped; all NaN; all -inf.
  Tensor x = Tensor::from({nan, 2, nan, nan, -inf, -inf,
                           3, nan, nan, nan, -inf, -inf}, {1, 1, 2, 6}).requires_grad_(true);
  Tensor y = max_pool2d(x, 2, 2);
  CHECK(y.to_vector() == std::vector<float>{3, -inf, -inf});
  sum(y).backward();
  CHECK(x.grad().to_vector() == std::vector<float>{0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0});
  Tensor z = reshape(Tensor::arange(9), {1, 1, 3, 3}).requires_grad_(true);
  // Maxima of the nine windows: 4, 5, 5 / 7, 8, 8 / 7, 8, 8.
  sum(max_pool2d(z, 3, 1, 1)).backward();
  CHECK(z.grad().to_vector() == std::vector<float>{0, 0, 0, 0, 1, 2, 0, 2, 4});
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
