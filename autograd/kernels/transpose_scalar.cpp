// The transpose's scalar twin (transpose.h): portable C++, the reference the
// AVX2 body is tested against, and the body on CPUs without AVX2.
#include <algorithm>

#include "autograd/kernels/transpose.h"

namespace cf::kernels {

// Tiles of 16 x 16, so that the source lines a tile reads (16 floats of each
// of 16 rows) are still in L1 when the next column of the tile needs them.
// Full tiles have constant bounds, which the compiler unrolls.
void transpose_scalar(const float* src, int64_t lds, float* dst, int64_t ldd, int64_t rows,
                      int64_t cols) {
  constexpr int64_t kTile = 16;
  for (int64_t jb = 0; jb < rows; jb += kTile)
    for (int64_t lb = 0; lb < cols; lb += kTile) {
      const float* s = src + jb + lb * lds;
      float* d = dst + jb * ldd + lb;
      if (jb + kTile <= rows && lb + kTile <= cols) {
        for (int64_t j = 0; j < kTile; ++j)
          for (int64_t l = 0; l < kTile; ++l) d[j * ldd + l] = s[j + l * lds];
      } else {
        for (int64_t j = 0; j < std::min(kTile, rows - jb); ++j)
          for (int64_t l = 0; l < std::min(kTile, cols - lb); ++l) d[j * ldd + l] = s[j + l * lds];
      }
    }
}

}  // namespace cf::kernels
