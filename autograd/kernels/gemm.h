// SGEMM: the one matrix product every op and layer goes through.
//
//   C[M,N] = alpha * op(A)[M,K] . op(B)[K,N] + beta * D[M,N]      (D = C unless given)
//
// Row-major, with leading dimensions (the distance in floats between two rows
// as stored). op(X) is X or X^T as stored, chosen by trans_a / trans_b, so
// forward (A.B), and both backward products (A.B^T, A^T.B) run without
// materialising a transpose. beta == 0 means C is written, never read (it may
// hold garbage or NaN). A separate addend D (leading dimension ldd; 0 repeats
// one row) adds a bias where the product is stored, instead of in a pass of
// its own over C: a linear layer's y = x W^T + b is D = b, ldd = 0,
// beta = 1. It gives the bits of copying D into C first and calling with
// D = C. D is C (as if not given: ldd is then ignored) or does not overlap it.
//
// sgemm packs and cache-blocks the operands and runs an AVX2/FMA micro-kernel
// when the CPU has one (cpu.h), spread over the thread pool (threads.h). The
// K dimension is never split across threads, so the result is bit-identical
// for any thread count. Bad arguments (negative sizes, a leading dimension
// shorter than a row, null pointers with work to do) throw
// std::invalid_argument naming the function and the sizes. See
// docs/PERFORMANCE.md for the design and measured speed.
#pragma once
#include <cstdint>

#include "autograd/kernels/cpu.h"

namespace cf::kernels {

void sgemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K,
           float alpha, const float* A, int64_t lda, const float* B, int64_t ldb,
           float beta, float* C, int64_t ldc, const float* D = nullptr, int64_t ldd = 0);

// `batch` independent products; matrix i uses A + i*stride_a, B + i*stride_b,
// C + i*stride_c and (if given) D + i*stride_d. A stride of 0 broadcasts one
// matrix to every product (shared weights). The products' C blocks must not
// overlap: stacked (stride_c >= (M-1)*ldc + N) or side by side in the rows
// ((batch-1)*stride_c + N <= ldc, stride_c >= N), else std::invalid_argument.
void sgemm_batched(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K,
                   float alpha, const float* A, int64_t lda, int64_t stride_a,
                   const float* B, int64_t ldb, int64_t stride_b, float beta,
                   float* C, int64_t ldc, int64_t stride_c, int64_t batch,
                   const float* D = nullptr, int64_t ldd = 0, int64_t stride_d = 0);

// Floating-point operations (2 M N K per product, whatever alpha and beta)
// of every sgemm and sgemm_batched call since the program started, on any
// thread: the benchmarks divide it by time for a FLOP rate. Counting is one
// relaxed atomic add per call.
uint64_t gemm_flop_count();

// The micro-kernel, and so the tile, of one product on `path`. On a core
// that runs 512-bit operations as two 256-bit halves (Zen 4:
// CpuFeatures::avx512_halves) the 12 x 32 AVX-512 tile has no more FMA
// throughput than AVX2's 6 x 16, and it is faster only on a product that
// runs on one thread and whose rows of A (not transposed) and of C are not
// a multiple of 4 KiB apart: those 12 rows would share one L1 set, which
// has 8 ways. Other products there run the AVX2 tile (docs/PERFORMANCE.md,
// "The SGEMM's tile on Zen 4"). Both tiles give the same bits.
SimdPath gemm_tile_path(SimdPath path, bool avx512_halves, bool split_across_threads,
                        bool rows_4k_apart);

// The scalar reference twin: plain loops, summing over k in increasing order.
// Every fast path is tested against it.
void sgemm_scalar(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K,
                  float alpha, const float* A, int64_t lda, const float* B,
                  int64_t ldb, float beta, float* C, int64_t ldc,
                  const float* D = nullptr, int64_t ldd = 0);

}  // namespace cf::kernels
