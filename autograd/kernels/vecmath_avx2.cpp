// The AVX2 instances of vecmath_simd.h's elementwise kernels, and the AVX2
// block sum (which has no AVX-512 twin: it is bound by memory, and its order
// is fixed by vecmath.h). The sum does the same float operations as its
// scalar twin in the same order, so they agree bit for bit.
//
// That agreement needs the compiler not to fuse a multiply and an add into
// an FMA on its own. The build asks for -ffp-contract=off, but GCC's default
// for GNU C++ is "fast", so say it here too, where it matters.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("fp-contract=off")
#endif
#include "autograd/kernels/simd_avx2.h"
#include "autograd/kernels/simd_kernels.h"
#include "autograd/kernels/vecmath_simd.h"

namespace cf::kernels::detail {

CF_INSTANTIATE_VECMATH(Avx2);

float sum_block_avx2(const float* x, int64_t n) {
  __m256 p0 = _mm256_setzero_ps(), p1 = p0, p2 = p0, p3 = p0;
  const int64_t n32 = n - n % 32;
  for (int64_t i = 0; i < n32; i += 32) {
    p0 = _mm256_add_ps(p0, _mm256_loadu_ps(x + i));
    p1 = _mm256_add_ps(p1, _mm256_loadu_ps(x + i + 8));
    p2 = _mm256_add_ps(p2, _mm256_loadu_ps(x + i + 16));
    p3 = _mm256_add_ps(p3, _mm256_loadu_ps(x + i + 24));
  }
  // (p0 + p1) + (p2 + p3), then lanes j + 4, j + 2, j + 1 (Avx2::hsum): the
  // order of sum_block_scalar.
  float s = Avx2::hsum(_mm256_add_ps(_mm256_add_ps(p0, p1), _mm256_add_ps(p2, p3)));
  for (int64_t i = n32; i < n; ++i) s += x[i];
  return s;
}

}  // namespace cf::kernels::detail
