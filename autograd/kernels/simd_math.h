// Internal to the SIMD kernel files: vector math and the block loops the row
// and elementwise kernels share, written once for any vector width. S is an
// instruction set's primitives (simd_avx2.h's Avx2, simd_avx512.h's
// Avx512): S::V a vector of S::W floats, S::M a lane mask, and the
// operations below. Only files compiled for that instruction set include it.
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
// of min/max, which returns that operand when one is NaN.
//
// Every element goes through the same operations on every width, and the
// sums of sum_blocks are taken in the 8-lane order whatever the width, so
// the AVX-512 kernels give the AVX2 kernels' bits (tested).
#pragma once
#include <cmath>
#include <cstdint>

namespace cf::kernels::detail::simd {

// The block loops below take the kernel's body as a lambda. GCC does not
// always inline them when the body is large: then the lambda's captures
// stay in memory, and since a store of floats may alias a vector, every
// iteration reloads them. That once left layer norm's backward at a third
// of its speed, so the loops are always inlined.
#if defined(_MSC_VER)
#define CF_ALWAYS_INLINE __forceinline
#else
#define CF_ALWAYS_INLINE inline __attribute__((always_inline))
#endif

// Horner's rule: c[0] x^(n-1) + ... + c[n-1].
template <class S, int n>
inline typename S::V polynomial(typename S::V x, const float (&c)[n]) {
  typename S::V y = S::set1(c[0]);
  for (int i = 1; i < n; ++i) y = S::fmadd(y, x, S::set1(c[i]));
  return y;
}

template <class S>
inline typename S::V exp(typename S::V x) {
  using V = typename S::V;
  // Below -104 the result is 0 even as a denormal; above 89 it is +inf.
  x = S::max(S::set1(-104.0f), S::min(S::set1(89.0f), x));
  const V n = S::round(S::mul(x, S::set1(1.44269504088896341f)));
  // r = x - n ln2, with ln2 split in two so n * ln2_hi is exact.
  V r = S::fnmadd(n, S::set1(0.693359375f), x);
  r = S::fnmadd(n, S::set1(-2.12194440e-4f), r);
  static constexpr float c[] = {1.9875691500e-4f, 1.3981999507e-3f, 8.3334519073e-3f,
                                4.1665795894e-2f, 1.6666665459e-1f, 5.0000001201e-1f};
  const V r2 = S::mul(r, r);
  const V p = S::add(S::fmadd(polynomial<S>(r, c), r2, r), S::set1(1.0f));
  // p 2^n rounded once, into the denormals if it must (AVX2: two factors
  // 2^(n/2), each a normal float for n in [-150, 128]; AVX-512: scalef).
  return S::scale_by_pow2(p, n);
}

template <class S>
inline typename S::V log(typename S::V x) {
  using V = typename S::V;
  const V zero = S::zero();
  const auto is_neg = S::lt(x, zero);
  const auto is_zero = S::eq(x, zero);
  const auto is_inf = S::eq(x, S::set1(INFINITY));
  const auto is_nan = S::unordered(x, x);
  // Denormals: scale by 2^23 into the normal range, take 23 off the exponent.
  const auto is_denormal = S::lt(x, S::set1(1.17549435e-38f));
  const V v = S::select(is_denormal, S::mul(x, S::set1(8388608.0f)), x);
  V e = S::select(is_denormal, S::set1(-23.0f), zero);
  // v = 2^k m with m in [0.5, 1): e += k.
  V m = S::split_exponent(v, e);
  // Move m into [sqrt(1/2), sqrt(2)) and take 1 off: m < sqrt(1/2) becomes
  // 2m - 1 with e - 1, else m - 1.
  const auto small = S::lt(m, S::set1(0.707106781186547524f));
  e = S::sub(e, S::select(small, S::set1(1.0f), zero));
  m = S::add(S::sub(m, S::set1(1.0f)), S::select(small, m, zero));
  static constexpr float c[] = {7.0376836292e-2f,  -1.1514610310e-1f, 1.1676998740e-1f,
                                -1.2420140846e-1f, 1.4249322787e-1f,  -1.6668057665e-1f,
                                2.0000714765e-1f,  -2.4999993993e-1f, 3.3333331174e-1f};
  const V z = S::mul(m, m);
  V y = S::mul(S::mul(polynomial<S>(m, c), m), z);
  y = S::fmadd(e, S::set1(-2.12194440e-4f), y);
  y = S::fnmadd(z, S::set1(0.5f), y);
  V r = S::add(m, y);
  r = S::fmadd(e, S::set1(0.693359375f), r);
  r = S::select(is_inf, S::set1(INFINITY), r);
  r = S::select(is_zero, S::set1(-INFINITY), r);
  r = S::select(S::mask_or(is_neg, is_nan), S::set1(NAN), r);
  return r;
}

template <class S>
inline typename S::V abs(typename S::V x) {
  return S::andnot(S::set1(-0.0f), x);
}

// |magnitude| with the sign of `sign`.
template <class S>
inline typename S::V copysign(typename S::V magnitude, typename S::V sign) {
  return S::bit_or(abs<S>(magnitude), S::bit_and(S::set1(-0.0f), sign));
}

template <class S>
inline typename S::V tanh(typename S::V x) {
  using V = typename S::V;
  const V ax = abs<S>(x);
  static constexpr float c[] = {-5.70498872745e-3f, 2.06390887954e-2f, -5.37397155531e-2f,
                                1.33314422036e-1f, -3.33332819422e-1f};
  const V z = S::mul(x, x);
  const V small = S::fmadd(S::mul(polynomial<S>(z, c), z), x, x);
  const V e = exp<S>(S::add(ax, ax));
  const V large = S::sub(S::set1(1.0f), S::div(S::set1(2.0f), S::add(e, S::set1(1.0f))));
  return S::select(S::lt(ax, S::set1(0.625f)), small, copysign<S>(large, x));
}

template <class S>
inline typename S::V sigmoid(typename S::V x) {
  const typename S::V one = S::set1(1.0f);
  return S::div(one, S::add(one, exp<S>(S::sub(S::zero(), x))));
}

// erf(x) / x for |x| < 1, as a polynomial in x^2.
template <class S>
inline typename S::V erf_small(typename S::V x) {
  static constexpr float c[] = {7.875875063e-5f, -8.016864287e-4f, 5.189087423e-3f,
                                -2.685421201e-2f, 1.128359472e-1f, -3.761262667e-1f,
                                1.128379166f};
  return S::mul(x, polynomial<S>(S::mul(x, x), c));
}

// erfc(a) for a >= 1 (the callers blend it in only there). Past a = 10 the
// result is 0 in float; clamping there keeps a^2 finite for a = inf.
template <class S>
inline typename S::V erfc_large(typename S::V a) {
  using V = typename S::V;
  a = S::min(S::set1(10.0f), a);
  static constexpr float c[] = {0.07190330186f, -0.1551540371f, -0.017340085f,
                                0.1388039543f,  0.1420030395f,  0.2577407688f,
                                0.2801304188f,  0.2822851879f,  -7.724333011e-6f};
  const V one = S::set1(1.0f);
  const V t = S::div(one, S::fmadd(a, S::set1(0.5f), one));
  // a^2 = hi + lo exactly; exp(-a^2) = exp(-hi) (1 - lo) to first order.
  const V hi = S::mul(a, a);
  const V lo = S::fmsub(a, a, hi);
  const V e = exp<S>(S::sub(S::zero(), hi));
  return S::mul(S::fnmadd(e, lo, e), polynomial<S>(t, c));
}

template <class S>
inline typename S::V erf(typename S::V x) {
  using V = typename S::V;
  const V ax = abs<S>(x);
  const auto is_small = S::lt(ax, S::set1(1.0f));
  // The tail costs a division and an exp; skip it when no lane needs it.
  if (S::all(is_small)) return erf_small<S>(x);
  const V large = copysign<S>(S::sub(S::set1(1.0f), erfc_large<S>(ax)), x);
  return S::select(is_small, erf_small<S>(x), large);
}

// 0.5 (1 + erf(u)), the normal CDF at u sqrt(2). For u <= -1 it comes
// straight from erfc, keeping its relative accuracy where 1 + erf(u) would
// cancel.
template <class S>
inline typename S::V half_one_plus_erf(typename S::V u) {
  using V = typename S::V;
  const V au = abs<S>(u);
  const V half = S::set1(0.5f);
  const V small = S::fmadd(erf_small<S>(u), half, half);
  const auto is_small = S::lt(au, S::set1(1.0f));
  if (S::all(is_small)) return small;
  const V tail = S::mul(half, erfc_large<S>(au));
  const V large = S::select(S::lt(u, S::zero()), tail, S::sub(S::set1(1.0f), tail));
  return S::select(is_small, small, large);
}

// Calls f(i, k) for the blocks of S::W floats of [0, n): i the offset, k =
// S::W except for a shorter last block. The full blocks get a loop of their
// own, where k is a constant and the masked paths of S::load and S::store
// vanish at compile time.
template <class S, class F>
CF_ALWAYS_INLINE void for_blocks(int64_t n, F&& f) {
  int64_t i = 0;
  for (; i + S::W <= n; i += S::W) f(i, int64_t(S::W));
  if (i < n) f(i, n - i);
}

// Two sums computed in the same pass (layer norm's backward needs both).
template <class S>
struct Pair {
  typename S::V a, b;
};

template <class S>
inline typename S::V add(typename S::V x, typename S::V y) { return S::add(x, y); }
template <class S>
inline Pair<S> add(Pair<S> x, Pair<S> y) { return {S::add(x.a, y.a), S::add(x.b, y.b)}; }
template <class S>
inline typename S::V in_8_lane_order(typename S::V lo, typename S::V hi) {
  return S::sum_in_8_lane_order(lo, hi);
}
template <class S>
inline Pair<S> in_8_lane_order(Pair<S> lo, Pair<S> hi) {
  return {S::sum_in_8_lane_order(lo.a, hi.a), S::sum_in_8_lane_order(lo.b, hi.b)};
}

// Sum over [0, n) of f(i, k) (a vector or a Pair per block of k <= S::W
// floats; lanes past k must contribute 0), for S::hsum. The order is that of
// four 8-lane accumulators over blocks of 32 floats, the tail's 8-float
// blocks into the first, then (a0 + a1) + (a2 + a3): four independent
// accumulators hide the add latency, and every width sums in this one order
// (with 16 lanes, a0 | a1 and a2 | a3 share a register, and the tail blocks
// fill the low half only).
template <class S, class F>
CF_ALWAYS_INLINE auto sum_blocks(int64_t n, F&& f) {
  static_assert(S::W == 8 || S::W == 16, "sum_blocks keeps the 8-lane order for 8 or 16 lanes");
  using Acc = decltype(f(int64_t(0), int64_t(S::W)));
  const auto tail = [&](int64_t i, Acc& a0) {
    for (; i < n; i += 8) a0 = add<S>(a0, f(i, n - i < 8 ? n - i : int64_t(8)));
  };
  int64_t i = 0;
  if constexpr (S::W == 8) {
    Acc a0{}, a1{}, a2{}, a3{};  // value-initialised: all zero
    for (; i + 32 <= n; i += 32) {
      a0 = add<S>(a0, f(i, int64_t(8)));
      a1 = add<S>(a1, f(i + 8, int64_t(8)));
      a2 = add<S>(a2, f(i + 16, int64_t(8)));
      a3 = add<S>(a3, f(i + 24, int64_t(8)));
    }
    tail(i, a0);
    return add<S>(add<S>(a0, a1), add<S>(a2, a3));
  } else {
    Acc lo{}, hi{};  // a0 | a1 and a2 | a3
    for (; i + 32 <= n; i += 32) {
      lo = add<S>(lo, f(i, int64_t(16)));
      hi = add<S>(hi, f(i + 16, int64_t(16)));
    }
    tail(i, lo);
    return in_8_lane_order<S>(lo, hi);
  }
}

}  // namespace cf::kernels::detail::simd
