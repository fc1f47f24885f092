// The SIMD bodies of vecmath.h's elementwise kernels, written once for any
// instruction set S (see simd_math.h). add_row, mul_row and AdamW do the
// same float operations as their scalar twins in the same order (no FMA), so
// they agree bit for bit; the transcendental ones use simd_math.h. Included
// by vecmath_avx2.cpp and vecmath_avx512.cpp only.
//
// That agreement needs the compiler not to fuse a multiply and an add into
// an FMA on its own. The build asks for -ffp-contract=off, but GCC's default
// for GNU C++ is "fast", so the including files say it again.
#pragma once
#include <cstdint>

#include "autograd/kernels/simd_math.h"

namespace cf::kernels::detail::simd {

// The function is a template argument, not a run-time one, so that it is
// inlined into the loop: passed as a pointer, S::add cost a call per vector
// (a tenth of layer norm's backward, which adds its partial sums with
// add_row).
template <class S, typename S::V (*f)(typename S::V)>
void map(const float* x, float* y, int64_t n) {
  for_blocks<S>(n, [&](int64_t i, int64_t k) { S::store(y + i, f(S::load(x + i, k)), k); });
}

template <class S, typename S::V (*f)(typename S::V, typename S::V)>
void map_rows(const float* x, const float* row, float* y, int64_t rows, int64_t cols) {
  for (int64_t r = 0; r < rows; ++r, x += cols, y += cols)
    for_blocks<S>(cols, [&](int64_t i, int64_t k) {
      S::store(y + i, f(S::load(x + i, k), S::load(row + i, k)), k);
    });
}

template <class S>
void vec_exp(const float* x, float* y, int64_t n) { map<S, exp<S>>(x, y, n); }
// Padding lanes are 0 in the load; log(0) = -inf there is never stored.
template <class S>
void vec_log(const float* x, float* y, int64_t n) { map<S, log<S>>(x, y, n); }
template <class S>
void vec_tanh(const float* x, float* y, int64_t n) { map<S, tanh<S>>(x, y, n); }
template <class S>
void vec_sigmoid(const float* x, float* y, int64_t n) { map<S, sigmoid<S>>(x, y, n); }
template <class S>
void vec_erf(const float* x, float* y, int64_t n) { map<S, erf<S>>(x, y, n); }

template <class S>
void add_row(const float* x, const float* row, float* y, int64_t rows, int64_t cols) {
  map_rows<S, S::add>(x, row, y, rows, cols);
}
template <class S>
void mul_row(const float* x, const float* row, float* y, int64_t rows, int64_t cols) {
  map_rows<S, S::mul>(x, row, y, rows, cols);
}

template <class S>
void adamw(float* p, const float* g, float* m, float* v, int64_t n, float lr, float beta1,
           float beta2, float eps, float weight_decay, float bc1, float bc2) {
  using V = typename S::V;
  const V decay = S::set1(lr * weight_decay), b1 = S::set1(beta1), b2 = S::set1(beta2),
          omb1 = S::set1(1.0f - beta1), omb2 = S::set1(1.0f - beta2), vlr = S::set1(lr),
          veps = S::set1(eps), vbc1 = S::set1(bc1), vbc2 = S::set1(bc2);
  for_blocks<S>(n, [&](int64_t i, int64_t k) {
    const V pv = S::load(p + i, k), gv = S::load(g + i, k);
    const V pi = S::sub(pv, S::mul(decay, pv));
    const V mv = S::add(S::mul(b1, S::load(m + i, k)), S::mul(omb1, gv));
    const V vv = S::add(S::mul(b2, S::load(v + i, k)), S::mul(omb2, S::mul(gv, gv)));
    const V m_hat = S::div(mv, vbc1), v_hat = S::div(vv, vbc2);
    const V step = S::div(S::mul(vlr, m_hat), S::add(S::sqrt(v_hat), veps));
    S::store(m + i, mv, k);
    S::store(v + i, vv, k);
    S::store(p + i, S::sub(pi, step), k);
  });
}

}  // namespace cf::kernels::detail::simd

// The explicit instantiations of the kernels above for S, in the one file
// compiled for S (simd_kernels.h declares them).
#define CF_INSTANTIATE_VECMATH(S)                                                          \
  template void simd::vec_exp<S>(const float*, float*, int64_t);                          \
  template void simd::vec_log<S>(const float*, float*, int64_t);                          \
  template void simd::vec_tanh<S>(const float*, float*, int64_t);                         \
  template void simd::vec_sigmoid<S>(const float*, float*, int64_t);                      \
  template void simd::vec_erf<S>(const float*, float*, int64_t);                          \
  template void simd::add_row<S>(const float*, const float*, float*, int64_t, int64_t);   \
  template void simd::mul_row<S>(const float*, const float*, float*, int64_t, int64_t);   \
  template void simd::adamw<S>(float*, const float*, float*, float*, int64_t, float, float, \
                               float, float, float, float, float)
