// The two scalar pieces of the GEMM: the reference sgemm_scalar (plain loops,
// what every fast path is tested against) and the portable micro-kernel that
// the packed, blocked driver in gemm.cpp uses when no SIMD path is active.
#include "autograd/kernels/gemm.h"
#include "autograd/kernels/gemm_microkernel.h"

namespace cf::kernels {

void sgemm_scalar(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K,
                  float alpha, const float* A, int64_t lda, const float* B,
                  int64_t ldb, float beta, float* C, int64_t ldc, const float* D,
                  int64_t ldd) {
  if (D == nullptr) {
    D = C;
    ldd = ldc;
  }
  for (int64_t i = 0; i < M; ++i) {
    for (int64_t j = 0; j < N; ++j) {
      float acc = 0.0f;
      for (int64_t k = 0; k < K; ++k) {
        float a = trans_a ? A[k * lda + i] : A[i * lda + k];
        float b = trans_b ? B[j * ldb + k] : B[k * ldb + j];
        acc += a * b;
      }
      C[i * ldc + j] = beta == 0.0f ? alpha * acc : alpha * acc + beta * D[i * ldd + j];
    }
  }
}

namespace detail {

void gemm_microkernel_scalar(const MicroTile& t) {
  // Strips given as operands are packed first: the same values as the SIMD
  // kernels' packing while they compute.
  if (t.a_src)
    for (int64_t k = 0; k < t.kc; ++k)
      for (int i = 0; i < kGemmMR; ++i)
        t.a_pack[k * kGemmMR + i] = t.a_src[i * t.a_si + k * t.a_sk];
  if (t.b_src)
    for (int64_t k = 0; k < t.kc; ++k)
      for (int j = 0; j < kGemmNR; ++j) t.b_pack[k * kGemmNR + j] = t.b_src[k * t.b_sk + j];

  float acc[kGemmMR][kGemmNR] = {};
  const float* a = t.a_pack;
  const float* b = t.b_pack;
  for (int64_t k = 0; k < t.kc; ++k, a += kGemmMR, b += kGemmNR)
    for (int i = 0; i < kGemmMR; ++i)
      for (int j = 0; j < kGemmNR; ++j) acc[i][j] += a[i] * b[j];
  float* c = t.c;
  const float* d = t.d;
  for (int i = 0; i < t.m; ++i, c += t.ldc, d += t.ldd)
    for (int j = 0; j < t.n; ++j)
      c[j] = t.beta == 0.0f ? t.alpha * acc[i][j] : t.alpha * acc[i][j] + t.beta * d[j];
}

}  // namespace detail
}  // namespace cf::kernels
