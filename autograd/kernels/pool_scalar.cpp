// The scalar reference twin of pool.h: each window scanned in row-major
// order, keeping the first strictly greater value.
#include <algorithm>
#include <cmath>

#include "autograd/kernels/pool.h"

namespace cf::kernels {

void max_pool_scalar(const float* x, int64_t planes, const PoolWindow& g, float* y,
                     int32_t* arg) {
  for (int64_t p = 0; p < planes; ++p, x += g.H * g.W) {
    for (int64_t oy = 0; oy < g.Ho; ++oy) {
      const int64_t y0 = std::max<int64_t>(0, oy * g.stride - g.pad);
      const int64_t y1 = std::min(g.H, oy * g.stride - g.pad + g.k);
      for (int64_t ox = 0; ox < g.Wo; ++ox, ++y) {
        const int64_t x0 = std::max<int64_t>(0, ox * g.stride - g.pad);
        const int64_t x1 = std::min(g.W, ox * g.stride - g.pad + g.k);
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
