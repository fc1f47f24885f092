// max_pool2d and avg_pool2d on [B, C, H, W], with one geometry check.
// avg_pool2d walks window by window (for_each_window); max_pool2d runs the
// max-pool kernel (autograd/kernels/pool.h), SIMD with a scalar twin.
#include <algorithm>
#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "autograd/buffer_pool.h"
#include "autograd/error.h"
#include "autograd/graph.h"
#include "autograd/kernels/pool.h"
#include "autograd/kernels/threads.h"
#include "autograd/ops.h"
#include "autograd/ops/check.h"

namespace cf {

namespace {

// The kernel's window (autograd/kernels/pool.h) and the planes it slides
// over: B C of a [B, C, H, W] input.
struct PoolGeometry : kernels::PoolWindow {
  int64_t planes;
};

PoolGeometry check_pool(const char* op, const Tensor& x, int64_t k, int64_t stride,
                        int64_t pad) {
  detail::check_input(op, x);
  CF_CHECK(x.dim() == 4, op << ": expected input [B, C, H, W], got " << shape_str(x.shape()));
  CF_CHECK(k >= 1 && stride >= 1 && pad >= 0 && 2 * pad <= k,
           op << ": kernel " << k << ", stride " << stride << ", padding " << pad
              << " (need kernel, stride >= 1 and 0 <= padding <= kernel / 2)");
  PoolGeometry g{{x.size(2), x.size(3), k, stride, pad, 0, 0}, x.size(0) * x.size(1)};
  CF_CHECK(g.H + 2 * pad >= k && g.W + 2 * pad >= k,
           op << ": kernel " << k << " is larger than the padded input " << shape_str(x.shape()));
  g.Ho = (g.H + 2 * pad - k) / stride + 1;
  g.Wo = (g.W + 2 * pad - k) / stride + 1;
  return g;
}

// Calls f(out, window) for every output pixel `out` of the planes [p0, p1);
// window(g) calls g(in) for every input pixel `in` inside out's window, row
// by row. Each output is reduced in registers and stored once.
template <class F>
void for_each_window(const PoolGeometry& g, int64_t p0, int64_t p1, F f) {
  for (int64_t p = p0; p < p1; ++p)
    for (int64_t y = 0; y < g.Ho; ++y) {
      // Plain variables, not structured bindings: the lambda below captures
      // them, which clang before 16 rejects for bindings.
      const std::pair<int64_t, int64_t> rows = kernels::window_span(g, y, g.H);
      const int64_t y0 = rows.first, y1 = rows.second;
      for (int64_t x = 0; x < g.Wo; ++x) {
        const std::pair<int64_t, int64_t> cols = kernels::window_span(g, x, g.W);
        const int64_t x0 = cols.first, x1 = cols.second;
        f((p * g.Ho + y) * g.Wo + x, [&](auto&& visit) {
          for (int64_t iy = y0; iy < y1; ++iy)
            for (int64_t ix = x0; ix < x1; ++ix) visit((p * g.H + iy) * g.W + ix);
        });
      }
    }
}

// Planes (image, channel pairs) per parallel chunk: planes are independent.
constexpr int64_t kPlanesPerChunk = 8;

Shape pooled_shape(const Tensor& x, const PoolGeometry& g) {
  return {x.size(0), x.size(1), g.Ho, g.Wo};
}

}  // namespace

// y = max over the window; the gradient goes to the first maximal input in
// row-major order. NaNs are never the maximum; a window of NaNs and -infs
// gives -inf and sends no gradient. The kernel (autograd/kernels/pool.h)
// finds where each maximum lies while it finds the maximum; that offset,
// an int32 per output, is all backward needs, so it is kept (a quarter of
// x at stride 2) instead of x, and only when backward will run.
Tensor max_pool2d(const Tensor& x, int64_t kernel, int64_t stride, int64_t padding) {
  const PoolGeometry g = check_pool("max_pool2d", x, kernel, stride, padding);
  CF_CHECK(g.H * g.W + g.k < (int64_t(1) << 31),
           "max_pool2d: input " << shape_str(x.shape()) << " with kernel " << kernel
                                << ": H W + kernel must be below 2^31 (offsets are 32-bit)");
  Tensor y = Tensor::empty(pooled_shape(x, g));
  std::shared_ptr<int32_t> arg;
  if (needs_grad({&x})) {  // pooled storage, a float's size per int32 offset
    const std::shared_ptr<float> buffer = pooled_buffer(y.numel());
    arg = std::shared_ptr<int32_t>(buffer, reinterpret_cast<int32_t*>(buffer.get()));
  }
  kernels::max_pool(x.data(), g.planes, g, y.data(), arg.get());
  return record("max_pool2d", y, {x}, [arg, g, shape = x.shape()](const Tensor& dy) {
    Tensor dx = Tensor::empty(shape);
    const float* pdy = dy.data();
    const int32_t* at = arg.get();
    float* pdx = dx.data();
    // Each plane of dx is cleared just before its windows add to it, in cache.
    kernels::parallel_for(g.planes, kPlanesPerChunk, [&](int64_t p0, int64_t p1) {
      for (int64_t p = p0; p < p1; ++p) {
        float* dxp = pdx + p * g.H * g.W;
        std::fill_n(dxp, g.H * g.W, 0.0f);
        const int64_t first = p * g.Ho * g.Wo;
        for (int64_t o = first; o < first + g.Ho * g.Wo; ++o)
          if (at[o] >= 0) dxp[at[o]] += pdy[o];
      }
    });
    return std::vector<Tensor>{dx};
  });
}

// y = sum over the window / k^2 (padding counts as zeros).
Tensor avg_pool2d(const Tensor& x, int64_t kernel, int64_t stride, int64_t padding) {
  const PoolGeometry g = check_pool("avg_pool2d", x, kernel, stride, padding);
  Tensor y = Tensor::empty(pooled_shape(x, g));
  const float scale = 1.0f / float(kernel * kernel);
  const float* px = x.data();
  float* py = y.data();
  kernels::parallel_for(g.planes, kPlanesPerChunk, [&](int64_t p0, int64_t p1) {
    for_each_window(g, p0, p1, [&](int64_t out, auto&& window) {
      float sum = 0.0f;
      window([&](int64_t in) { sum += px[in] * scale; });
      py[out] = sum;
    });
  });
  return record("avg_pool2d", y, {x}, [x, g, scale](const Tensor& dy) {
    Tensor dx = Tensor::zeros(x.shape());
    const float* pdy = dy.data();
    float* pdx = dx.data();
    kernels::parallel_for(g.planes, kPlanesPerChunk, [&](int64_t p0, int64_t p1) {
      for_each_window(g, p0, p1, [&](int64_t out, auto&& window) {
        const float d = pdy[out] * scale;
        window([&](int64_t in) { pdx[in] += d; });
      });
    });
    return std::vector<Tensor>{dx};
  });
}

}  // namespace cf
