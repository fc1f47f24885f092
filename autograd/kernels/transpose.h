// Matrix transpose: the data movement behind the permute and transpose ops
// (autograd/ops/shape.cpp), whose inner two axes swap places. A serial
// kernel: the op runs one call per outer index, over the thread pool.
//
//   dst[j * ldd + l] = src[l * lds + j]      for j < rows, l < cols
//
// that is, dst (rows x cols, leading dimension ldd) is the transpose of src
// (cols x rows, leading dimension lds). A copy, so every path gives the same
// bits; the AVX2 one moves 8 x 8 blocks through registers, where the scalar
// twin moves one float at a time. The two must not overlap. Negative sizes,
// or a leading dimension shorter than a row, throw std::invalid_argument.
#pragma once
#include <cstdint>

namespace cf::kernels {

void transpose(const float* src, int64_t lds, float* dst, int64_t ldd, int64_t rows,
               int64_t cols);

// The scalar twin, what the AVX2 path is tested against.
void transpose_scalar(const float* src, int64_t lds, float* dst, int64_t ldd, int64_t rows,
                      int64_t cols);

}  // namespace cf::kernels
