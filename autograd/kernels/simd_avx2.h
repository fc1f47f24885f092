// Internal to the *_avx2.cpp files (compiled with -mavx2 -mfma): 8-wide
// vector math and the load/store helpers the row kernels share.
//
// The approximations, with their measured maximum errors against glibc's
// float functions (tests/test_kernels_vecmath.cpp measures them on a dense
// grid; docs/PERFORMANCE.md lists the numbers):
//
//   exp   Cephes expf: x = n ln2 + r, |r| <= ln2/2, degree-5 polynomial in r,
//         then scaled by 2^n in two halves so results down to the denormal
//         range are right. Overflows to +inf, underflows to 0.
//   log   Cephes logf: x = 2^e m, m in [sqrt(1/2), sqrt(2)), degree-8
//         polynomial in m - 1. Denormals are scaled first; log(0) = -inf,
//         log(x < 0) = NaN, log(inf) = inf.
//   tanh  |x| < 0.625: Cephes odd polynomial; else 1 - 2 / (exp(2|x|) + 1).
//   erf   |x| < 1: x P(x^2), degree 6 (our Chebyshev fit, 1.2e-9 before
//         rounding); |x| >= 1: erfc(|x|) = exp(-x^2) G(t), t = 1/(1 + |x|/2),
//         G a degree-8 fit (relative 2e-8 before rounding). exp(-x^2) uses
//         the exact low part of x^2 (from an FMA) so erfc keeps its relative
//         accuracy in the tail, which is what GELU needs for negative inputs.
//
// NaN inputs give NaN everywhere: every clamp puts x in the second operand
// of min/max, which AVX returns when an operand is NaN.
#pragma once
#include <immintrin.h>

#include <cmath>
#include <cstdint>

namespace cf::kernels::detail::avx2 {

inline __m256 set1(float v) { return _mm256_set1_ps(v); }

// Horner's rule: c[0] x^(n-1) + ... + c[n-1].
template <int n>
inline __m256 polynomial(__m256 x, const float (&c)[n]) {
  __m256 y = set1(c[0]);
  for (int i = 1; i < n; ++i) y = _mm256_fmadd_ps(y, x, set1(c[i]));
  return y;
}

inline __m256 exp(__m256 x) {
  // Below -104 the result is 0 even as a denormal; above 89 it is +inf.
  x = _mm256_max_ps(set1(-104.0f), _mm256_min_ps(set1(89.0f), x));
  const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, set1(1.44269504088896341f)),
                                   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  // r = x - n ln2, with ln2 split in two so n * ln2_hi is exact.
  __m256 r = _mm256_fnmadd_ps(n, set1(0.693359375f), x);
  r = _mm256_fnmadd_ps(n, set1(-2.12194440e-4f), r);
  static constexpr float c[] = {1.9875691500e-4f, 1.3981999507e-3f, 8.3334519073e-3f,
                                4.1665795894e-2f, 1.6666665459e-1f, 5.0000001201e-1f};
  const __m256 r2 = _mm256_mul_ps(r, r);
  const __m256 p = _mm256_add_ps(_mm256_fmadd_ps(polynomial(r, c), r2, r), set1(1.0f));
  // 2^n as two factors 2^(n/2) (each a normal float for n in [-150, 128]),
  // so the final product rounds once, into the denormals if it must.
  const __m256i ni = _mm256_cvtps_epi32(n);
  const __m256i n1 = _mm256_srai_epi32(ni, 1);
  const __m256i n2 = _mm256_sub_epi32(ni, n1);
  const __m256i bias = _mm256_set1_epi32(127);
  const __m256 s1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n1, bias), 23));
  const __m256 s2 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n2, bias), 23));
  return _mm256_mul_ps(_mm256_mul_ps(p, s1), s2);
}

