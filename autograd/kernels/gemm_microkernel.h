// Internal to the GEMM: the micro-kernel contract shared by gemm.cpp (which
// packs and blocks) and the per-instruction-set kernels.
//
// A micro-kernel computes one MR x NR tile of C from two packed strips (the
// tile size is the kernel's: 6 x 16 for the scalar and AVX2 ones, 12 x 32
// for AVX-512):
//
//   C[0:m, 0:n] = alpha * (a . b) + beta * D[0:m, 0:n]     (beta == 0: D not read)
//
// where row i of the addend D starts at d + i * ldd: C itself (d = c,
// ldd = ldc), or the caller's D of gemm.h (a bias: ldd = 0).
//
// `a` is an MR x kc strip of op(A) stored column by column (for each k, MR
// consecutive values), `b` a kc x NR strip of op(B) stored row by row (for each
// k, NR consecutive values); both are zero-padded to full MR / NR, and either
// may be packed by the call itself (MicroTile below). `b` is 64-byte aligned
// (its strips are whole lines); `a` is not in general (a strip starts MR kc
// floats after the last), which is fine: it is only read by broadcasts.
// m <= MR and n <= NR say how much of the tile is really in C: an edge tile
// computes the rows up to m, rounded up to a third of MR, and all NR columns
// or, when n <= NR / 2, the first half, in registers, and stores only the
// valid part, so every element of C goes through exactly the same arithmetic
// wherever it sits. Each element accumulates over k in increasing order with
// no other reassociation, so the result does not depend on how the caller
// splits M or N.
#pragma once
#include <cstdint>

namespace cf::kernels::detail {

// 6 x 16: 12 accumulator registers of 8 floats, plus 2 for the B row and 1 for
// the broadcast A value, out of the 16 YMM registers. Per k step it issues 12
// FMAs against 8 loads, so two FMA pipes stay busy (FMA-bound, not load-bound).
constexpr int kGemmMR = 6;
constexpr int kGemmNR = 16;
// 12 x 32 for AVX-512: 24 accumulators of 16 floats in the 32 ZMM registers
// (gemm_avx512.cpp).
constexpr int kGemmAvx512MR = 12;
constexpr int kGemmAvx512NR = 32;

// One micro-kernel call. Each strip is read from its packed buffer, or, when
// its source is set, from the operand itself, and written to the packed
// buffer as it is read, for the calls that use the strip after this one:
//
//   A  a_src set: X(i, k) = a_src[i * a_si + k * a_sk], a full MR rows (m == MR)
//   B  b_src set: op(B)(k, j) = b_src[k * b_sk + j], a full NR columns (n == NR)
//      and rows (m == MR): B not transposed, so each k's NR values are contiguous
//
// so a tile with m < MR (an edge strip, which the kernels compute with fewer
// rows) always reads both strips packed.
//
// The arithmetic does not depend on where the values come from, so C gets
// the same bits either way. Reading the operand inside the micro-kernel
// hides its reads (often from L3 or memory, and, for B, one cache line per
// k) behind the FMAs instead of paying for them in a packing pass.
struct MicroTile {
  int64_t kc;
  float* a_pack;
  const float* a_src = nullptr;
  int64_t a_si = 0, a_sk = 0;
  float* b_pack;
  const float* b_src = nullptr;
  int64_t b_sk = 0;
  float* c;
  int64_t ldc;
  int m, n;
  float alpha, beta;
  const float* d;
  int64_t ldd;
};

using GemmMicroKernel = void (*)(const MicroTile& t);

// Packing helper for the one layout plain loops handle badly: a strip whose
// w source rows are each contiguous along k (X(i, k) = src[i * si + k]; this
// is A when not transposed, and B when transposed). Writes, for each k, the
// r valid values then zeros up to w, exactly as the portable loop in gemm.cpp
// does; it just moves 8 x 8 blocks through registers instead of one float at
// a time. One instance per strip width w (the tiles' MR and NR): with w
// known, the stores of each k's w values compile to fixed moves; a run-time
// w packed attention's 64 x 32 key blocks about 1.5x slower.
using PackStripRows = void (*)(const float* src, int64_t si, int r, int64_t kc, float* dst);
#ifdef CF_HAVE_AVX2
template <int w>
void pack_strip_rows_avx2(const float* src, int64_t si, int r, int64_t kc, float* dst);
#endif

// Portable C++ (the compiler may auto-vectorise it for the baseline ISA).
void gemm_microkernel_scalar(const MicroTile& t);
#ifdef CF_HAVE_AVX2
void gemm_microkernel_avx2(const MicroTile& t);
#endif
#ifdef CF_HAVE_AVX512
void gemm_microkernel_avx512(const MicroTile& t);
#endif

}  // namespace cf::kernels::detail
