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

template <class S>
void softmax_forward(const float* x, float* y, int64_t rows, int64_t cols) {
  for (int64_t r = 0; r < rows; ++r, x += cols, y += cols) {
    const float s = sum_exp<S>(x, row_max<S>(x, cols), y, cols);
    const typename S::V inv = S::set1(1.0f / s);
    for_blocks<S>(cols, [&](int64_t i, int64_t k) { S::store(y + i, S::mul(S::load(y + i, k), inv), k); });
  }
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

template <class S>
void layernorm_forward(const float* x, const float* w, const float* b, float* y, float* mean,
                       float* rstd, int64_t rows, int64_t cols, float eps) {
  using V = typename S::V;
  for (int64_t r = 0; r < rows; ++r, x += cols, y += cols) {
    const float m = row_sum<S>(x, cols) / float(cols);
    const V vm = S::set1(m);
    const V var = sum_blocks<S>(cols, [&](int64_t i, int64_t k) {
      // Padding lanes load as m, so they add (m - m)^2 = 0.
      const V d = S::sub(S::load(x + i, k, m), vm);
      return S::mul(d, d);
    });
    const float rs = 1.0f / std::sqrt(S::hsum(var) / float(cols) + eps);
    const V vrs = S::set1(rs);
    for_blocks<S>(cols, [&](int64_t i, int64_t k) {
      V v = S::mul(S::sub(S::load(x + i, k), vm), vrs);
      if (w) v = S::mul(v, S::load(w + i, k));
      if (b) v = S::add(v, S::load(b + i, k));
      S::store(y + i, v, k);
    });
    mean[r] = m;
    rstd[r] = rs;
  }
}

// Layer norm's backward for one row, one instance per combination of the
// optional operands so the loops test no null pointer. With xh = (x - mean)
// rstd and g = dy w (g = dy without w):
//   dx = rstd (g - mean(g) - xh mean(g xh)),  dw += dy xh,  db += dy.
// Pass 1 takes the two means, adds the row's terms into dw and db, and
// parks g in dx; pass 2 turns it into dx, finding the row in L1. Counting
// operations, the FMA ports (two per core) are the passes' busiest, so
// pass 2 keeps them to two operations: it reloads g instead of computing
// dy w again, and folds xh's rstd into the constant b below (x - mean
// stays exact). On Zen 5, in alternating runs of the row-kernel benchmark,
// the two together measured 10-15 % faster, the fold alone 3 %, the reload
// alone nothing (docs/PERFORMANCE.md, which also has what llvm-mca says).
// Rows one at a time measured faster than several at once: on Zen 4 two or
// four rows overflowed its 32 KiB L1; on Zen 5 two rows, which store dw and
// db once per pair, ran 7-12 % slower, their four sums per block taking
// all sixteen AVX2 registers. dx must not overlap x or w.
template <class S, bool kW, bool kDw, bool kDb>
void layernorm_backward_row(const float* x, const float* w, float mean, float rstd,
                            const float* dy, float* dx, float* dw, float* db, int64_t cols) {
  using V = typename S::V;
  const V vm = S::set1(mean), vrs = S::set1(rstd);
  const auto xhat = [&](int64_t i, int64_t k) { return S::mul(S::sub(S::load(x + i, k), vm), vrs); };
  const auto grad = [&](V d, int64_t i, int64_t k) { return kW ? S::mul(d, S::load(w + i, k)) : d; };
  const Pair<S> sums = sum_blocks<S>(cols, [&](int64_t i, int64_t k) {
    const V d = S::load(dy + i, k);
    const V g = grad(d, i, k);
    const V xh = xhat(i, k);
    if (kW) S::store(dx + i, g, k);
    if (kDw) S::store(dw + i, S::fmadd(d, xh, S::load(dw + i, k)), k);
    if (kDb) S::store(db + i, S::add(S::load(db + i, k), d), k);
    return Pair<S>{g, S::mul(g, xh)};
  });
  // dx = rstd g - (c + b (x - mean)), with c = rstd mean(g), b = rstd^2 mean(g xh).
  const V vc = S::set1(rstd * (S::hsum(sums.a) / float(cols)));
  const V vb = S::set1(rstd * rstd * (S::hsum(sums.b) / float(cols)));
  for_blocks<S>(cols, [&](int64_t i, int64_t k) {
    const V g = S::load((kW ? dx : dy) + i, k);
    S::store(dx + i, S::fmsub(vrs, g, S::fmadd(vb, S::sub(S::load(x + i, k), vm), vc)), k);
  });
}

template <class S, bool kW, bool kDw, bool kDb>
void layernorm_backward_rows(const float* x, const float* w, const float* mean, const float* rstd,
                             const float* dy, float* dx, float* dw, float* db, int64_t rows,
                             int64_t cols) {
  for (int64_t r = 0; r < rows; ++r)
    layernorm_backward_row<S, kW, kDw, kDb>(x + r * cols, w, mean[r], rstd[r], dy + r * cols,
                                            dx + r * cols, dw, db, cols);
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
                                           float*, float*, int64_t, int64_t, float);         \
  template void simd::layernorm_backward<S>(const float*, const float*, const float*,        \
                                            const float*, const float*, float*, float*,      \
                                            float*, int64_t, int64_t);                       \
  template void simd::gelu_forward<S>(const float*, float*, int64_t);                        \
  template void simd::gelu_backward<S>(const float*, const float*, float*, int64_t)

