// The SIMD bodies of rowops.h, written once for any instruction set S (see
// simd_math.h): the same formulas as rowops_scalar.cpp, S::W columns at a
// time. The last block of a row is loaded and stored with masks, so any
// `cols` works and nothing past the row is touched. Sums run in 8 lanes, so
// they round differently from the scalar loop (a few ulp);
// tests/test_kernels_rowops.cpp bounds it, and checks that the AVX-512
// bodies give the AVX2 bodies' bits. Included by rowops_avx2.cpp and
// rowops_avx512.cpp only.
#pragma once
#include <cmath>
#include <cstdint>
#include <type_traits>

#include "autograd/kernels/simd_math.h"

namespace cf::kernels::detail::simd {

template <class S>
float row_max(const float* x, int64_t cols) {
  typename S::V m = S::set1(-INFINITY);
  for_blocks<S>(cols, [&](int64_t i, int64_t k) { m = S::max(m, S::load(x + i, k, -INFINITY)); });
  return S::hmax(m);
}

template <class S>
float row_sum(const float* x, int64_t cols) {
  return S::hsum(sum_blocks<S>(cols, [&](int64_t i, int64_t k) { return S::load(x + i, k); }));
}

template <class S>
float row_dot(const float* a, const float* b, int64_t cols) {
  return S::hsum(sum_blocks<S>(cols, [&](int64_t i, int64_t k) {
    return S::mul(S::load(a + i, k), S::load(b + i, k));
  }));
}

// sum(exp(x - m)), storing the exponentials in y when y is not null.
template <class S>
float sum_exp(const float* x, float m, float* y, int64_t cols) {
  const typename S::V vm = S::set1(m);
  return S::hsum(sum_blocks<S>(cols, [&](int64_t i, int64_t k) {
    // Padding lanes are -inf: exp(-inf) = 0 adds nothing.
    const typename S::V e = exp<S>(S::sub(S::load(x + i, k, -INFINITY), vm));
    if (y) S::store(y + i, e, k);
    return e;
  }));
}

// Rows in groups of four, then one at a time: fn(r, R) for R = 4 or 1 rows
// from r. A short row (an attention block's 64 scores, a token's 128
// features) is a chain of dependent steps, a sum or maximum folded across
// the lanes between them; a group's four independent chains keep the ports
// busy. Each row takes the same operations in a group or alone, so the
// grouping changes no bit.
template <class F>
CF_ALWAYS_INLINE void in_groups_of_four(int64_t rows, F&& fn) {
  int64_t r = 0;
  for (; r + 4 <= rows; r += 4) fn(r, std::integral_constant<int, 4>{});
  for (; r < rows; ++r) fn(r, std::integral_constant<int, 1>{});
}

template <class S, int R>
CF_ALWAYS_INLINE void softmax_rows(const float* x, float* y, int64_t cols) {
  float m[R], s[R];
  for (int j = 0; j < R; ++j) m[j] = row_max<S>(x + j * cols, cols);
  for (int j = 0; j < R; ++j) s[j] = sum_exp<S>(x + j * cols, m[j], y + j * cols, cols);
  for (int j = 0; j < R; ++j) {
    const typename S::V inv = S::set1(1.0f / s[j]);
    float* yj = y + j * cols;
    for_blocks<S>(cols, [&](int64_t i, int64_t k) {
      S::store(yj + i, S::mul(S::load(yj + i, k), inv), k);
    });
  }
}

template <class S>
void softmax_forward(const float* x, float* y, int64_t rows, int64_t cols) {
  in_groups_of_four(rows, [&](int64_t r, auto R) {
    softmax_rows<S, R>(x + r * cols, y + r * cols, cols);
  });
}

template <class S>
void softmax_backward(const float* y, const float* dy, float* dx, int64_t rows, int64_t cols) {
  for (int64_t r = 0; r < rows; ++r, y += cols, dy += cols, dx += cols) {
    const typename S::V dot = S::set1(row_dot<S>(dy, y, cols));
    for_blocks<S>(cols, [&](int64_t i, int64_t k) {
      S::store(dx + i, S::mul(S::load(y + i, k), S::sub(S::load(dy + i, k), dot)), k);
    });
  }
}

template <class S>
void log_softmax_forward(const float* x, float* y, int64_t rows, int64_t cols) {
  for (int64_t r = 0; r < rows; ++r, x += cols, y += cols) {
    const float m = row_max<S>(x, cols);
    const typename S::V lse = S::set1(m + std::log(sum_exp<S>(x, m, nullptr, cols)));
    for_blocks<S>(cols, [&](int64_t i, int64_t k) { S::store(y + i, S::sub(S::load(x + i, k), lse), k); });
  }
}

template <class S>
void log_softmax_backward(const float* y, const float* dy, float* dx, int64_t rows,
                          int64_t cols) {
  for (int64_t r = 0; r < rows; ++r, y += cols, dy += cols, dx += cols) {
    const typename S::V s = S::set1(row_sum<S>(dy, cols));
    for_blocks<S>(cols, [&](int64_t i, int64_t k) {
      S::store(dx + i, S::fnmadd(exp<S>(S::load(y + i, k)), s, S::load(dy + i, k)), k);
    });
  }
}

// Row j's affine is w + j step and b + j step (step 0: one for every row).
template <class S, int R>
CF_ALWAYS_INLINE void layernorm_forward_rows(const float* x, const float* w, const float* b,
                                             int64_t step, float* y, float* mean, float* rstd,
                                             int64_t cols, float eps) {
  using V = typename S::V;
  float m[R], rs[R];
  for (int j = 0; j < R; ++j) m[j] = row_sum<S>(x + j * cols, cols) / float(cols);
  for (int j = 0; j < R; ++j) {
    const float* xj = x + j * cols;
    const V vm = S::set1(m[j]);
    const V var = sum_blocks<S>(cols, [&](int64_t i, int64_t k) {
      // Padding lanes load as m, so they add (m - m)^2 = 0.
      const V d = S::sub(S::load(xj + i, k, m[j]), vm);
      return S::mul(d, d);
    });
    rs[j] = 1.0f / std::sqrt(S::hsum(var) / float(cols) + eps);
  }
  for (int j = 0; j < R; ++j) {
    const float *xj = x + j * cols, *wj = w ? w + j * step : nullptr,
                *bj = b ? b + j * step : nullptr;
    float* yj = y + j * cols;
    const V vm = S::set1(m[j]), vrs = S::set1(rs[j]);
    for_blocks<S>(cols, [&](int64_t i, int64_t k) {
      V v = S::mul(S::sub(S::load(xj + i, k), vm), vrs);
      if (wj) v = S::mul(v, S::load(wj + i, k));
      if (bj) v = S::add(v, S::load(bj + i, k));
      S::store(yj + i, v, k);
    });
    mean[j] = m[j];
    rstd[j] = rs[j];
  }
}

template <class S>
void layernorm_forward(const float* x, const float* w, const float* b, float* y, float* mean,
                       float* rstd, int64_t rows, int64_t cols, float eps, int64_t affine_step) {
  in_groups_of_four(rows, [&](int64_t r, auto R) {
    const int64_t at = r * affine_step;
    layernorm_forward_rows<S, R>(x + r * cols, w ? w + at : nullptr, b ? b + at : nullptr,
                                 affine_step, y + r * cols, mean + r, rstd + r, cols, eps);
  });
}

// Layer norm's backward for R = 1 or 2 rows, one instance per combination
// of the optional operands so the loops test no null pointer. With
// xh = (x - mean) rstd and g = dy w (g = dy without w):
//   dx = rstd (g - mean(g) - xh mean(g xh)),  dw += dy xh,  db += dy.
// Pass 1 takes each row's two means and adds the rows' terms into dw and db;
// pass 2 computes dx, finding the rows in L1. The kernel is bound by its
// loads, stores and operations, not by memory, so two rows at a time, which
// load and store dw and db once per pair, pay: on Zen 5, in alternating
// runs of `bench_kernels rowops` at 64 x 1024, 4.1-4.5x the scalar path
// against 3.1-4.1x for one row at a time. Each mean is a single running sum
// in the 8-lane order: the pair's four sums then fit AVX2's sixteen
// registers, where sum_blocks' four accumulators per sum spilled and ran
// slower than one row. A row's sums and its dx take the same operations in
// a pair or alone, so how rows pair up changes no bit. Pass 2 computes g
// again rather than parking it in dx (as fast from L2, faster from L3).
// dx must not overlap x or w.
template <class S, int R, bool kW, bool kDw, bool kDb>
void layernorm_backward_block(const float* x, const float* w, const float* mean,
                              const float* rstd, const float* dy, float* dx, float* dw,
                              float* db, int64_t cols) {
  using V = typename S::V;
  V vm[R], vrs[R];
  typename S::V8 sum_g[R], sum_gxh[R];
  for (int j = 0; j < R; ++j) {
    vm[j] = S::set1(mean[j]);
    vrs[j] = S::set1(rstd[j]);
    sum_g[j] = sum_gxh[j] = typename S::V8{};
  }
  const auto centred = [&](int j, int64_t i, int64_t k) {
    return S::sub(S::load(x + j * cols + i, k), vm[j]);
  };
  for_blocks<S>(cols, [&](int64_t i, int64_t k) {
    const V wv = kW ? S::load(w + i, k) : V{};
    V dwv = kDw ? S::load(dw + i, k) : V{}, dbv = kDb ? S::load(db + i, k) : V{};
    for (int j = 0; j < R; ++j) {
      const V d = S::load(dy + j * cols + i, k), g = kW ? S::mul(d, wv) : d;
      const V xh = S::mul(centred(j, i, k), vrs[j]);
      if (kDw) dwv = S::fmadd(d, xh, dwv);
      if (kDb) dbv = S::add(dbv, d);
      sum_g[j] = S::add_in_8_lane_order(sum_g[j], g, k);
      sum_gxh[j] = S::add_in_8_lane_order(sum_gxh[j], S::mul(g, xh), k);
    }
    if (kDw) S::store(dw + i, dwv, k);
    if (kDb) S::store(db + i, dbv, k);
  });
  // dx = rstd g - (c + b (x - mean)), with c = rstd mean(g), b = rstd^2 mean(g xh):
  // xh's rstd folds into b, and x - mean stays exact.
  V vc[R], vb[R];
  for (int j = 0; j < R; ++j) {
    vc[j] = S::set1(rstd[j] * (S::hsum8(sum_g[j]) / float(cols)));
    vb[j] = S::set1(rstd[j] * rstd[j] * (S::hsum8(sum_gxh[j]) / float(cols)));
  }
  for_blocks<S>(cols, [&](int64_t i, int64_t k) {
    const V wv = kW ? S::load(w + i, k) : V{};
    for (int j = 0; j < R; ++j) {
      const V d = S::load(dy + j * cols + i, k), g = kW ? S::mul(d, wv) : d;
      S::store(dx + j * cols + i, S::fmsub(vrs[j], g, S::fmadd(vb[j], centred(j, i, k), vc[j])),
               k);
    }
  });
}

template <class S, bool kW, bool kDw, bool kDb>
void layernorm_backward_rows(const float* x, const float* w, const float* mean, const float* rstd,
                             const float* dy, float* dx, float* dw, float* db, int64_t rows,
                             int64_t cols) {
  int64_t r = 0;
  for (; r + 2 <= rows; r += 2)
    layernorm_backward_block<S, 2, kW, kDw, kDb>(x + r * cols, w, mean + r, rstd + r,
                                                 dy + r * cols, dx + r * cols, dw, db, cols);
  if (r < rows)
    layernorm_backward_block<S, 1, kW, kDw, kDb>(x + r * cols, w, mean + r, rstd + r,
                                                 dy + r * cols, dx + r * cols, dw, db, cols);
}

template <class S>
void layernorm_backward(const float* x, const float* w, const float* mean, const float* rstd,
                        const float* dy, float* dx, float* dw, float* db, int64_t rows,
                        int64_t cols) {
  const int which = (w ? 4 : 0) + (dw ? 2 : 0) + (db ? 1 : 0);
  using Fn = void (*)(const float*, const float*, const float*, const float*, const float*,
                      float*, float*, float*, int64_t, int64_t);
  static constexpr Fn fns[8] = {
      layernorm_backward_rows<S, false, false, false>, layernorm_backward_rows<S, false, false, true>,
      layernorm_backward_rows<S, false, true, false>,  layernorm_backward_rows<S, false, true, true>,
      layernorm_backward_rows<S, true, false, false>,  layernorm_backward_rows<S, true, false, true>,
      layernorm_backward_rows<S, true, true, false>,   layernorm_backward_rows<S, true, true, true>};
  fns[which](x, w, mean, rstd, dy, dx, dw, db, rows, cols);
}

template <class S>
void gelu_forward(const float* x, float* y, int64_t n) {
  for_blocks<S>(n, [&](int64_t i, int64_t k) {
    const typename S::V v = S::load(x + i, k);
    const typename S::V cdf = half_one_plus_erf<S>(S::mul(v, S::set1(0.70710678118654752f)));
    S::store(y + i, S::mul(v, cdf), k);
  });
}

template <class S>
void gelu_backward(const float* x, const float* dy, float* dx, int64_t n) {
  using V = typename S::V;
  for_blocks<S>(n, [&](int64_t i, int64_t k) {
    const V v = S::load(x + i, k);
    const V cdf = half_one_plus_erf<S>(S::mul(v, S::set1(0.70710678118654752f)));
    const V pdf = S::mul(S::set1(0.39894228040143268f),
                         exp<S>(S::mul(S::set1(-0.5f), S::mul(v, v))));
    S::store(dx + i, S::mul(S::load(dy + i, k), S::fmadd(v, pdf, cdf)), k);
  });
}

}  // namespace cf::kernels::detail::simd

// The explicit instantiations of the kernels above for S, in the one file
// compiled for S (simd_kernels.h declares them).
#define CF_INSTANTIATE_ROWOPS(S)                                                              \
  template void simd::softmax_forward<S>(const float*, float*, int64_t, int64_t);            \
  template void simd::softmax_backward<S>(const float*, const float*, float*, int64_t,       \
                                          int64_t);                                          \
  template void simd::log_softmax_forward<S>(const float*, float*, int64_t, int64_t);        \
  template void simd::log_softmax_backward<S>(const float*, const float*, float*, int64_t,   \
                                              int64_t);                                      \
  template void simd::layernorm_forward<S>(const float*, const float*, const float*, float*, \
                                           float*, float*, int64_t, int64_t, float, int64_t); \
  template void simd::layernorm_backward<S>(const float*, const float*, const float*,        \
                                            const float*, const float*, float*, float*,      \
                                            float*, int64_t, int64_t);                       \
  template void simd::gelu_forward<S>(const float*, float*, int64_t);                        \
  template void simd::gelu_backward<S>(const float*, const float*, float*, int64_t)

