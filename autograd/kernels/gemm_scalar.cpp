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

void gemm_microkernel_scalar(int64_t kc, const float* a, const float* b, float* c,
                             int64_t ldc, int m, int n, float alpha, float beta,
                             const float* d, int64_t ldd) {
  float acc[kGemmMR][kGemmNR] = {};
  for (int64_t k = 0; k < kc; ++k, a += kGemmMR, b += kGemmNR)
    for (int i = 0; i < kGemmMR; ++i)
      for (int j = 0; j < kGemmNR; ++j) acc[i][j] += a[i] * b[j];
  for (int i = 0; i < m; ++i, c += ldc, d += ldd)
    for (int j = 0; j < n; ++j)
      c[j] = beta == 0.0f ? alpha * acc[i][j] : alpha * acc[i][j] + beta * d[j];
}

}  // namespace detail
}  // namespace cf::kernels
