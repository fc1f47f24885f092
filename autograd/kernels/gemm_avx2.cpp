// The AVX2 + FMA micro-kernel: a 6 x 16 tile of C held in 12 YMM registers.
//
// Per step k it loads one row of the packed B strip (16 floats, two
// registers), broadcasts each of the 6 A values of column k, and issues 12
// FMAs. That is 8 loads for 12 FMAs: with two FMA pipes and two or three load
// ports the FMAs are the bottleneck, which is what "reaching peak" means.
// One body serves the packed strips and the operands themselves, packed as
// they are read (gemm_sources.h). Also here: the
// AVX2 packer for strips whose rows run along k. Compiled with -mavx2 -mfma;
// only called when cpu.h says the CPU has both.
#include <immintrin.h>

#include "autograd/kernels/gemm_sources.h"
#include "autograd/kernels/simd_avx2.h"

namespace cf::kernels::detail {
namespace {

// Lane masks for the first `n` of 8 floats: load 8 ints starting at
// kMask + 8 - n.
alignas(64) const int32_t kMask[16] = {-1, -1, -1, -1, -1, -1, -1, -1,
                                       0,  0,  0,  0,  0,  0,  0,  0};

inline __m256i first_lanes(int n) {
  return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(kMask + 8 - n));
}

// C row (n <= 16 valid floats) = alpha * acc + beta * D row (the addend
// row d: C's own, or the caller's D).
inline void store_row(float* c, const float* d, __m256 lo, __m256 hi, int n, __m256 alpha,
                      __m256 beta, bool read_d) {
  lo = _mm256_mul_ps(alpha, lo);
  hi = _mm256_mul_ps(alpha, hi);
  if (n == kGemmNR) {
    if (read_d) {
      lo = _mm256_fmadd_ps(beta, _mm256_loadu_ps(d), lo);
      hi = _mm256_fmadd_ps(beta, _mm256_loadu_ps(d + 8), hi);
    }
    _mm256_storeu_ps(c, lo);
    _mm256_storeu_ps(c + 8, hi);
    return;
  }
  // Edge tile: masked loads/stores touch only the n valid columns.
  const __m256i mlo = first_lanes(n < 8 ? n : 8);
  const __m256i mhi = first_lanes(n > 8 ? n - 8 : 0);
  if (read_d) {
    lo = _mm256_fmadd_ps(beta, _mm256_maskload_ps(d, mlo), lo);
    hi = _mm256_fmadd_ps(beta, _mm256_maskload_ps(d + 8, mhi), hi);
  }
  _mm256_maskstore_ps(c, mlo, lo);
  _mm256_maskstore_ps(c + 8, mhi, hi);
}

struct Avx2Ops {
  static __m256 broadcast(const float* p) { return _mm256_broadcast_ss(p); }
  static void store_first(float* p, __m256 v) { _mm_store_ss(p, _mm256_castps256_ps128(v)); }
  static __m256 load(const float* p) { return _mm256_load_ps(p); }
  static __m256 loadu(const float* p) { return _mm256_loadu_ps(p); }
  static void store(float* p, __m256 v) { _mm256_store_ps(p, v); }
};

// Row i of the tile at one k: lo (and, when V == 2, hi) += A(i, k) * the B row.
template <int i, int V, class A>
inline void fma_row(A& a, __m256 b0, __m256 b1, __m256& lo, __m256& hi) {
  const __m256 ai = a.broadcast(i);
  lo = _mm256_fmadd_ps(ai, b0, lo);
  if constexpr (V == 2) hi = _mm256_fmadd_ps(ai, b1, hi);
}

// R of the tile's 6 rows are computed (R >= t.m): an edge strip of 2 or 4
// rows does a third or two thirds of a full strip's work, not all of it.
// Likewise V of its two 8-column vectors: an edge strip of at most 8
// columns (N's last) computes one (its hi half stays 0 and is not stored).
// The rows and columns it computes get the same operations as in a full
// tile. (Named accumulators rather than an array: GCC kept an array in
// memory.)
template <int R, int V, class A, class B>
void microkernel(const MicroTile& t, A a, B b) {
  static_assert(kGemmMR == 6 && kGemmNR == 16, "the register tile below is 6 x 16");
  __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps();
  __m256 c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps();
  __m256 c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps();
  __m256 c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps();
  __m256 c40 = _mm256_setzero_ps(), c41 = _mm256_setzero_ps();
  __m256 c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps();

  float* const c = t.c;
  const int64_t ldc = t.ldc;
  // Pull the C tile towards L1 while the k loop runs; it is needed at the end.
  for (int i = 0; i < t.m; ++i) {
    _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc + kGemmNR - 1), _MM_HINT_T0);
  }

  const int64_t kc = t.kc;
