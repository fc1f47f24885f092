// NumPy broadcasting, shared by the binary ops and sum_to. Internal to ops/.
#pragma once
#include <cstdint>
#include <vector>

#include "autograd/tensor.h"

namespace cf::detail {

// Strides (in elements) of a contiguous `shape` seen through the broadcast
// `out` shape: aligned to the right, 0 along the axes where shape has size 1
// or no axis at all.
std::vector<int64_t> broadcast_strides(const Shape& shape, const Shape& out);

// Calls f(i, ia, ib) for every flat index i of `out` in rows [row_begin,
// row_end) (a row is a run along the last axis), with the flat indices of the
// elements of a and b that broadcast to it, in increasing order of i. Taking
// a range of rows lets callers split the work across threads.
template <class F>
void for_each_broadcast(const Shape& out, const Shape& a, const Shape& b, int64_t row_begin,
                        int64_t row_end, F f) {
  const size_t rank = out.size();
  if (rank == 0) {
    if (row_begin < row_end) f(int64_t(0), int64_t(0), int64_t(0));
    return;
  }
  std::vector<int64_t> sa = broadcast_strides(a, out), sb = broadcast_strides(b, out);
  const int64_t inner = out[rank - 1], ia_step = sa[rank - 1], ib_step = sb[rank - 1];
  // The multi-index of the first row, and its offsets in a and b.
  std::vector<int64_t> idx(rank, 0);
  int64_t ia = 0, ib = 0;
  for (int64_t d = int64_t(rank) - 2, r = row_begin; d >= 0; --d) {
    idx[size_t(d)] = r % out[size_t(d)];
    r /= out[size_t(d)];
    ia += idx[size_t(d)] * sa[size_t(d)];
    ib += idx[size_t(d)] * sb[size_t(d)];
  }
  for (int64_t row = row_begin; row < row_end; ++row) {
    const int64_t i = row * inner;
    for (int64_t j = 0; j < inner; ++j) f(i + j, ia + j * ia_step, ib + j * ib_step);
    // Advance the multi-index over the outer axes (an odometer).
    for (size_t d = rank - 1; d-- > 0;) {
      ia += sa[d];
      ib += sb[d];
      if (++idx[d] < out[d]) break;
      ia -= sa[d] * out[d];
      ib -= sb[d] * out[d];
      idx[d] = 0;
    }
  }
}

// Rows (runs along the last axis) of a shape: what for_each_broadcast counts.
inline int64_t broadcast_rows(const Shape& out) {
  return out.empty() ? 1 : (out.back() == 0 ? 0 : numel(out) / out.back());
}

// Rows per parallel chunk so that a chunk holds about 32K elements: enough
// work to pay for a thread hand-off, and fixed by the shape alone.
inline int64_t rows_per_chunk(const Shape& out) {
  const int64_t inner = out.empty() ? 1 : out.back();
  return inner >= 32768 ? 1 : 32768 / (inner > 0 ? inner : 1);
}

}  // namespace cf::detail
