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

// Calls f(i, ia, ib) for every flat index i of `out`, with the flat indices of
// the elements of a and b that broadcast to it, in increasing order of i.
template <class F>
void for_each_broadcast(const Shape& out, const Shape& a, const Shape& b, F f) {
  const int64_t n = numel(out);
  if (n == 0) return;
  const size_t rank = out.size();
  if (rank == 0) {
    f(int64_t(0), int64_t(0), int64_t(0));
    return;
  }
  std::vector<int64_t> sa = broadcast_strides(a, out), sb = broadcast_strides(b, out);
  std::vector<int64_t> idx(rank, 0);
  const int64_t inner = out[rank - 1], ia_step = sa[rank - 1], ib_step = sb[rank - 1];
  int64_t ia = 0, ib = 0;
  for (int64_t i = 0; i < n; i += inner) {
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

}  // namespace cf::detail
