// The SIMD body of pool.h's max_pool, written once for any instruction set S
// (simd_math.h). For each output row, three passes:
//   down:   for each input column, S::W at a time, the maximum down the
//           window's rows and the first row that reaches it, held in
//           registers across the rows and stored once;
//   across: at every window start, the maximum over its k columns and the
//           first (row, column) in row-major order that reaches it;
//   pick:   the starts the stride lands on, one output each.
// Across evaluates every start, `stride` times the windows needed, because
// contiguous columns load as vectors and strided ones would need gathers.
// Both vector passes run over contiguous columns with no branch on the data;
// the scratch row is padded with -inf, so padding and the blocks' tails need
// no masks in the second. Included by pool_avx2.cpp and pool_avx512.cpp only.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>

#include "autograd/kernels/pool.h"
#include "autograd/kernels/simd_kernels.h"
#include "autograd/kernels/simd_math.h"

namespace cf::kernels::detail::simd {

template <class S, bool kArg>
void max_pool_rows(const float* x, int64_t planes, const PoolWindow& g, float* y,
                   int32_t* arg) {
  using V = typename S::V;
  // Columns in padded coordinates: input column c is column pad + c, and
  // the window at start j covers [j, j + k). The across pass reads whole
  // blocks from each start, so the row is `padded` long, -inf past the input.
  const int64_t starts = (g.Wo - 1) * g.stride + 1;
  const int64_t blocks = (starts + S::W - 1) / S::W * S::W;
  const int64_t padded = std::max(blocks + g.k, g.pad + g.W);
  thread_local ScratchBuffer scratch;
  float* const col = scratch.get(size_t(4 * padded));
  float* const col_at = col + padded;   // where col's maximum lies: r W, row r of the window
  float* const best = col_at + padded;  // across: the maximum at each start
  float* const best_at = best + padded;  // where: r W + c, column c from the start
  std::fill_n(col, padded, -INFINITY);
  std::fill_n(col_at, padded, 0.0f);
  const V row_step = S::set1(float(g.W));

  for (int64_t p = 0; p < planes; ++p, x += g.H * g.W) {
    for (int64_t oy = 0; oy < g.Ho; ++oy, y += g.Wo) {
      // Plain variables, not structured bindings: the lambda below captures
      // them, which clang before 16 rejects for bindings.
      const std::pair<int64_t, int64_t> span = window_span(g, oy, g.H);
      const int64_t y0 = span.first, rows = span.second - y0;
      // Down. A value replaces the maximum only when greater: NaN never
      // does, and of equal values the first row's stays (max(v, m) returns
      // m on NaN and on equality: the same rule without the row).
      for_blocks<S>(g.W, [&](int64_t c, int64_t n) {
        const float* column = x + y0 * g.W + c;
        V m = S::set1(-INFINITY), at = S::zero(), row = S::zero();
        for (int64_t i = 0; i < rows; ++i, row = S::add(row, row_step)) {
          const V v = S::load(column + i * g.W, n, -INFINITY);
          if (kArg) {
            const auto greater = S::lt(m, v);
            m = S::select(greater, v, m);
            at = S::select(greater, row, at);
          } else {
            m = S::max(v, m);
          }
        }
        S::store(col + g.pad + c, m, n);
        if (kArg) S::store(col_at + g.pad + c, at, n);
      });
      // Across. Column d of the window takes over when greater, or when
      // equal and earlier in row-major order: r W + c orders the window's
      // pixels so, as two of its columns inside the plane differ by less
      // than W (and a tie with padding is a maximum of -inf: no arg max).
      for (int64_t j = 0; j < blocks; j += S::W) {
        V m = S::load(col + j, S::W), at = S::load(col_at + j, S::W);
        for (int64_t d = 1; d < g.k; ++d) {
          const V v = S::load(col + j + d, S::W);
          if (kArg) {
            const V v_at = S::add(S::load(col_at + j + d, S::W), S::set1(float(d)));
            const V at_if_tied = S::select(S::eq(v, m), v_at, S::set1(INFINITY));
            const auto take = S::mask_or(S::lt(m, v), S::lt(at_if_tied, at));
            m = S::select(take, v, m);
            at = S::select(take, v_at, at);
          } else {
            m = S::max(v, m);
          }
        }
        S::store(best + j, m, S::W);
        if (kArg) S::store(best_at + j, at, S::W);
      }
      // Pick. r W + c is below k (W + 1) < 2^24 (pool.cpp), exact as a float.
      const int64_t origin = y0 * g.W - g.pad;  // plane offset of (r, c) = (0, 0) at start 0
      for (int64_t ox = 0; ox < g.Wo; ++ox) {
        const int64_t j = ox * g.stride;
        y[ox] = best[j];
        if (kArg) *arg++ = best[j] == -INFINITY ? -1 : int32_t(origin + j + int64_t(best_at[j]));
      }
    }
  }
}

template <class S>
void max_pool(const float* x, int64_t planes, const PoolWindow& g, float* y, int32_t* arg) {
  if (arg)
    max_pool_rows<S, true>(x, planes, g, y, arg);
  else
    max_pool_rows<S, false>(x, planes, g, y, nullptr);
}

}  // namespace cf::kernels::detail::simd

#define CF_INSTANTIATE_POOL(S)                                                            \
  template void simd::max_pool<S>(const float*, int64_t, const PoolWindow&, float*, int32_t*)
