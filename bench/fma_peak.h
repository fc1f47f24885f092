// What this machine's cores can compute, measured rather than looked up, for
// the benchmarks' "% of peak" figures (bench_kernels, bench_train).
//
//   measure_ghz()             the core clock, turbo included
//   fma_peak_gflops(threads)  single-precision FMA throughput of `threads`
//                             threads at once, at the active SIMD path's width
//
// The second is the ceiling any GEMM can reach. It is measured, not derived
// from the clock, because the width does not say the rate: Zen 4 runs a
// 512-bit FMA as two 256-bit halves, so its AVX-512 peak equals its AVX2
// peak, while Zen 5 and Intel's server cores double it; and two vCPUs that
// are SMT siblings share one core's pipes.
#pragma once
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <vector>

#include "autograd/kernels/cpu.h"
#include "autograd/kernels/threads.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define CF_BENCH_X86 1
#endif

namespace cf::bench {

inline double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// A chain of dependent integer adds runs at exactly one add per cycle on
// every x86 core of the last 20 years, so adds / seconds is the clock the
// core runs at right now. Elsewhere, a documented 4.4 GHz.
inline double measure_ghz() {
#ifdef CF_BENCH_X86
  double best = 0;
  for (int rep = 0; rep < 5; ++rep) {
    uint64_t x = 0;
    const int64_t loops = 200000;
    const auto t0 = std::chrono::steady_clock::now();
    for (int64_t i = 0; i < loops; ++i)
      __asm__ volatile(".rept 1000\n\taddq $1, %0\n\t.endr" : "+r"(x));
    best = std::max(best, loops * 1000.0 / seconds_since(t0) * 1e-9);
  }
  return best;
#else
  return 4.4;
#endif
}

#ifdef CF_BENCH_X86
// 10 independent chains of FMAs (enough to cover a 4-cycle latency on two
// pipes), kept in registers by the empty asm so the loop is not collapsed.
// Returns FLOP per second.
#define CF_BENCH_FMA_LOOP(VEC, SET1, FMADD, LANES)                                         \
  VEC acc[10];                                                                             \
  for (int i = 0; i < 10; ++i) acc[i] = SET1(seed + float(i));                             \
  const VEC b = SET1(0.999999f), c = SET1(1e-7f);                                          \
  const auto t0 = std::chrono::steady_clock::now();                                        \
  for (int64_t it = 0; it < iters; ++it) {                                                 \
    for (int i = 0; i < 10; ++i) acc[i] = FMADD(acc[i], b, c);                             \
    __asm__ volatile("" : "+v"(acc[0]), "+v"(acc[1]), "+v"(acc[2]), "+v"(acc[3]),          \
                     "+v"(acc[4]), "+v"(acc[5]), "+v"(acc[6]), "+v"(acc[7]), "+v"(acc[8]), \
                     "+v"(acc[9]));                                                        \
  }                                                                                        \
  return double(iters) * 10 * 2 * LANES / seconds_since(t0);

__attribute__((target("avx2,fma"))) inline double fma_rate_avx2(int64_t iters, float seed) {
  CF_BENCH_FMA_LOOP(__m256, _mm256_set1_ps, _mm256_fmadd_ps, 8)
}
__attribute__((target("avx512f"))) inline double fma_rate_avx512(int64_t iters, float seed) {
  CF_BENCH_FMA_LOOP(__m512, _mm512_set1_ps, _mm512_fmadd_ps, 16)
}
#undef CF_BENCH_FMA_LOOP
#endif

// GFLOP/s of `threads` threads each running the FMA loop at the active
// path's width (AVX-512, else AVX2), summed; 0 where there is no FMA path.
// Sets the pool to `threads` threads and leaves it so.
inline double fma_peak_gflops(int threads) {
#ifdef CF_BENCH_X86
  namespace ck = cf::kernels;
  const bool avx512 = ck::simd_path() == ck::SimdPath::Avx512;
  if (!avx512 && ck::simd_path() != ck::SimdPath::Avx2) return 0.0;
  const int64_t iters = avx512 ? 10000000 : 20000000;
  std::vector<double> rate(static_cast<size_t>(threads));
  ck::set_num_threads(threads);
  ck::parallel_for(threads, 1, [&](int64_t t, int64_t) {
    rate[static_cast<size_t>(t)] =
        avx512 ? fma_rate_avx512(iters, float(t)) : fma_rate_avx2(iters, float(t));
  });
  double total = 0;
  for (double r : rate) total += r * 1e-9;
  return total;
#else
  (void)threads;
  return 0.0;
#endif
}

}  // namespace cf::bench
