// Internal to the micro-kernels (gemm_avx2.cpp, gemm_avx512.cpp): where a
// micro-kernel takes its A and B values. A packed strip and the operand it
// was packed from give the same values, so the kernel's arithmetic, and C's
// bits, are the same whichever it reads.
//
//   PackedA   the packed MR x kc strip of A (gemm_microkernel.h's layout)
//   OperandA  A itself, X(i, k) = src[i * si + k * sk], writing the packed
//             strip as it goes
//   PackedB   the packed kc x NR strip of B
//   OperandB  B itself, op(B)(k, j) = src[k * sk + j], writing the packed
//             strip as it goes
//
// with_sources(tile, f) calls f(a, b) with the two sources the MicroTile
// asks for; with_rows(tile, f) also picks the rows an edge strip computes.
// Ops provides, for the instruction set's vector type: broadcast(const
// float*), store_first(float*, v) (its lane 0), load and store (aligned: a
// packed strip) and loadu (the operand).
#pragma once
#include <immintrin.h>

#include <cstdint>
#include <type_traits>

#include "autograd/kernels/gemm_microkernel.h"

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
  int64_t sk, tile_ahead;  // tile_ahead: from a row to its row in the next tile
  float* pack;
  int64_t k = 0;
  int turn = 0;

  OperandA(const float* src, int64_t si, int64_t sk_, float* a_pack)
      : sk(sk_), tile_ahead(MR * si), pack(a_pack) {
    for (int i = 0; i < MR; ++i) row[i] = src + i * si;
  }
  V broadcast(int i) {
    V v = Ops::broadcast(row[i] + k);
#if defined(__GNUC__)
    // The store must take lane 0 of v. Left to itself, GCC loads the value a
    // second time for it: 14 loads a k step where 8 do.
    asm("" : "+v"(v));
#endif
    Ops::store_first(pack + i, v);
    return v;
  }
  // One prefetch a step, the rows in turn, for the next tile's rows (MR
  // rows down) at this k: by the time the next tile starts, all its lines
  // are on their way, the first ones included. Prefetching this tile's own
  // rows 64 steps ahead, as before, left the start of every tile's rows,
  // and all of them when K <= 64, to demand misses: on Zen 5, with A and C
  // evicted from the caches between calls, 8192 x 32 x 128 rose from 96 to
  // 127-136 GFLOP/s, 8192 x 128 x 128 from 152 to 180 (AVX-512, 1 thread).
  // A prefetch past the operand's end is harmless: it never faults.
  void next() {
    _mm_prefetch(reinterpret_cast<const char*>(row[turn] + k + tile_ahead), _MM_HINT_T0);
    turn = turn == MR - 1 ? 0 : turn + 1;
    k += sk;
    pack += MR;
  }
};

// lo() and hi() give the two vectors of the current k's NR values.
template <int NR, class Ops>
struct PackedB {
  using V = decltype(Ops::load(nullptr));
  const float* b;
  V lo() const { return Ops::load(b); }
  V hi() const { return Ops::load(b + NR / 2); }
  void next() { b += NR; }
};

template <int NR, class Ops>
struct OperandB {
  using V = decltype(Ops::load(nullptr));
  const float* src;
  int64_t sk;
  float* pack;

  V lo() {
    const V v = Ops::loadu(src);
    Ops::store(pack, v);
    return v;
  }
  V hi() {
    const V v = Ops::loadu(src + NR / 2);
    Ops::store(pack + NR / 2, v);
    return v;
  }
  // B's rows are sk floats apart, a stride the hardware prefetchers do not
  // follow across pages (the packing copy in gemm.cpp asks the same way):
  // the first and last line of the row kAhead steps ahead.
  static constexpr int64_t kAhead = 16;
  void next() {
    const float* ahead = src + kAhead * sk;
    _mm_prefetch(reinterpret_cast<const char*>(ahead), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(ahead + NR - 1), _MM_HINT_T0);
    src += sk;
    pack += NR;
  }
};

template <int MR, int NR, class Ops, class F>
void with_sources(const MicroTile& t, F&& f) {
  const auto with_b = [&](auto a) {
    if (t.b_src)
      f(a, OperandB<NR, Ops>{t.b_src, t.b_sk, t.b_pack});
    else
      f(a, PackedB<NR, Ops>{t.b_pack});
  };
  if (t.a_src)
    with_b(OperandA<MR, Ops>(t.a_src, t.a_si, t.a_sk, t.a_pack));
  else
    with_b(PackedA<MR, Ops>{t.a_pack});
}

// Calls f(rows, a, b), where rows (a std::integral_constant) is how many of
// the tile's MR rows to compute: a third or two thirds of them for an edge
// strip of at most that many (whose sources are always packed), all of
// them otherwise, with the sources the MicroTile asks for.
template <int MR, int NR, class Ops, class F>
void with_rows(const MicroTile& t, F&& f) {
  static_assert(MR % 3 == 0, "edge strips compute a third or two thirds of MR");
  using PA = PackedA<MR, Ops>;
  using PB = PackedB<NR, Ops>;
  if (t.m <= MR / 3) return f(std::integral_constant<int, MR / 3>{}, PA{t.a_pack}, PB{t.b_pack});
  if (t.m <= 2 * MR / 3)
    return f(std::integral_constant<int, 2 * MR / 3>{}, PA{t.a_pack}, PB{t.b_pack});
  with_sources<MR, NR, Ops>(t, [&](auto a, auto b) { f(std::integral_constant<int, MR>{}, a, b); });
}

}  // namespace cf::kernels::detail
