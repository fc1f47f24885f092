// The scalar reference twin of pool.h: each window scanned in row-major
// order, keeping the first strictly greater value.
#include <cmath>

#include "autograd/kernels/pool.h"

namespace cf::kernels {

void max_pool_scalar(const float* x, int64_t planes, const PoolWindow& g, float* y,
                     int32_t* arg) {
  for (int64_t p = 0; p < planes; ++p, x += g.H * g.W) {
    for (int64_t oy = 0; oy < g.Ho; ++oy) {
      const auto [y0, y1] = window_span(g, oy, g.H);
      for (int64_t ox = 0; ox < g.Wo; ++ox, ++y) {
        const auto [x0, x1] = window_span(g, ox, g.W);
        float best = -INFINITY;
        int64_t at = -1;
        for (int64_t iy = y0; iy < y1; ++iy)
          for (int64_t ix = x0; ix < x1; ++ix)
            if (x[iy * g.W + ix] > best) {  // false for NaN, and for -inf
              best = x[iy * g.W + ix];
              at = iy * g.W + ix;
            }
        *y = best;
        if (arg) *arg++ = int32_t(at);
      }
    }
  }
}

}  // namespace cf::kernels
