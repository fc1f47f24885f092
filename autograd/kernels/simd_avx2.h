// Internal to the *_avx2.cpp files (compiled with -mavx2 -mfma): the AVX2
// primitives that simd_math.h's vector math and block loops are written in,
// 8 floats per vector.
#pragma once
#include <immintrin.h>

#include <cstdint>

namespace cf::kernels::detail {

struct Avx2 {
  using V = __m256;
  using M = __m256;  // a lane mask: all bits set or clear, as the compares give
  static constexpr int W = 8;

  static V set1(float v) { return _mm256_set1_ps(v); }
  static V zero() { return _mm256_setzero_ps(); }
  static V add(V a, V b) { return _mm256_add_ps(a, b); }
  static V sub(V a, V b) { return _mm256_sub_ps(a, b); }
  static V mul(V a, V b) { return _mm256_mul_ps(a, b); }
  static V div(V a, V b) { return _mm256_div_ps(a, b); }
  static V sqrt(V a) { return _mm256_sqrt_ps(a); }
  static V fmadd(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }    // a b + c
  static V fmsub(V a, V b, V c) { return _mm256_fmsub_ps(a, b, c); }    // a b - c
  static V fnmadd(V a, V b, V c) { return _mm256_fnmadd_ps(a, b, c); }  // c - a b
  // min and max return b when either is NaN.
  static V min(V a, V b) { return _mm256_min_ps(a, b); }
  static V max(V a, V b) { return _mm256_max_ps(a, b); }
  static V round(V a) { return _mm256_round_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
  static V bit_and(V a, V b) { return _mm256_and_ps(a, b); }
  static V bit_or(V a, V b) { return _mm256_or_ps(a, b); }
  static V andnot(V a, V b) { return _mm256_andnot_ps(a, b); }  // ~a & b

  static M lt(V a, V b) { return _mm256_cmp_ps(a, b, _CMP_LT_OQ); }
  static M eq(V a, V b) { return _mm256_cmp_ps(a, b, _CMP_EQ_OQ); }
  static M unordered(V a, V b) { return _mm256_cmp_ps(a, b, _CMP_UNORD_Q); }
  static M mask_or(M a, M b) { return _mm256_or_ps(a, b); }
  static V select(M m, V a, V b) { return _mm256_blendv_ps(b, a, m); }  // m ? a : b
  static bool all(M m) { return _mm256_movemask_ps(m) == 0xff; }

  // p 2^n for whole n in [-150, 128], as two factors 2^(n/2), each a normal
  // float, so that the product rounds once, into the denormals if it must.
  static V scale_by_pow2(V p, V n) {
    const __m256i ni = _mm256_cvtps_epi32(n);
    const __m256i n1 = _mm256_srai_epi32(ni, 1);
    const __m256i n2 = _mm256_sub_epi32(ni, n1);
    const __m256i bias = _mm256_set1_epi32(127);
    const V s1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n1, bias), 23));
    const V s2 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n2, bias), 23));
    return _mm256_mul_ps(_mm256_mul_ps(p, s1), s2);
  }
  // For normal v = 2^k m with m in [0.5, 1): adds k to e, returns m.
  static V split_exponent(V v, V& e) {
    const __m256i bits = _mm256_castps_si256(v);
    e = _mm256_add_ps(e, _mm256_cvtepi32_ps(_mm256_sub_epi32(_mm256_srli_epi32(bits, 23),
                                                             _mm256_set1_epi32(126))));
    return _mm256_castsi256_ps(_mm256_or_si256(_mm256_and_si256(bits, _mm256_set1_epi32(0x007fffff)),
                                               _mm256_set1_epi32(0x3f000000)));
  }

  static float hsum(V v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
  }
  // A running sum of blocks in the 8-lane order with a single accumulator
  // V8: acc + v, whatever the block's length k (padding lanes are zero).
  using V8 = __m256;
  static V8 add_in_8_lane_order(V8 acc, V v, int64_t) { return _mm256_add_ps(acc, v); }
  static float hsum8(V8 v) { return hsum(v); }
  static float hmax(V v) {
    __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    s = _mm_max_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
  }

  // Mask with the first n (0..8) lanes set.
  static __m256i first_lanes(int64_t n) {
    alignas(32) static const int32_t table[16] = {-1, -1, -1, -1, -1, -1, -1, -1,
                                                  0,  0,  0,  0,  0,  0,  0,  0};
    return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(table + 8 - n));
  }
  // The first n <= 8 floats of p; lanes past n hold `fill` (0 by default;
  // -inf where a maximum or an exp must ignore them). Nothing past n is read.
  static V load(const float* p, int64_t n, float fill = 0.0f) {
    if (n == 8) return _mm256_loadu_ps(p);
    const __m256i m = first_lanes(n);
    return _mm256_blendv_ps(set1(fill), _mm256_maskload_ps(p, m), _mm256_castsi256_ps(m));
  }
  static void store(float* p, V v, int64_t n) {
    if (n == 8)
      _mm256_storeu_ps(p, v);
    else
      _mm256_maskstore_ps(p, first_lanes(n), v);
  }
};

// Transposes 8 rows of 8 floats in registers: afterwards r[k] holds element
// k of every input row, i.e. one column. (The SGEMM's packer and the
// transpose kernel use it.)
inline void transpose8x8(__m256 r[8]) {
  __m256 t[8], u[8];
  for (int i = 0; i < 8; i += 2) {
    t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
    t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
  }
  for (int i = 0; i < 8; i += 4) {
    u[i] = _mm256_shuffle_ps(t[i], t[i + 2], 0x44);
    u[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], 0xEE);
    u[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0x44);
    u[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0xEE);
  }
  for (int i = 0; i < 4; ++i) {
    r[i] = _mm256_permute2f128_ps(u[i], u[i + 4], 0x20);
    r[i + 4] = _mm256_permute2f128_ps(u[i], u[i + 4], 0x31);
  }
}

}  // namespace cf::kernels::detail
