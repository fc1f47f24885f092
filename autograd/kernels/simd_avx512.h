// Internal to the *_avx512.cpp files (compiled with the AVX-512 flags): the
// AVX-512F primitives that simd_math.h's vector math and block loops are
// written in, 16 floats per vector. Every operation is the AVX2 one on twice
// the lanes (the same roundings, the same 2^n scaling), so the kernels give
// the AVX2 kernels' bits.
#pragma once
// GCC 12's AVX-512 intrinsics start some results from _mm512_undefined_*()
// and then warn, wrongly, that it is used uninitialized (GCC bug 105593,
// fixed in GCC 13). The files that include this header are these kernels.
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ < 13
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>

#include <cstdint>

#include "autograd/kernels/simd_avx2.h"

namespace cf::kernels::detail {

struct Avx512 {
  using V = __m512;
  using M = __mmask16;
  static constexpr int W = 16;

  static V set1(float v) { return _mm512_set1_ps(v); }
  static V zero() { return _mm512_setzero_ps(); }
  static V add(V a, V b) { return _mm512_add_ps(a, b); }
  static V sub(V a, V b) { return _mm512_sub_ps(a, b); }
  static V mul(V a, V b) { return _mm512_mul_ps(a, b); }
  static V div(V a, V b) { return _mm512_div_ps(a, b); }
  static V sqrt(V a) { return _mm512_sqrt_ps(a); }
  static V fmadd(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }    // a b + c
  static V fmsub(V a, V b, V c) { return _mm512_fmsub_ps(a, b, c); }    // a b - c
  static V fnmadd(V a, V b, V c) { return _mm512_fnmadd_ps(a, b, c); }  // c - a b
  // min and max return b when either is NaN, as the AVX2 ones.
  static V min(V a, V b) { return _mm512_min_ps(a, b); }
  static V max(V a, V b) { return _mm512_max_ps(a, b); }
  static V round(V a) {
    return _mm512_roundscale_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  }
  static V bit_and(V a, V b) { return _mm512_and_ps(a, b); }
  static V bit_or(V a, V b) { return _mm512_or_ps(a, b); }
  static V andnot(V a, V b) { return _mm512_andnot_ps(a, b); }  // ~a & b

  static M lt(V a, V b) { return _mm512_cmp_ps_mask(a, b, _CMP_LT_OQ); }
  static M eq(V a, V b) { return _mm512_cmp_ps_mask(a, b, _CMP_EQ_OQ); }
  static M unordered(V a, V b) { return _mm512_cmp_ps_mask(a, b, _CMP_UNORD_Q); }
  static M mask_or(M a, M b) { return M(a | b); }
  static V select(M m, V a, V b) { return _mm512_mask_blend_ps(m, b, a); }  // m ? a : b
  static bool all(M m) { return m == 0xffff; }

  // Avx2::scale_by_pow2's single rounding of p 2^n, in one instruction.
  static V scale_by_pow2(V p, V n) { return _mm512_scalef_ps(p, n); }
  // As Avx2::split_exponent.
  static V split_exponent(V v, V& e) {
    const __m512i bits = _mm512_castps_si512(v);
    e = _mm512_add_ps(e, _mm512_cvtepi32_ps(_mm512_sub_epi32(_mm512_srli_epi32(bits, 23),
                                                             _mm512_set1_epi32(126))));
    return _mm512_castsi512_ps(_mm512_or_si512(_mm512_and_si512(bits, _mm512_set1_epi32(0x007fffff)),
                                               _mm512_set1_epi32(0x3f000000)));
  }

  // Sums of vectors in the 8-lane order (simd_math.h's sum_blocks): lo holds
  // the 8-lane accumulators a0 | a1, hi a2 | a3; returns (a0 + a1) | (a2 + a3),
  // whose hsum is ((a0 + a1) + (a2 + a3)) summed as Avx2::hsum does.
  static V sum_in_8_lane_order(V lo, V hi) {
    const V firsts = _mm512_shuffle_f32x4(lo, hi, _MM_SHUFFLE(1, 0, 1, 0));  // a0 | a2
    const V seconds = _mm512_shuffle_f32x4(lo, hi, _MM_SHUFFLE(3, 2, 3, 2));  // a1 | a3
    return _mm512_add_ps(firsts, seconds);
  }
  // The halves' sum (maximum), then Avx2's 8-lane reduction.
  static __m256 low(V v) { return _mm512_castps512_ps256(v); }
  static __m256 high(V v) { return _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)); }
  static float hsum(V v) { return Avx2::hsum(_mm256_add_ps(low(v), high(v))); }
  // As Avx2's: the two halves in turn, the second only when the block of k
  // floats reaches it, so the sum takes the AVX2 kernels' additions.
  using V8 = __m256;
  static V8 add_in_8_lane_order(V8 acc, V v, int64_t k) {
    acc = _mm256_add_ps(acc, low(v));
    return k > 8 ? _mm256_add_ps(acc, high(v)) : acc;
  }
  static float hsum8(V8 v) { return Avx2::hsum(v); }
  static float hmax(V v) { return Avx2::hmax(_mm256_max_ps(low(v), high(v))); }

  // The first n <= 16 floats of p; lanes past n hold `fill`. Nothing past n
  // is read.
  static V load(const float* p, int64_t n, float fill = 0.0f) {
    if (n == 16) return _mm512_loadu_ps(p);
    return _mm512_mask_loadu_ps(set1(fill), __mmask16((1u << n) - 1), p);
  }
  static void store(float* p, V v, int64_t n) {
    if (n == 16)
      _mm512_storeu_ps(p, v);
    else
      _mm512_mask_storeu_ps(p, __mmask16((1u << n) - 1), v);
  }
};

}  // namespace cf::kernels::detail
