// Public entry point of pool.h: argument checks, path choice, threads.
// Planes are independent, so they are split into chunks of whole planes
// (fixed by the sizes, threads.h); every output is the same for any thread
// count and on every path.
#include <stdexcept>
#include <string>

#include "autograd/kernels/pool.h"
#include "autograd/kernels/simd_kernels.h"

namespace cf::kernels {
namespace {

void check(const PoolWindow& g, int64_t planes) {
  const bool fits = planes >= 0 && g.H >= 1 && g.W >= 1 && g.k >= 1 && g.stride >= 1 &&
                    g.pad >= 0 && 2 * g.pad <= g.k && g.H + 2 * g.pad >= g.k &&
                    g.W + 2 * g.pad >= g.k &&
                    g.Ho == (g.H + 2 * g.pad - g.k) / g.stride + 1 &&
                    g.Wo == (g.W + 2 * g.pad - g.k) / g.stride + 1 &&
                    g.H * g.W < (int64_t(1) << 31);
  if (!fits)
    throw std::invalid_argument(
        "max_pool: planes " + std::to_string(planes) + " of " + std::to_string(g.H) + " x " +
        std::to_string(g.W) + ", window " + std::to_string(g.k) + ", stride " +
        std::to_string(g.stride) + ", padding " + std::to_string(g.pad) + ", output " +
        std::to_string(g.Ho) + " x " + std::to_string(g.Wo) +
        "; need a window inside the padded plane, 2 padding <= window, the output size "
        "these give, and fewer than 2^31 pixels per plane");
}

}  // namespace

void max_pool(const float* x, int64_t planes, const PoolWindow& g, float* y, int32_t* arg) {
  check(g, planes);
  detail::check_not_null("max_pool", planes * g.H * g.W, {{"x", x}, {"y", y}});
  // The SIMD body counts a window's pixels, r W + c, in float: exact below
  // 2^24, so wider windows on wider planes (none in the models) take the twin.
  const bool exact = g.k * (g.W + 1) < (int64_t(1) << 24);
  const auto fn = exact ? CF_SIMD_OR(&max_pool_scalar, detail::simd::max_pool) : &max_pool_scalar;
  const int64_t in = g.H * g.W, out = g.Ho * g.Wo;
  detail::parallel_rows(planes, in, [&](int64_t p0, int64_t p1) {
    fn(x + p0 * in, p1 - p0, g, y + p0 * out, arg ? arg + p0 * out : nullptr);
  });
}

}  // namespace cf::kernels