inline __m256 log(__m256 x) {
  const __m256 zero = _mm256_setzero_ps();
  const __m256 is_neg = _mm256_cmp_ps(x, zero, _CMP_LT_OQ);
  const __m256 is_zero = _mm256_cmp_ps(x, zero, _CMP_EQ_OQ);
  const __m256 is_inf = _mm256_cmp_ps(x, set1(INFINITY), _CMP_EQ_OQ);
  const __m256 is_nan = _mm256_cmp_ps(x, x, _CMP_UNORD_Q);
  // Denormals: scale by 2^23 into the normal range, take 23 off the exponent.
  const __m256 is_denormal = _mm256_cmp_ps(x, set1(1.17549435e-38f), _CMP_LT_OQ);
  __m256 v = _mm256_blendv_ps(x, _mm256_mul_ps(x, set1(8388608.0f)), is_denormal);
  __m256 e = _mm256_and_ps(is_denormal, set1(-23.0f));
  // v = 2^k m with m in [0.5, 1).
  const __m256i bits = _mm256_castps_si256(v);
  e = _mm256_add_ps(e, _mm256_cvtepi32_ps(_mm256_sub_epi32(_mm256_srli_epi32(bits, 23),
                                                             _mm256_set1_epi32(126))));
  __m256 m = _mm256_castsi256_ps(_mm256_or_si256(
      _mm256_and_si256(bits, _mm256_set1_epi32(0x007fffff)), _mm256_set1_epi32(0x3f000000)));
  // Move m into [sqrt(1/2), sqrt(2)) and take 1 off: m < sqrt(1/2) becomes
  // 2m - 1 with e - 1, else m - 1.
  const __m256 small = _mm256_cmp_ps(m, set1(0.707106781186547524f), _CMP_LT_OQ);
  e = _mm256_sub_ps(e, _mm256_and_ps(small, set1(1.0f)));
  m = _mm256_add_ps(_mm256_sub_ps(m, set1(1.0f)), _mm256_and_ps(small, m));
  static constexpr float c[] = {7.0376836292e-2f,  -1.1514610310e-1f, 1.1676998740e-1f,
                                -1.2420140846e-1f, 1.4249322787e-1f,  -1.6668057665e-1f,
                                2.0000714765e-1f,  -2.4999993993e-1f, 3.3333331174e-1f};
  const __m256 z = _mm256_mul_ps(m, m);
  __m256 y = _mm256_mul_ps(_mm256_mul_ps(polynomial(m, c), m), z);
  y = _mm256_fmadd_ps(e, set1(-2.12194440e-4f), y);
  y = _mm256_fnmadd_ps(z, set1(0.5f), y);
  __m256 r = _mm256_add_ps(m, y);
  r = _mm256_fmadd_ps(e, set1(0.693359375f), r);
  r = _mm256_blendv_ps(r, set1(INFINITY), is_inf);
  r = _mm256_blendv_ps(r, set1(-INFINITY), is_zero);
  r = _mm256_blendv_ps(r, set1(NAN), _mm256_or_ps(is_neg, is_nan));
  return r;
}

inline __m256 abs(__m256 x) { return _mm256_andnot_ps(set1(-0.0f), x); }
// |magnitude| with the sign of `sign`.
inline __m256 copysign(__m256 magnitude, __m256 sign) {
  return _mm256_or_ps(abs(magnitude), _mm256_and_ps(set1(-0.0f), sign));
}

inline __m256 tanh(__m256 x) {
  const __m256 ax = abs(x);
  static constexpr float c[] = {-5.70498872745e-3f, 2.06390887954e-2f, -5.37397155531e-2f,
                                1.33314422036e-1f, -3.33332819422e-1f};
  const __m256 z = _mm256_mul_ps(x, x);
  const __m256 small = _mm256_fmadd_ps(_mm256_mul_ps(polynomial(z, c), z), x, x);
  const __m256 e = exp(_mm256_add_ps(ax, ax));
  const __m256 large =
      _mm256_sub_ps(set1(1.0f), _mm256_div_ps(set1(2.0f), _mm256_add_ps(e, set1(1.0f))));
  return _mm256_blendv_ps(copysign(large, x), small,
                          _mm256_cmp_ps(ax, set1(0.625f), _CMP_LT_OQ));
}

inline __m256 sigmoid(__m256 x) {
  const __m256 one = set1(1.0f);
  return _mm256_div_ps(one, _mm256_add_ps(one, exp(_mm256_sub_ps(_mm256_setzero_ps(), x))));
}

// erf(x) / x for |x| < 1, as a polynomial in x^2.
inline __m256 erf_small(__m256 x) {
  static constexpr float c[] = {7.875875063e-5f, -8.016864287e-4f, 5.189087423e-3f,
                                -2.685421201e-2f, 1.128359472e-1f, -3.761262667e-1f,
                                1.128379166f};
  return _mm256_mul_ps(x, polynomial(_mm256_mul_ps(x, x), c));
}

// erfc(a) for a >= 1 (the callers blend it in only there). Past a = 10 the
// result is 0 in float; clamping there keeps a^2 finite for a = inf.
inline __m256 erfc_large(__m256 a) {
  a = _mm256_min_ps(set1(10.0f), a);
  static constexpr float c[] = {0.07190330186f, -0.1551540371f, -0.017340085f,
                                0.1388039543f,  0.1420030395f,  0.2577407688f,
                                0.2801304188f,  0.2822851879f,  -7.724333011e-6f};
  const __m256 one = set1(1.0f);
  const __m256 t = _mm256_div_ps(one, _mm256_fmadd_ps(a, set1(0.5f), one));
  // a^2 = hi + lo exactly; exp(-a^2) = exp(-hi) (1 - lo) to first order.
  const __m256 hi = _mm256_mul_ps(a, a);
  const __m256 lo = _mm256_fmsub_ps(a, a, hi);
  const __m256 e = exp(_mm256_sub_ps(_mm256_setzero_ps(), hi));
  return _mm256_mul_ps(_mm256_fnmadd_ps(e, lo, e), polynomial(t, c));
}

