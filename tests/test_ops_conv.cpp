#include "tests/helpers.h"

using namespace cf;
using cf::test::error_of;
using cf::test::require_gradcheck;

namespace {
// Direct definition: y[b,o,i,j] = bias[o] + sum_{c,u,v} w[o,c,u,v] x[b, g*Cg + c, i*s-p+u, j*s-p+v].
float direct(const Tensor& x, const Tensor& w, const Tensor& bias, int64_t s, int64_t p, int64_t groups,
             int64_t b, int64_t o, int64_t i, int64_t j) {
  const int64_t Cg = x.size(1) / groups, Og = w.size(0) / groups, g = o / Og;
  double acc = bias.defined() ? bias.at({o}) : 0.0;
  for (int64_t c = 0; c < Cg; ++c)
    for (int64_t u = 0; u < w.size(2); ++u)
      for (int64_t v = 0; v < w.size(3); ++v) {
        int64_t y = i * s - p + u, xx = j * s - p + v;
        if (y >= 0 && y < x.size(2) && xx >= 0 && xx < x.size(3))
          acc += double(w.at({o, c, u, v})) * x.at({b, g * Cg + c, y, xx});
      }
  return float(acc);
}
}  // namespace

TEST_CASE("conv2d matches the direct definition", "[ops][conv]") {
  struct Case { Shape x, w; int64_t s, p, g; };
  // Stride 1 with Wo == W (3x3 padding 1, 5x5 padding 2 wider than the
  // image, 1x1) copies each patch row as one span; the others run by run.
  for (const Case& c : std::vector<Case>{{{2, 3, 5, 6}, {4, 3, 3, 3}, 1, 1, 1},
                                         {{1, 2, 3, 4}, {2, 2, 5, 5}, 1, 2, 1},
                                         {{2, 3, 4, 5}, {2, 3, 1, 1}, 1, 0, 1},
                                         {{1, 2, 5, 6}, {3, 2, 3, 3}, 1, 0, 1},
                                         {{1, 4, 7, 7}, {4, 1, 3, 3}, 2, 1, 4},
                                         {{1, 4, 4, 4}, {6, 2, 2, 2}, 2, 0, 2},
                                         {{2, 4, 5, 6}, {4, 2, 3, 2}, 2, 1, 2}}) {
    Tensor x = Tensor::randn(c.x, 71), w = Tensor::randn(c.w, 72), b = Tensor::randn({c.w[0]}, 73);
    Tensor y = conv2d(x, w, b, c.s, c.p, c.g);
    for (int64_t n = 0; n < y.size(0); ++n)
      for (int64_t o = 0; o < y.size(1); ++o)
        for (int64_t i = 0; i < y.size(2); ++i)
          for (int64_t j = 0; j < y.size(3); ++j)
            CHECK(y.at({n, o, i, j}) == Approx(direct(x, w, b, c.s, c.p, c.g, n, o, i, j)).margin(1e-5));
  }
}

TEST_CASE("conv2d gradients", "[ops][conv][grad]") {
  using V = const std::vector<Tensor>&;
  require_gradcheck([](V v) { return conv2d(v[0], v[1], v[2], 1, 1); },
                    {Tensor::randn({2, 2, 4, 5}, 74), Tensor::randn({3, 2, 3, 3}, 75), Tensor::randn({3}, 76)});
  require_gradcheck([](V v) { return conv2d(v[0], v[1], Tensor(), 2, 0); },
                    {Tensor::randn({1, 3, 5, 5}, 77), Tensor::randn({2, 3, 2, 2}, 78)});
  require_gradcheck([](V v) { return conv2d(v[0], v[1], Tensor(), 1, 2); },
                    {Tensor::randn({1, 2, 3, 4}, 85), Tensor::randn({2, 2, 5, 5}, 86)});
  // Depthwise: groups = channels.
  require_gradcheck([](V v) { return conv2d(v[0], v[1], v[2], 1, 1, 3); },
                    {Tensor::randn({2, 3, 4, 4}, 79), Tensor::randn({3, 1, 3, 3}, 80), Tensor::randn({3}, 81)});
  // 1x1 kernel on a 1x1 image.
  require_gradcheck([](V v) { return conv2d(v[0], v[1], v[2]); },
                    {Tensor::randn({1, 2, 1, 1}, 82), Tensor::randn({1, 2, 1, 1}, 83), Tensor::randn({1}, 84)});
  // Groups of two channels in and three out (the offsets grp Cg and grp Og
  // differ), and 9 images: the weight gradient's partials over chunks of 4
  // images, the last chunk short.
  require_gradcheck([](V v) { return conv2d(v[0], v[1], v[2], 1, 1, 2); },
                    {Tensor::randn({2, 4, 3, 3}, 87), Tensor::randn({6, 2, 3, 3}, 88), Tensor::randn({6}, 89)});
  require_gradcheck([](V v) { return conv2d(v[0], v[1], v[2], 1, 0); },
                    {Tensor::randn({9, 2, 3, 3}, 90), Tensor::randn({2, 2, 2, 2}, 91), Tensor::randn({2}, 92)});
  // Stride 2 with padding, and a 3x2 kernel: the padded rows and columns
  // that a stride skips differ from those of stride 1.
  require_gradcheck(
      [](V v) { return conv2d(v[0], v[1], v[2], 2, 1); },
      {Tensor::randn({2, 2, 5, 6}, 93), Tensor::randn({3, 2, 3, 2}, 94), Tensor::randn({3}, 95)});
  // Groups with stride 2 and padding, a 2x3 kernel.
  require_gradcheck(
      [](V v) { return conv2d(v[0], v[1], v[2], 2, 1, 2); },
      {Tensor::randn({2, 4, 5, 5}, 96), Tensor::randn({4, 2, 2, 3}, 97), Tensor::randn({4}, 98)});
}

TEST_CASE("conv2d reports bad shapes", "[ops][conv][errors]") {
  Tensor x = Tensor::ones({1, 3, 8, 8});
  CHECK(error_of([&] { conv2d(x, Tensor::ones({4, 2, 3, 3}), Tensor()); }).find("do not fit groups = 1") != std::string::npos);
  CHECK(error_of([&] { conv2d(Tensor::ones({3, 8, 8}), Tensor::ones({4, 3, 3, 3}), Tensor()); }).find("[B, C, H, W]") != std::string::npos);
  CHECK(error_of([&] { conv2d(x, Tensor::ones({4, 3, 3, 3}), Tensor::ones({3})); }).find("bias of shape [3]") != std::string::npos);
  CHECK(error_of([&] { conv2d(x, Tensor::ones({4, 3, 9, 9}), Tensor()); }).find("larger than the padded input") != std::string::npos);
  CHECK(error_of([&] { conv2d(x, Tensor::ones({4, 3, 3, 3}), Tensor(), 0); }).find("stride 0") != std::string::npos);
}
