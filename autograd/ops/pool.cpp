// max_pool2d and avg_pool2d on [B, C, H, W]: one window loop serves both.
#include <algorithm>
#include <limits>

#include "autograd/error.h"
#include "autograd/graph.h"
#include "autograd/kernels/threads.h"
#include "autograd/ops.h"
#include "autograd/ops/check.h"

namespace cf {

namespace {

struct PoolGeometry {
  int64_t planes, H, W, k, stride, pad, Ho, Wo;
};

PoolGeometry check_pool(const char* op, const Tensor& x, int64_t k, int64_t stride,
                        int64_t pad) {
  detail::check_input(op, x);
  CF_CHECK(x.dim() == 4, op << ": expected input [B, C, H, W], got " << shape_str(x.shape()));
  CF_CHECK(k >= 1 && stride >= 1 && pad >= 0 && 2 * pad <= k,
           op << ": kernel " << k << ", stride " << stride << ", padding " << pad
              << " (need kernel, stride >= 1 and 0 <= padding <= kernel / 2)");
  PoolGeometry g{x.size(0) * x.size(1), x.size(2), x.size(3), k, stride, pad, 0, 0};
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
      const int64_t y0 = std::max<int64_t>(0, y * g.stride - g.pad);
      const int64_t y1 = std::min<int64_t>(g.H, y * g.stride - g.pad + g.k);
      for (int64_t x = 0; x < g.Wo; ++x) {
        const int64_t x0 = std::max<int64_t>(0, x * g.stride - g.pad);
        const int64_t x1 = std::min<int64_t>(g.W, x * g.stride - g.pad + g.k);
        f((p * g.Ho + y) * g.Wo + x, [&](auto&& visit) {
          for (int64_t iy = y0; iy < y1; ++iy)
            for (int64_t ix = x0; ix < x1; ++ix) visit((p * g.H + iy) * g.W + ix);
        });
      }
    }
}

constexpr float kLowest = -std::numeric_limits<float>::infinity();

// Planes (image, channel pairs) per parallel chunk: planes are independent.
constexpr int64_t kPlanesPerChunk = 8;

Shape pooled_shape(const Tensor& x, const PoolGeometry& g) {
  return {x.size(0), x.size(1), g.Ho, g.Wo};
}

}  // namespace

// y = max over the window; the gradient goes to the first maximal input.
// Forward keeps no arg max: each output row first takes the maximum of its
// window's input rows, column by column (contiguous, so it vectorises), then
// of each window's columns. Backward finds the arg max again by scanning the
// window, which costs a training step less than storing it cost every pass
// (inference included). NaNs are never the maximum (x > best is false); a
// window of NaNs (or of -inf) gives -inf and sends no gradient.
Tensor max_pool2d(const Tensor& x, int64_t kernel, int64_t stride, int64_t padding) {
  const PoolGeometry g = check_pool("max_pool2d", x, kernel, stride, padding);
  Tensor y = Tensor::empty(pooled_shape(x, g));
  const float* px = x.data();
  float* py = y.data();
  kernels::parallel_for(g.planes, kPlanesPerChunk, [&](int64_t p0, int64_t p1) {
    std::vector<float> column_max(size_t(g.W));
    float* cm = column_max.data();
    for (int64_t p = p0; p < p1; ++p)
      for (int64_t oy = 0; oy < g.Ho; ++oy) {
        const int64_t y0 = std::max<int64_t>(0, oy * g.stride - g.pad);
        const int64_t y1 = std::min<int64_t>(g.H, oy * g.stride - g.pad + g.k);
        std::fill_n(cm, g.W, kLowest);
        for (int64_t iy = y0; iy < y1; ++iy) {
          const float* row = px + (p * g.H + iy) * g.W;
          for (int64_t ix = 0; ix < g.W; ++ix) cm[ix] = row[ix] > cm[ix] ? row[ix] : cm[ix];
        }
        float* out = py + (p * g.Ho + oy) * g.Wo;
        for (int64_t ox = 0; ox < g.Wo; ++ox) {
          const int64_t x0 = std::max<int64_t>(0, ox * g.stride - g.pad);
          const int64_t x1 = std::min<int64_t>(g.W, ox * g.stride - g.pad + g.k);
          float best = kLowest;
          for (int64_t ix = x0; ix < x1; ++ix) best = cm[ix] > best ? cm[ix] : best;
          out[ox] = best;
        }
      }
  });
  return record("max_pool2d", y, {x}, [x, g](const Tensor& dy) {
    Tensor dx = Tensor::zeros(x.shape());
    const float* px = x.data();
    const float* pdy = dy.data();
    float* pdx = dx.data();
    // Each window lies in its own plane: planes run in parallel.
    kernels::parallel_for(g.planes, kPlanesPerChunk, [&](int64_t p0, int64_t p1) {
      for_each_window(g, p0, p1, [&](int64_t out, auto&& window) {
        float best = kLowest;
        int64_t arg = -1;
        window([&](int64_t in) {  // without branches: where the maximum lies is data
          const bool greater = px[in] > best;
          arg = greater ? in : arg;
          best = greater ? px[in] : best;
        });
        if (arg >= 0) pdx[arg] += pdy[out];
      });
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
    kernels::parallel_for(g.planes, kPlanesPerChunk, [&](int64_t p0, int64_t p1) {
      for_each_window(g, p0, p1, [&](int64_t out, auto&& window) {
        const float d = dy.data()[out] * scale;
        window([&](int64_t in) { dx.data()[in] += d; });
      });
    });
    return std::vector<Tensor>{dx};
  });
}

}  // namespace cf
