// Internal to the micro-kernels (gemm_avx2.cpp, gemm_avx512.cpp): where a
// micro-kernel takes the A value of row i at its current k. Both sources give
// the same values, so the kernel's arithmetic, and C's bits, are the same.
//
//   PackedA   the packed MR x kc strip (gemm_microkernel.h's layout)
//   OperandA  the operand itself, X(i, k) = src[i * si + k * sk], writing the
//             packed strip as it goes (GemmPackingMicroKernel)
//
// Ops provides broadcast(const float*), which returns the vector, and
// store_first(float*, vector), which stores its lane 0.
#pragma once
#include <immintrin.h>

#include <cstdint>

namespace cf::kernels::detail {

template <int MR, class Ops>
struct PackedA {
  using V = decltype(Ops::broadcast(nullptr));
  const float* a;
  V broadcast(int i) const { return Ops::broadcast(a + i); }
  void next() { a += MR; }
};

template <int MR, class Ops>
struct OperandA {
  using V = decltype(Ops::broadcast(nullptr));
  const float* row[MR];  // X(i, 0)
  int64_t sk;
  float* pack;
  int64_t k = 0;
  int turn = 0;

  OperandA(const float* src, int64_t si, int64_t sk_, float* a_pack) : sk(sk_), pack(a_pack) {
    for (int i = 0; i < MR; ++i) row[i] = src + i * si;
  }
  V broadcast(int i) {
    const V v = Ops::broadcast(row[i] + k);
    Ops::store_first(pack + i, v);
    return v;
  }
  // One prefetch a step, the rows in turn, kAhead steps ahead: each row's
  // next lines arrive before the broadcasts reach them (64 measured best of
  // 32, 64 and 128 on a 4096 x 512 x 128 product; square ones do not mind).
  // A prefetch past the operand's end is harmless: it never faults.
  static constexpr int64_t kAhead = 64;
  void next() {
    _mm_prefetch(reinterpret_cast<const char*>(row[turn] + k + kAhead * sk), _MM_HINT_T0);
    turn = turn == MR - 1 ? 0 : turn + 1;
    k += sk;
    pack += MR;
  }
};

}  // namespace cf::kernels::detail
