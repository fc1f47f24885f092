// Max pooling of planes (the B C images of H x W in a [B, C, H, W] map): the
// kernel behind max_pool2d (autograd/ops/pool.cpp). max_pool picks the
// fastest path this CPU has (cpu.h) and splits the planes over the thread
// pool (threads.h); max_pool_scalar is its serial reference twin, a scan of
// each window. A maximum is exact and ties are broken by a rule, so every
// path gives the same bits.
#pragma once
#include <algorithm>
#include <cstdint>
#include <utility>

namespace cf::kernels {

// A k x k window moved by `stride` over an H x W plane padded by `pad`
// pixels on each side, the padding holding no values: Ho x Wo windows, with
// Ho = (H + 2 pad - k) / stride + 1 and Wo likewise.
struct PoolWindow {
  int64_t H, W, k, stride, pad, Ho, Wo;
};

// The input indices [first, end) of output index o's window along an axis
// of `size` pixels (H or W), clipped to the axis (the padding holds no
// pixels).
inline std::pair<int64_t, int64_t> window_span(const PoolWindow& g, int64_t o, int64_t size) {
  const int64_t start = o * g.stride - g.pad;
  return {std::max<int64_t>(0, start), std::min<int64_t>(size, start + g.k)};
}

// y[o] = the maximum of output o's window; NaNs are never the maximum, and
// a window of NaNs and -infs gives -inf. When `arg` is not null, arg[o] is
// the offset in its plane of the window's first maximal pixel in row-major
// order (where the gradient goes), or -1 when y[o] is -inf (no gradient).
// x holds planes x H x W floats; y and arg planes x Ho x Wo. Throws
// std::invalid_argument for a window that does not fit the plane, sizes
// that do not match it, or a plane of 2^31 pixels or more.
void max_pool(const float* x, int64_t planes, const PoolWindow& g, float* y, int32_t* arg);
void max_pool_scalar(const float* x, int64_t planes, const PoolWindow& g, float* y,
                     int32_t* arg);

}  // namespace cf::kernels
