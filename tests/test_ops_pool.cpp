#include <limits>
#include <vector>

#include "autograd/random.h"
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

// max_pool2d finds each window's maximum in vectorised passes down and
// across (pool.cpp); a window-by-window scan in row-major order is the
// definition. Values from {0, 1, 2, NaN, -inf} make ties, NaN and -inf
// windows common; the geometries include kernels wider than the image.
TEST_CASE("max_pool2d matches a window-by-window scan, ties included", "[ops][pool][grad]") {
  const float values[] = {0, 1, 2, 2, 1, std::numeric_limits<float>::quiet_NaN(),
                          -std::numeric_limits<float>::infinity()};
  struct Case { Shape shape; int64_t k, stride, pad; };
  const Case cases[] = {{{2, 3, 7, 9}, 3, 2, 1}, {{2, 3, 7, 9}, 2, 2, 0}, {{1, 2, 6, 5}, 3, 1, 1},
                        {{1, 2, 8, 8}, 4, 2, 2}, {{1, 1, 9, 7}, 5, 3, 2}, {{1, 2, 1, 5}, 1, 1, 0},
                        {{1, 1, 2, 2}, 5, 1, 2}, {{3, 1, 5, 1}, 3, 2, 1}};
  uint64_t seed = 5;
  for (const Case& c : cases) {
    INFO(shape_str(c.shape) << " kernel " << c.k << " stride " << c.stride << " padding " << c.pad);
    Tensor x = Tensor::empty(c.shape);
    const Rng rng(seed++);
    for (int64_t i = 0; i < x.numel(); ++i) x.data()[i] = values[int(rng.uniform(uint64_t(i)) * 7)];
    x.requires_grad_(true);
    Tensor y = max_pool2d(x, c.k, c.stride, c.pad);
    Tensor dy = Tensor::randn(y.shape(), seed++);
    y.backward(dy);
    const int64_t planes = c.shape[0] * c.shape[1], H = c.shape[2], W = c.shape[3];
    const int64_t Ho = y.size(2), Wo = y.size(3);
    std::vector<float> want_y, want_dx(size_t(x.numel()), 0.0f);
    for (int64_t p = 0; p < planes; ++p)
      for (int64_t oy = 0; oy < Ho; ++oy)
        for (int64_t ox = 0; ox < Wo; ++ox) {
          float best = -std::numeric_limits<float>::infinity();
          int64_t arg = -1;
          for (int64_t iy = oy * c.stride - c.pad; iy < oy * c.stride - c.pad + c.k; ++iy)
            for (int64_t ix = ox * c.stride - c.pad; ix < ox * c.stride - c.pad + c.k; ++ix) {
              if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
              const int64_t in = (p * H + iy) * W + ix;
              if (x.data()[in] > best) best = x.data()[in], arg = in;
            }
          want_y.push_back(best);
          if (arg >= 0) want_dx[size_t(arg)] += dy.data()[(p * Ho + oy) * Wo + ox];
        }
    CHECK(y.to_vector() == want_y);
    CHECK(x.grad().to_vector() == want_dx);
  }
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
  // Offsets within a plane are 32-bit: H W + kernel must stay below 2^31.
  const int64_t huge = (int64_t(1) << 31) - 1;
  CHECK(error_of([&] { max_pool2d(Tensor::ones({1, 1, 1, 1}), huge, 1, huge / 2); })
            .find("max_pool2d: input [1, 1, 1, 1] with kernel 2147483647: H W + kernel must be "
                  "below 2^31") != std::string::npos);
}
