// The AVX2 transpose: 8 x 8 blocks, each 8 loads of 8 floats, a transpose in
// registers and 8 stores; the rows and columns past the last full block go
// through the scalar twin. Compiled with -mavx2 -mfma; only called when
// cpu.h says the CPU has both.
#include <immintrin.h>

#include "autograd/kernels/simd_avx2.h"
#include "autograd/kernels/simd_kernels.h"
#include "autograd/kernels/transpose.h"

namespace cf::kernels::detail {

void transpose_avx2(const float* src, int64_t lds, float* dst, int64_t ldd, int64_t rows,
                    int64_t cols) {
  const int64_t rows8 = rows - rows % 8, cols8 = cols - cols % 8;
  for (int64_t jb = 0; jb < rows8; jb += 8)
    for (int64_t lb = 0; lb < cols8; lb += 8) {
      __m256 v[8];
      for (int l = 0; l < 8; ++l) v[l] = _mm256_loadu_ps(src + (lb + l) * lds + jb);
      transpose8x8(v);
      for (int j = 0; j < 8; ++j) _mm256_storeu_ps(dst + (jb + j) * ldd + lb, v[j]);
    }
  // The right edge (columns cols8..cols of every full row block), then the
  // bottom edge (rows rows8..rows, every column).
  transpose_scalar(src + cols8 * lds, lds, dst + cols8, ldd, rows8, cols - cols8);
  transpose_scalar(src + rows8, lds, dst + rows8 * ldd, ldd, rows - rows8, cols);
}

}  // namespace cf::kernels::detail
