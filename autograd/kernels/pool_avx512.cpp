// The AVX-512 instance of pool_simd.h's max pool (this file is compiled with
// the AVX-512 flags). It gives the AVX2 instance's bits: maxima are exact.
#include "autograd/kernels/pool_simd.h"
#include "autograd/kernels/simd_avx512.h"

namespace cf::kernels::detail {
CF_INSTANTIATE_POOL(Avx512);
}  // namespace cf::kernels::detail
