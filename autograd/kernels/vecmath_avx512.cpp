// The AVX-512 instances of vecmath_simd.h's elementwise kernels (this file is
// compiled with the AVX-512 flags). They give the AVX2 instances' bits.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("fp-contract=off")
#endif
#include "autograd/kernels/simd_avx512.h"
#include "autograd/kernels/simd_kernels.h"
#include "autograd/kernels/vecmath_simd.h"

namespace cf::kernels::detail {
CF_INSTANTIATE_VECMATH(Avx512);
}  // namespace cf::kernels::detail
