// max_pool2d and avg_pool2d on [B, C, H, W], with one geometry check.
// avg_pool2d walks window by window (for_each_window); max_pool2d finds a
// whole output row's windows at once, in passes the compiler vectorises
// (window_maxima).
#include <algorithm>
#include <cstdint>
#include <limits>
#include <utility>
#include <vector>

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

// The input indices [first, end) of output index o's window along an axis
// of `size` pixels, clipped to the axis (the padding holds no pixels).
std::pair<int64_t, int64_t> window_span(const PoolGeometry& g, int64_t o, int64_t size) {
  const int64_t start = o * g.stride - g.pad;
  return {std::max<int64_t>(0, start), std::min<int64_t>(size, start + g.k)};
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
      const std::pair<int64_t, int64_t> rows = window_span(g, y, g.H);
      const int64_t y0 = rows.first, y1 = rows.second;
      for (int64_t x = 0; x < g.Wo; ++x) {
        const std::pair<int64_t, int64_t> cols = window_span(g, x, g.W);
        const int64_t x0 = cols.first, x1 = cols.second;
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

// One output row's windows, found in two passes that the compiler
// vectorises (no data-dependent branch; contiguous columns):
//   down:   col[c] = the maximum of padded column c over the window's rows,
//           col_arg[c] = r W for the first row y0 + r that reaches it;
//   across: max[j] = the maximum of col[j, j + k), arg[j] = r W + c for the
//           first (r, c) in row-major order that reaches it.
// Window ox starts at padded column j = ox stride, so its maximum lies at
// plane offset y0 W + j - pad + arg[j]. `across` evaluates every j, stride
// times the windows needed, because contiguous columns vectorise and strided
// ones do not. r W + c orders a window's pixels row-major since two of its
// columns inside the image differ by less than W. The buffers hold the
// padded row (W + 2 pad columns); the padding stays -inf and wins no tie
// with a number. The offsets are int32_t, as the vector compares need
// (max_pool2d checks H W + k < 2^31); selects are written as masks because
// GCC turns `t ? a : b` on int arrays into branches.
struct WindowRows {
  std::vector<float> col, max;
  std::vector<int32_t> col_arg, arg;
};

WindowRows& window_rows(const PoolGeometry& g) {
  thread_local WindowRows w;
  const size_t n = size_t(g.W + 2 * g.pad);
  w.col.assign(n, kLowest);
  w.max.resize(n);
  w.col_arg.assign(n, 0);
  w.arg.resize(n);
  return w;
}

template <bool kArg>
void window_maxima(const PoolGeometry& g, const float* plane, int64_t oy, WindowRows& w) {
  const auto [y0, y1] = window_span(g, oy, g.H);
  float* col = w.col.data() + g.pad;
  int32_t* col_arg = w.col_arg.data() + g.pad;
  std::fill_n(col, g.W, kLowest);
  for (int64_t iy = y0; iy < y1; ++iy) {
    const float* row = plane + iy * g.W;
    const int32_t r = int32_t((iy - y0) * g.W);
    for (int64_t c = 0; c < g.W; ++c) {
      const float v = row[c], best = col[c];
      col[c] = v > best ? v : best;
      if (kArg) {
        const int32_t take = -int32_t(v > best);
        col_arg[c] = (r & take) | (col_arg[c] & ~take);
      }
    }
  }
  const int64_t starts = (g.Wo - 1) * g.stride + 1;
  const float* cv = w.col.data();
  const int32_t* ca = w.col_arg.data();
  float* m = w.max.data();
  int32_t* a = w.arg.data();
  std::copy_n(cv, starts, m);
  if (kArg) std::copy_n(ca, starts, a);
  for (int64_t c = 1; c < g.k; ++c)
    for (int64_t j = 0; j < starts; ++j) {
      const float v = cv[j + c], best = m[j];
      m[j] = v > best ? v : best;
      if (kArg) {
        const int32_t arg = ca[j + c] + int32_t(c);
        const int32_t take = -int32_t((v > best) | ((v == best) & (arg < a[j])));
        a[j] = (arg & take) | (a[j] & ~take);
      }
    }
}

Shape pooled_shape(const Tensor& x, const PoolGeometry& g) {
  return {x.size(0), x.size(1), g.Ho, g.Wo};
}

}  // namespace

// y = max over the window; the gradient goes to the first maximal input in
// row-major order. Forward keeps no arg max: backward finds it again, which
// costs a training step less than storing it cost every pass (inference
// included). NaNs are never the maximum (x > best is false); a window of NaNs
// and -infs gives -inf and sends no gradient.
Tensor max_pool2d(const Tensor& x, int64_t kernel, int64_t stride, int64_t padding) {
  const PoolGeometry g = check_pool("max_pool2d", x, kernel, stride, padding);
  CF_CHECK(g.H * g.W + g.k < (int64_t(1) << 31),
           "max_pool2d: input " << shape_str(x.shape()) << " with kernel " << kernel
                                << ": H W + kernel must be below 2^31 (offsets are 32-bit)");
  Tensor y = Tensor::empty(pooled_shape(x, g));
  const float* px = x.data();
  float* py = y.data();
  kernels::parallel_for(g.planes, kPlanesPerChunk, [&](int64_t p0, int64_t p1) {
    WindowRows& w = window_rows(g);
    for (int64_t p = p0; p < p1; ++p)
      for (int64_t oy = 0; oy < g.Ho; ++oy) {
        window_maxima<false>(g, px + p * g.H * g.W, oy, w);
        float* out = py + (p * g.Ho + oy) * g.Wo;
        for (int64_t ox = 0; ox < g.Wo; ++ox) out[ox] = w.max[ox * g.stride];
      }
  });
  return record("max_pool2d", y, {x}, [x, g](const Tensor& dy) {
    Tensor dx = Tensor::empty(x.shape());
    const float* px = x.data();
    const float* pdy = dy.data();
    float* pdx = dx.data();
    // Each window lies in its own plane: planes run in parallel, and each
    // plane of dx is cleared just before its windows add to it, in cache.
    kernels::parallel_for(g.planes, kPlanesPerChunk, [&](int64_t p0, int64_t p1) {
      WindowRows& w = window_rows(g);
      for (int64_t p = p0; p < p1; ++p) {
        float* dxp = pdx + p * g.H * g.W;
        std::fill_n(dxp, g.H * g.W, 0.0f);
        for (int64_t oy = 0; oy < g.Ho; ++oy) {
          window_maxima<true>(g, px + p * g.H * g.W, oy, w);
          const float* d = pdy + (p * g.Ho + oy) * g.Wo;
          const int64_t y0_offset = window_span(g, oy, g.H).first * g.W - g.pad;
          for (int64_t ox = 0; ox < g.Wo; ++ox) {
            const int64_t j = ox * g.stride;
            if (w.max[j] == kLowest) continue;  // no number in the window
            dxp[y0_offset + j + w.arg[j]] += d[ox];  // y0 W + j - pad + arg[j]
          }
        }
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
