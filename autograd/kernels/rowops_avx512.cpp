// The AVX-512 instances of rowops_simd.h's row kernels (this file is compiled
// with the AVX-512 flags). They give the AVX2 instances' bits.
#include "autograd/kernels/rowops_simd.h"
#include "autograd/kernels/simd_avx512.h"
#include "autograd/kernels/simd_kernels.h"

namespace cf::kernels::detail {
CF_INSTANTIATE_ROWOPS(Avx512);
}  // namespace cf::kernels::detail