#pragma GCC unroll 4
  for (int64_t k = 0; k < kc; ++k) {
    const __m256 b0 = b.lo();
    const __m256 b1 = V == 2 ? b.hi() : b0;
    fma_row<0, V>(a, b0, b1, c00, c01);
    fma_row<1, V>(a, b0, b1, c10, c11);
    if constexpr (R > 2) fma_row<2, V>(a, b0, b1, c20, c21);
    if constexpr (R > 3) fma_row<3, V>(a, b0, b1, c30, c31);
    if constexpr (R > 4) fma_row<4, V>(a, b0, b1, c40, c41);
    if constexpr (R > 5) fma_row<5, V>(a, b0, b1, c50, c51);
    a.next();
    b.next();
  }

  const __m256 va = _mm256_set1_ps(t.alpha), vb = _mm256_set1_ps(t.beta);
  const bool read_d = t.beta != 0.0f;
  const float* const d = t.d;
  const int64_t ldd = t.ldd;
  const int m = t.m, n = t.n;
  store_row(c, d, c00, c01, n, va, vb, read_d);
  if (m > 1) store_row(c + 1 * ldc, d + 1 * ldd, c10, c11, n, va, vb, read_d);
  if (m > 2) store_row(c + 2 * ldc, d + 2 * ldd, c20, c21, n, va, vb, read_d);
  if (m > 3) store_row(c + 3 * ldc, d + 3 * ldd, c30, c31, n, va, vb, read_d);
  if (m > 4) store_row(c + 4 * ldc, d + 4 * ldd, c40, c41, n, va, vb, read_d);
  if (m > 5) store_row(c + 5 * ldc, d + 5 * ldd, c50, c51, n, va, vb, read_d);
}

}  // namespace

void gemm_microkernel_avx2(const MicroTile& t) {
  with_rows<kGemmMR, kGemmNR, Avx2Ops>(t, [&](auto rows, auto a, auto b) {
    constexpr int R = decltype(rows)::value;
    // At most 8 columns: one vector. Its 6 accumulators are bound by the
    // FMA's 4-cycle latency, 4 cycles a k step against the full strip's 6.
    if (t.n <= kGemmNR / 2) return microkernel<R, 1>(t, a, b);
    microkernel<R, 2>(t, a, b);
  });
}

namespace {

// The first n (1..8) floats of v to dst, by plain 4-, 2- and 1-float stores:
// a masked store (vmaskmovps) costs about ten times as much on AMD's cores,
// which made packing the 6-row A strips 4 % of a 1024^3 product on Zen 4.
inline void store_first(float* dst, __m256 v, int n) {
  if (n == 8) return _mm256_storeu_ps(dst, v);
  __m128 part = _mm256_castps256_ps128(v);
  if (n >= 4) {
    _mm_storeu_ps(dst, part);
    part = _mm256_extractf128_ps(v, 1);
    dst += 4;
    n -= 4;
  }
  if (n >= 2) {
    _mm_storel_pi(reinterpret_cast<__m64*>(dst), part);
    part = _mm_movehl_ps(part, part);
    dst += 2;
    n -= 2;
  }
  if (n == 1) _mm_store_ss(dst, part);
}

}  // namespace

template <int w>
void pack_strip_rows_avx2(const float* src, int64_t si, int r, int64_t kc, float* dst) {
  const int64_t kc8 = kc - kc % 8;
  // When the strip's rows are contiguous (si == kc: a weight read transposed,
  // whose K fits one block), the next strip's rows follow them in memory.
  // Each 8 x 8 block then asks for the next 64 floats of those into L2, so
  // that a weight coming from memory streams in while this strip is
  // transposed; the Columnformer's per-column weights do, on every call
  // (docs/PERFORMANCE.md, "Packing"). A hint past the operand never faults.
  const float* next = src + w * si;
  const bool ahead = si == kc;
  for (int i0 = 0; i0 < w; i0 += 8) {
    // Rows i0 .. i0+7 of the strip; those past r (padding) read as zero.
    const int rows = w - i0 < 8 ? w - i0 : 8;
    for (int64_t k = 0; k < kc8; k += 8) {
      __m256 v[8];
      if (ahead) {
        for (int i = 0; i < 64; i += 16)
          _mm_prefetch(reinterpret_cast<const char*>(next + i), _MM_HINT_T1);
        next += 64;
      }
      for (int i = 0; i < 8; ++i)
        v[i] = i0 + i < r ? _mm256_loadu_ps(src + (i0 + i) * si + k) : _mm256_setzero_ps();
      transpose8x8(v);
      for (int j = 0; j < 8; ++j) store_first(dst + (k + j) * w + i0, v[j], rows);
    }
  }
  for (int64_t k = kc8; k < kc; ++k)
    for (int i = 0; i < w; ++i) dst[k * w + i] = i < r ? src[i * si + k] : 0.0f;
}

template void pack_strip_rows_avx2<kGemmMR>(const float*, int64_t, int, int64_t, float*);
template void pack_strip_rows_avx2<kGemmNR>(const float*, int64_t, int, int64_t, float*);
template void pack_strip_rows_avx2<kGemmAvx512MR>(const float*, int64_t, int, int64_t, float*);
template void pack_strip_rows_avx2<kGemmAvx512NR>(const float*, int64_t, int, int64_t, float*);

}  // namespace cf::kernels::detail
