// The AVX2 instance of pool_simd.h's max pool (this file is compiled with
// -mavx2 -mfma).
#include "autograd/kernels/pool_simd.h"
#include "autograd/kernels/simd_avx2.h"

namespace cf::kernels::detail {
CF_INSTANTIATE_POOL(Avx2);
}  // namespace cf::kernels::detail