inline __m256 erf(__m256 x) {
  const __m256 ax = abs(x);
  const __m256 is_small = _mm256_cmp_ps(ax, set1(1.0f), _CMP_LT_OQ);
  // The tail costs a division and an exp; skip it when no lane needs it.
  if (_mm256_movemask_ps(is_small) == 0xff) return erf_small(x);
  const __m256 large = copysign(_mm256_sub_ps(set1(1.0f), erfc_large(ax)), x);
  return _mm256_blendv_ps(large, erf_small(x), is_small);
}

// 0.5 (1 + erf(u)), the normal CDF at u sqrt(2). For u <= -1 it comes
// straight from erfc, keeping its relative accuracy where 1 + erf(u) would
// cancel.
inline __m256 half_one_plus_erf(__m256 u) {
  const __m256 au = abs(u);
  const __m256 half = set1(0.5f);
  const __m256 small = _mm256_fmadd_ps(erf_small(u), half, half);
  const __m256 is_small = _mm256_cmp_ps(au, set1(1.0f), _CMP_LT_OQ);
  if (_mm256_movemask_ps(is_small) == 0xff) return small;
  const __m256 tail = _mm256_mul_ps(half, erfc_large(au));
  const __m256 large = _mm256_blendv_ps(_mm256_sub_ps(set1(1.0f), tail), tail,
                                        _mm256_cmp_ps(u, _mm256_setzero_ps(), _CMP_LT_OQ));
  return _mm256_blendv_ps(large, small, is_small);
}

inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

inline float hmax(__m256 v) {
  __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_max_ps(s, _mm_movehl_ps(s, s));
  s = _mm_max_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// Mask with the first n (0..8) lanes set.
inline __m256i first_lanes(int64_t n) {
  alignas(32) static const int32_t table[16] = {-1, -1, -1, -1, -1, -1, -1, -1,
                                                0,  0,  0,  0,  0,  0,  0,  0};
  return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(table + 8 - n));
}

// Loads of the first n <= 8 floats of p; lanes past n hold `fill` (0 by
// default; -inf where a maximum or an exp must ignore them).
inline __m256 load(const float* p, int64_t n, float fill = 0.0f) {
  if (n == 8) return _mm256_loadu_ps(p);
  const __m256i m = first_lanes(n);
  return _mm256_blendv_ps(set1(fill), _mm256_maskload_ps(p, m), _mm256_castsi256_ps(m));
}

inline void store(float* p, __m256 v, int64_t n) {
  if (n == 8)
    _mm256_storeu_ps(p, v);
  else
    _mm256_maskstore_ps(p, first_lanes(n), v);
}

// Calls f(i, k) for the blocks of 8 of [0, n): i the offset, k = 8 except for
// a shorter last block. One loop body serves full and partial blocks; the
// full blocks get a loop of their own, where k is the constant 8 and the
// masked paths of load and store vanish at compile time.
template <class F>
inline void for_blocks(int64_t n, F&& f) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) f(i, int64_t(8));
  if (i < n) f(i, n - i);
}

// Two sums computed in the same pass (layer norm's backward needs both).
struct Pair {
  __m256 a, b;
};
inline __m256 add(__m256 x, __m256 y) { return _mm256_add_ps(x, y); }
inline Pair add(Pair x, Pair y) { return {_mm256_add_ps(x.a, y.a), _mm256_add_ps(x.b, y.b)}; }

// Sum over the blocks of [0, n) of f(i, k) (an __m256 or a Pair per block, as
// in for_blocks). Four independent accumulators hide the 4-cycle latency of
// the vector add; a single chain would run at a quarter of the speed.
template <class F>
inline auto sum_blocks(int64_t n, F&& f) {
  using Acc = decltype(f(int64_t(0), int64_t(8)));
  Acc a0{}, a1{}, a2{}, a3{};  // value-initialised: all zero
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    a0 = add(a0, f(i, int64_t(8)));
    a1 = add(a1, f(i + 8, int64_t(8)));
    a2 = add(a2, f(i + 16, int64_t(8)));
    a3 = add(a3, f(i + 24, int64_t(8)));
  }
  for (; i < n; i += 8) a0 = add(a0, f(i, n - i < 8 ? n - i : int64_t(8)));
  return add(add(a0, a1), add(a2, a3));
}

}  // namespace cf::kernels::detail::avx2
