// The AVX-512 micro-kernel: a 12 x 32 tile of C held in 24 ZMM registers.
//
// Per step k it loads one row of the packed B strip (32 floats, two
// registers), broadcasts each of the 12 A values of column k, and issues 24
// FMAs: 14 loads for 24 FMAs, so the two 512-bit FMA pipes are the
// bottleneck. 24 accumulators cover the FMA latency (4 cycles x 2 pipes) three
// times over; with the 2 B registers and a broadcast, 27 of the 32 ZMM
// registers are live.
//
// Every element goes through the same operations, in the same order, as in
// the AVX2 kernel (one fused multiply-add per k, then alpha * acc, then
// + beta * D fused), so the two paths give the same bits: an AVX-512 machine
// reproduces an AVX2 machine's results. As on AVX2, one body serves the
// packed strips and the operands packed as they are read (gemm_sources.h).
// Compiled with the AVX-512 flags; only called when cpu.h says the CPU and
// OS support them.
#include <immintrin.h>

#include "autograd/kernels/gemm_sources.h"

namespace cf::kernels::detail {
namespace {

constexpr int MR = kGemmAvx512MR, NR = kGemmAvx512NR;

// C row (n <= 32 valid floats) = alpha * acc + beta * D row (the addend row
// d: C's own, or the caller's D), through masks that touch only the n valid
// columns.
inline void store_row(float* c, const float* d, __m512 lo, __m512 hi, __mmask16 mlo,
                      __mmask16 mhi, __m512 alpha, __m512 beta, bool read_d) {
  lo = _mm512_mul_ps(alpha, lo);
  hi = _mm512_mul_ps(alpha, hi);
  if (read_d) {
    lo = _mm512_fmadd_ps(beta, _mm512_maskz_loadu_ps(mlo, d), lo);
    hi = _mm512_fmadd_ps(beta, _mm512_maskz_loadu_ps(mhi, d + 16), hi);
  }
  _mm512_mask_storeu_ps(c, mlo, lo);
  _mm512_mask_storeu_ps(c + 16, mhi, hi);
}

inline __mmask16 first_lanes(int n) {
  return n >= 16 ? __mmask16(0xFFFF) : n <= 0 ? __mmask16(0) : __mmask16((1u << n) - 1);
}

struct Avx512Ops {
  static __m512 broadcast(const float* p) { return _mm512_set1_ps(*p); }
  static void store_first(float* p, __m512 v) { *p = _mm512_cvtss_f32(v); }
  static __m512 load(const float* p) { return _mm512_load_ps(p); }
  static __m512 loadu(const float* p) { return _mm512_loadu_ps(p); }
  static void store(float* p, __m512 v) { _mm512_store_ps(p, v); }
};

// R of the tile's 12 rows are computed (R >= t.m), as on AVX2: an edge
// strip of 4 or 8 rows costs a third or two thirds of a full one; and V of
// its two 16-column vectors: an edge strip of at most 16 columns computes
// one, half the FMAs.
template <int R, int V, class A, class B>
void microkernel(const MicroTile& t, A a, B b) {
  // Only the R rows in use are zeroed, in an unrolled loop: zeroing all MR,
  // GCC 12 also cleared a 1.5 KiB copy of the arrays on the stack (two `rep
  // stos`, never read), about 100 cycles a call, a fifth of a tile at k = 32
  // (docs/PERFORMANCE.md).
  __m512 lo[MR], hi[MR];
#pragma GCC unroll 12
  for (int i = 0; i < R; ++i) lo[i] = hi[i] = _mm512_setzero_ps();

  float* const c = t.c;
  const int64_t ldc = t.ldc;
  // Pull the C tile towards L1 while the k loop runs; it is needed at the end.
  for (int i = 0; i < t.m; ++i) {
    _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc + NR - 1), _MM_HINT_T0);
  }

  const int64_t kc = t.kc;
  for (int64_t k = 0; k < kc; ++k) {
    const __m512 b0 = b.lo();
    const __m512 b1 = V == 2 ? b.hi() : b0;
    // Fully unrolled, so the 24 accumulators stay in registers.
#pragma GCC unroll 12
    for (int i = 0; i < R; ++i) {
      const __m512 ai = a.broadcast(i);
      lo[i] = _mm512_fmadd_ps(ai, b0, lo[i]);
      if constexpr (V == 2) hi[i] = _mm512_fmadd_ps(ai, b1, hi[i]);
    }
    a.next();
    b.next();
  }

  const __m512 va = _mm512_set1_ps(t.alpha), vb = _mm512_set1_ps(t.beta);
  const __mmask16 mlo = first_lanes(t.n), mhi = first_lanes(t.n - 16);
  // Rows past m are stored with empty masks (to row 0, which exists), not
  // skipped: with no branch on m, GCC keeps the accumulators in registers
  // instead of storing all of them to memory after the k loop.
#pragma GCC unroll 12
  for (int i = 0; i < R; ++i) {
    const bool valid = i < t.m;
    const __mmask16 rows = valid ? 0xFFFF : 0;
    const int64_t r = valid ? i : 0;
    store_row(c + r * ldc, t.d + r * t.ldd, lo[i], hi[i], mlo & rows, mhi & rows, va, vb,
              t.beta != 0.0f);
  }
}

}  // namespace

void gemm_microkernel_avx512(const MicroTile& t) {
  with_rows<MR, NR, Avx512Ops>(t, [&](auto rows, auto a, auto b) {
    constexpr int R = decltype(rows)::value;
    if (t.n <= NR / 2) return microkernel<R, 1>(t, a, b);
    microkernel<R, 2>(t, a, b);
  });
}

}  // namespace cf::kernels::detail
