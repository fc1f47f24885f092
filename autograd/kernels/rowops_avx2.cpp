// The AVX2 instances of rowops_simd.h's row kernels (this file is compiled
// with -mavx2 -mfma).
#include "autograd/kernels/rowops_simd.h"
#include "autograd/kernels/simd_avx2.h"
#include "autograd/kernels/simd_kernels.h"

namespace cf::kernels::detail {
CF_INSTANTIATE_ROWOPS(Avx2);
}  // namespace cf::kernels::detail
