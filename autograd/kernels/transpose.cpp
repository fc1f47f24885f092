// The transpose's public entry: argument checks and the active path's body.
#include "autograd/kernels/transpose.h"

#include <stdexcept>
#include <string>

#include "autograd/kernels/simd_kernels.h"

namespace cf::kernels {

void transpose(const float* src, int64_t lds, float* dst, int64_t ldd, int64_t rows,
               int64_t cols) {
  // src holds cols rows of `rows` floats, dst rows rows of `cols`.
  if (rows < 0 || cols < 0 || (cols > 1 && lds < rows) || (rows > 1 && ldd < cols))
    throw std::invalid_argument(
        "transpose: rows = " + std::to_string(rows) + ", cols = " + std::to_string(cols) +
        ", lds = " + std::to_string(lds) + ", ldd = " + std::to_string(ldd) +
        "; need sizes >= 0, lds >= rows and ldd >= cols");
  if (rows == 0 || cols == 0) return;
  detail::check_not_null("transpose", rows * cols, {{"src", src}, {"dst", dst}});
  // In place, a transpose would read values it has already overwritten.
  if (detail::overlaps(src, (cols - 1) * lds + rows, dst, (rows - 1) * ldd + cols))
    throw std::invalid_argument("transpose: src and dst overlap (rows = " + std::to_string(rows) +
                                ", cols = " + std::to_string(cols) + "); give dst its own buffer");
  CF_AVX2_OR(transpose_scalar, detail::transpose_avx2)(src, lds, dst, ldd, rows, cols);
}

}  // namespace cf::kernels
