// SGEMM driver: argument checks, dispatch, packing, cache blocking, threads.
//
// The structure is the GotoBLAS / BLIS one. For C += op(A) . op(B):
//
//   for jc in N, step NC:                 B panel  kc x nc  -> lives in L3
//     for pc in K, step KC:               (never split across threads)
//       pack op(B)[pc:pc+kc, jc:jc+nc]    into NR-wide strips (shared)
//       for ic in M, step MC:             A block  mc x kc  -> lives in L2
//         pack op(A)[ic:ic+mc, pc:pc+kc]  into MR-tall strips (per thread)
//         for jr in nc, step NR:          B strip  kc x NR  -> stays in L1
//           for ir in mc, step MR:
//             micro-kernel: C[ir:ir+MR, jr:jr+NR] (+)= A strip . B strip
//
// Packing copies each operand into the exact order the micro-kernel reads
// it, so the inner loop only streams contiguous memory. The packing routine
// takes the operand through two strides, which is how the four layouts
// (A.B, A.B^T, A^T.B, A^T.B^T) are handled without materialising transposes.
// Where it can, the micro-kernel packs a strip itself, from the operand, the
// first time it reads it (gemm_microkernel.h): each A strip on the block's
// first B strip; and, when B is not transposed and one thread reads a strip
// (one thread runs the product, or the threads split it by B strips), each
// B strip on the first A strip.
//
// Threads split the ic loop (and, when M has few blocks, the jr loop too),
// or, when B is about as large as A, the jr loop alone (split_by_b_strips);
// each C element is still computed by one micro-kernel call per pc step, in
// the same order, so results are bit-identical for any thread count.
#include <algorithm>
#include <atomic>
#include <cstring>
#include <stdexcept>
#include <string>

#include "autograd/kernels/gemm.h"
#include "autograd/kernels/gemm_microkernel.h"
#include "autograd/kernels/simd_kernels.h"

namespace cf::kernels {
namespace {

// Cache blocking. KC x NR floats of B (32 KiB at KC = 512) stay in L1 across
// a whole A block; MC x KC floats of A (~340 KiB) stay in L2; the KC x NC
// B panel (~8 MiB) in L3. With the AVX-512 tile's NR = 32 the B strip is
// 64 KiB and streams from L2, which its two loads per 24 FMAs allow. KC = 512
// rather than 256 halves the passes over C for K >= 512 and measured 2-4 %
// faster on both paths (docs/PERFORMANCE.md). These are upper bounds: the
// actual blocks are balanced so that the last one is not a sliver.
constexpr int64_t kMC = 168;
constexpr int64_t kKC = 512;
constexpr int64_t kNC = 4080;

// How many rows ahead the B copy prefetches (8, 16, 32 and 64 measured
// alike).
constexpr int64_t kPackAhead = 16;

// Asks for the cache line at p; a hint, so nothing where the compiler has
// no builtin for it. A line past the operand's end is harmless: it never
// faults.
inline void prefetch(const float* p) {
#if defined(__GNUC__) || defined(__clang__)
  __builtin_prefetch(p);
#else
  (void)p;
#endif
}

// Below this many multiply-adds a product runs on the calling thread only:
// waking the pool would cost more than it saves.
constexpr int64_t kSerialMacs = int64_t(128) * 128 * 64;

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }
int64_t round_up(int64_t a, int64_t b) { return ceil_div(a, b) * b; }

// Split `total` into equal blocks of at most `max_block`, rounded up to a
// multiple of `unit`.
int64_t balanced_block(int64_t total, int64_t max_block, int64_t unit) {
  return round_up(ceil_div(total, ceil_div(total, max_block)), unit);
}

std::atomic<uint64_t> g_flops{0};

void count_flops(int64_t M, int64_t N, int64_t K, int64_t batch) {
  g_flops.fetch_add(uint64_t(2 * M * N * K * batch), std::memory_order_relaxed);
}

// Packing allocates once per thread rather than once per call.
thread_local detail::ScratchBuffer t_pack_a;
thread_local detail::ScratchBuffer t_pack_b;

// The instruction-set specific pieces: the micro-kernel, and optionally
// faster packers for strips whose rows are contiguous along k, one for the
// A strips' width (MR) and one for the B strips' (NR).
struct GemmKernels {
  detail::GemmMicroKernel micro;
  detail::PackStripRows pack_a_rows, pack_b_rows;  // may be null: use the portable loop
};

// Pack a `rows` x kc slice of an operand into strips `w` rows wide: strip s
// holds, for k = 0..kc-1, the w values X(s*w + 0..w-1, k) consecutively, zero
// padded past `rows`. X(i, k) = src[i * si + k * sk]; the strides encode
// both which operand it is and whether it is transposed:
//   op(A)(i, k):  si = trans_a ? 1 : lda,   sk = trans_a ? lda : 1
//   op(B)(k, j):  si = trans_b ? ldb : 1,   sk = trans_b ? 1 : ldb   (i = j)
// w is a template parameter so the per-k copies below compile to a few
// vector moves rather than loops; pack_rows, if not null, is the faster
// packer for this w.
template <int w>
void pack_strips(detail::PackStripRows pack_rows, const float* src, int64_t si, int64_t sk,
                 int64_t rows, int64_t kc, int64_t first_strip, int64_t end_strip,
                 float* dst) {
  for (int64_t s = first_strip; s < end_strip; ++s) {
    const float* x = src + s * w * si;
    float* d = dst + s * w * kc;
    const int r = int(std::min<int64_t>(w, rows - s * w));
    if (si == 1 && r == w) {
      // The strip's values for one k are contiguous in the source: a copy.
      // Its rows are sk floats apart (4 KiB for B of a 1024-square
      // product), a stride the hardware prefetchers do not follow across
      // pages, so each row is asked for kPackAhead rows early. It pays when
      // memory is busy (docs/PERFORMANCE.md); memcpy keeps the copy in
      // vector moves, which the loop with a prefetch in it was not.
      for (int64_t k = 0; k < kc; ++k) {
        prefetch(x + (k + kPackAhead) * sk);
        std::memcpy(d + k * w, x + k * sk, w * sizeof(float));
      }
    } else if (sk == 1 && pack_rows) {
      pack_rows(x, si, r, kc, d);
    } else {
      for (int64_t k = 0; k < kc; ++k) {
        for (int i = 0; i < r; ++i) d[k * w + i] = x[i * si + k * sk];
        for (int i = r; i < w; ++i) d[k * w + i] = 0.0f;
      }
    }
  }
}

struct Gemm {
  bool trans_a, trans_b;
  int64_t M, N, K;
  float alpha;
  const float* A;
  int64_t lda;
  const float* B;
  int64_t ldb;
  float beta;
  float* C;
  int64_t ldc;
  const float* D;  // the addend: C itself, or the caller's (a bias: ldd = 0)
  int64_t ldd;
};

// Runs fn over the chunks of [0, n), on the pool or inline on this thread.
template <class F>
void for_chunks(bool parallel, int64_t n, int64_t grain, F&& fn) {
  if (parallel) {
    parallel_for(n, grain, fn);
  } else {
    for (int64_t b = 0; b < n; b += grain) fn(b, std::min(n, b + grain));
  }
}

// C = beta * D, the whole answer when alpha == 0 or K == 0.
void scale_c(const Gemm& g) {
  for (int64_t i = 0; i < g.M; ++i) {
    float* c = g.C + i * g.ldc;
    const float* d = g.D + i * g.ldd;
    for (int64_t j = 0; j < g.N; ++j) c[j] = g.beta == 0.0f ? 0.0f : g.beta * d[j];
  }
}

// How the threads share a product. By A blocks, they share one packed B
// panel, which must be complete before any of them starts: a pass over B
// that no FMA hides. By B strips, each thread owns a group of strips and runs
// every A block against it, so it can pack its strips inside the
// micro-kernel, as one thread does; but every thread then packs every A
// block. That pays when B is not much smaller than A (M <= 4 N: square
// products, and the weight gradients dW = dY^T X, whose K is the batch's
// tokens), provided the strips divide evenly among the threads
// (docs/PERFORMANCE.md, "Splitting a product across threads").
bool split_by_b_strips(const Gemm& g, int64_t NR, int64_t threads) {
  return ceil_div(g.N, NR) % threads == 0 && g.M <= 4 * g.N;
}

// MR x NR is the micro-kernel's tile.
template <int MR, int NR>
void gemm_blocked(const Gemm& g, const GemmKernels& kern, bool parallel) {
  const int64_t a_si = g.trans_a ? 1 : g.lda, a_sk = g.trans_a ? g.lda : 1;
  const int64_t b_sj = g.trans_b ? g.ldb : 1, b_sk = g.trans_b ? 1 : g.ldb;

  const int64_t threads = parallel ? num_threads() : 1;
  const int64_t nc_max = balanced_block(g.N, kNC, NR);
  const int64_t kc_max = balanced_block(g.K, kKC, 1);
  // As many A blocks as MC needs, rounded up to a multiple of the thread
  // count so the threads finish together (M = 1024, N = 128 on 2 threads:
  // 8 blocks of 132 rows, not 7 of 150). How the work is split never changes a
  // result (see the top of this file), so it may depend on the threads.
  const int64_t mc_max =
      round_up(ceil_div(g.M, round_up(ceil_div(g.M, kMC), threads)), MR);
  const int64_t m_blocks = ceil_div(g.M, mc_max);
  float* packed_b = t_pack_b.get(size_t(kc_max * nc_max));
  const bool split_n = parallel && split_by_b_strips(g, NR, threads);
  // On one thread the first A strip packs the B strips it reads (their rows
  // must be contiguous along j: B not transposed; and the strip must be a
  // full MR rows, M >= MR); so does each task that owns its B strips. When
  // the threads share the B panel, every thread needs all of it from the
  // start, so it is packed first.
  const bool b_in_kernel = (!parallel || split_n) && b_sj == 1 && g.M >= MR;

  for (int64_t jc = 0; jc < g.N; jc += nc_max) {
    const int64_t nc = std::min(nc_max, g.N - jc);
    const int64_t n_strips = ceil_div(nc, NR);
    // Shared panel with few A blocks: also split the B strips into groups so
    // that every thread gets work; each task then packs its A block itself
    // (cheap: the repacked block is small exactly when M is small). Owned
    // strips: one group per thread (more would pack every A block more
    // often).
    const int64_t groups = !parallel ? 1
                           : split_n ? ceil_div(n_strips, ceil_div(n_strips, threads))
                                     : std::min(n_strips, ceil_div(2 * threads, m_blocks));
    const int64_t strips_per_group = ceil_div(n_strips, groups);

    for (int64_t pc = 0; pc < g.K; pc += kc_max) {
      const int64_t kc = std::min(kc_max, g.K - pc);
      // The first K block adds the caller's beta * D; later ones accumulate
      // onto C.
      const float beta = pc == 0 ? g.beta : 1.0f;

      const float* b_src = g.B + pc * b_sk + jc * b_sj;
      // Packs the strips [s0, s1) that the micro-kernel will not: all of
      // them, or, when it packs the full ones, a short last strip
      // (zero-padded).
      const auto pack_b = [&](int64_t s0, int64_t s1) {
        if (b_in_kernel) s0 = std::max(s0, nc % NR != 0 ? n_strips - 1 : s1);
        if (s0 < s1) pack_strips<NR>(kern.pack_b_rows, b_src, b_sj, b_sk, nc, kc, s0, s1, packed_b);
      };
      // A few strips per task, so that a narrow B (N = 128: eight strips of
      // 16, four of 32) is still packed by every thread.
      if (!split_n) for_chunks(parallel, n_strips, 2, pack_b);

      const int64_t tasks = split_n ? groups : m_blocks * groups;
      for_chunks(parallel, tasks, 1, [&](int64_t t0, int64_t t1) {
        for (int64_t t = t0; t < t1; ++t) {
          // Owned strips: group t against every A block; shared panel: A
          // block t / groups against group t % groups.
          const int64_t group = split_n ? t : t % groups;
          const int64_t blk_begin = split_n ? 0 : t / groups;
          const int64_t blk_end = split_n ? m_blocks : blk_begin + 1;
          const int64_t s_begin = group * strips_per_group;
          const int64_t s_end = std::min(n_strips, s_begin + strips_per_group);
          if (split_n) pack_b(s_begin, s_end);
          float* packed_a = t_pack_a.get(size_t(mc_max * kc_max));
          for (int64_t blk = blk_begin; blk < blk_end; ++blk) {
            const int64_t ic = blk * mc_max;
            const int64_t mc = std::min(mc_max, g.M - ic);
            const float* a_block = g.A + ic * a_si + pc * a_sk;
            for (int64_t s = s_begin; s < s_end; ++s) {
              const int64_t jr = s * NR;
              const int n = int(std::min<int64_t>(NR, nc - jr));
              // What the strip's calls share; each call sets its A strip, C
              // tile and sources below.
              detail::MicroTile tile{kc,
                                     nullptr, nullptr, a_si, a_sk,           // A
                                     packed_b + s * NR * kc, nullptr, b_sk,  // B
                                     nullptr, g.ldc, 0, n,                   // C
                                     g.alpha, beta, nullptr, pc == 0 ? g.ldd : g.ldc};
              for (int64_t ir = 0; ir < mc; ir += MR) {
                tile.m = int(std::min<int64_t>(MR, mc - ir));
                tile.a_pack = packed_a + ir * kc;
                tile.c = g.C + (ic + ir) * g.ldc + jc + jr;
                tile.d = pc == 0 ? g.D + (ic + ir) * g.ldd + jc + jr : tile.c;
                // The block's first B strip packs the A strips it reads: a
                // full one inside the micro-kernel, a short one (zero-padded)
                // first.
                tile.a_src = s == s_begin && tile.m == MR ? a_block + ir * a_si : nullptr;
                if (s == s_begin && tile.m < MR)
                  pack_strips<MR>(kern.pack_a_rows, a_block, a_si, a_sk, mc, kc, ir / MR,
                                  ir / MR + 1, packed_a);
                // Likewise the first A strip, for a full B strip not yet packed.
                tile.b_src = b_in_kernel && ic == 0 && ir == 0 && n == NR ? b_src + jr : nullptr;
                kern.micro(tile);
              }
            }
          }
        }
      });
    }
  }
}

// The blocked product with the micro-kernel and tile that gemm_tile_path
// picks on the active path. 1024 floats are 4 KiB, the span of the L1's set
// index on Zen 4 (64 sets of 64 bytes): rows of A (not transposed, read in
// place by the first B strip) or of C that far apart all fall in one set.
void gemm_on_active_path(const Gemm& g, bool parallel) {
  [[maybe_unused]] const SimdPath path =
      gemm_tile_path(simd_path(), cpu_features().avx512_halves, parallel,
                     (!g.trans_a && g.lda % 1024 == 0) || g.ldc % 1024 == 0);
#if defined(CF_HAVE_AVX512) && defined(CF_HAVE_AVX2)
  if (path == SimdPath::Avx512)
    return gemm_blocked<detail::kGemmAvx512MR, detail::kGemmAvx512NR>(
        g,
        {detail::gemm_microkernel_avx512,
         detail::pack_strip_rows_avx2<detail::kGemmAvx512MR>,
         detail::pack_strip_rows_avx2<detail::kGemmAvx512NR>},
        parallel);
#endif
#ifdef CF_HAVE_AVX2
  if (path != SimdPath::Scalar)
    return gemm_blocked<detail::kGemmMR, detail::kGemmNR>(
        g,
        {detail::gemm_microkernel_avx2, detail::pack_strip_rows_avx2<detail::kGemmMR>,
         detail::pack_strip_rows_avx2<detail::kGemmNR>},
        parallel);
#endif
  gemm_blocked<detail::kGemmMR, detail::kGemmNR>(
      g, {detail::gemm_microkernel_scalar, nullptr, nullptr}, parallel);
}

std::string dims(const Gemm& g) {
  return "M=" + std::to_string(g.M) + " N=" + std::to_string(g.N) +
         " K=" + std::to_string(g.K) + " lda=" + std::to_string(g.lda) +
         " ldb=" + std::to_string(g.ldb) + " ldc=" + std::to_string(g.ldc) +
         " trans_a=" + std::to_string(g.trans_a) + " trans_b=" + std::to_string(g.trans_b) +
         (g.D != g.C ? " ldd=" + std::to_string(g.ldd) : "");
}

void check(const Gemm& g, const char* fn) {
  auto fail = [&](const char* what) {
    throw std::invalid_argument(std::string(fn) + ": " + what + " (" + dims(g) + ")");
  };
  if (g.M < 0 || g.N < 0 || g.K < 0) fail("negative size");
  // Stored A is M x K (K x M if transposed); likewise B is K x N (N x K).
  const int64_t a_cols = g.trans_a ? g.M : g.K, a_rows = g.trans_a ? g.K : g.M;
  const int64_t b_cols = g.trans_b ? g.K : g.N, b_rows = g.trans_b ? g.N : g.K;
  if (a_rows > 1 && g.lda < a_cols) fail("lda smaller than the row length of A as stored");
  if (b_rows > 1 && g.ldb < b_cols) fail("ldb smaller than the row length of B as stored");
  if (g.M > 1 && g.ldc < g.N) fail("ldc smaller than N");
  if (g.M > 0 && g.N > 0 && g.C == nullptr) fail("C is null");
  if (g.M > 0 && g.N > 0 && g.K > 0 && g.alpha != 0.0f && (g.A == nullptr || g.B == nullptr))
    fail("A or B is null");
  if (g.D != g.C && g.M > 1 && g.ldd != 0 && g.ldd < g.N)
    fail("ldd smaller than N (0 repeats one row of D)");
}

// One product, validated. `parallel` false keeps it on this thread.
void run(const Gemm& g, bool parallel) {
  if (g.M == 0 || g.N == 0) return;
  if (g.K == 0 || g.alpha == 0.0f) return scale_c(g);
  // A product inside a parallel_for chunk (nested) runs on its thread alone.
  parallel = parallel && g.M * g.N * g.K >= kSerialMacs && num_threads() > 1 &&
             !in_parallel_region();
  gemm_on_active_path(g, parallel);
}

}  // namespace

void sgemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha,
           const float* A, int64_t lda, const float* B, int64_t ldb, float beta, float* C,
           int64_t ldc, const float* D, int64_t ldd) {
  if (D == C) D = nullptr;  // C's own rows, whatever ldd says
  const Gemm g{trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc,
               D ? D : C, D ? ldd : ldc};
  check(g, "sgemm");
  count_flops(M, N, K, 1);
  run(g, true);
}

void sgemm_batched(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha,
                   const float* A, int64_t lda, int64_t stride_a, const float* B,
                   int64_t ldb, int64_t stride_b, float beta, float* C, int64_t ldc,
                   int64_t stride_c, int64_t batch, const float* D, int64_t ldd,
                   int64_t stride_d) {
  if (D == C) D = nullptr;  // each product's own C, whatever ldd and stride_d say
  const Gemm g{trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc,
               D ? D : C, D ? ldd : ldc};
  check(g, "sgemm_batched");
  const auto fail = [&](const std::string& what) {
    throw std::invalid_argument("sgemm_batched: " + what + " (batch=" + std::to_string(batch) +
                                " stride_a=" + std::to_string(stride_a) +
                                " stride_b=" + std::to_string(stride_b) +
                                " stride_c=" + std::to_string(stride_c) +
                                " stride_d=" + std::to_string(stride_d) + ", " + dims(g) + ")");
  };
  if (batch < 0) fail("negative batch");
  if (stride_a < 0 || stride_b < 0 || stride_c < 0 || stride_d < 0) fail("negative stride");
  if (batch > 1 && stride_c == 0 && M > 0 && N > 0)
    fail("stride_c == 0 would make every product write the same C");
  // The products' C blocks must not overlap (threads would race on them):
  // stacked (each starts after the last row of the one before) or side by
  // side within the rows (per-position weights, nn/untied.cpp).
  const bool stacked = stride_c >= (M - 1) * ldc + N;
  const bool side_by_side = stride_c >= N && (batch - 1) * stride_c + N <= ldc;
  if (batch > 1 && M > 0 && N > 0 && !stacked && !side_by_side)
    fail("the products' C blocks overlap (need stride_c >= (M-1)*ldc + N, or stride_c >= N "
         "and (batch-1)*stride_c + N <= ldc)");
  count_flops(M, N, K, batch);

  auto item = [&](int64_t i, bool parallel) {
    Gemm gi = g;
    gi.A = A + i * stride_a;
    gi.B = B + i * stride_b;
    gi.C = C + i * stride_c;
    gi.D = D ? D + i * stride_d : gi.C;
    run(gi, parallel);
  };
  // Many small products: one product per task, each on one thread, grouped
  // so that a task has at least ~kSerialMacs of work. Large products: one
  // after the other, each spread over the pool.
  const int64_t macs = std::max<int64_t>(1, M * N * K);
  if (batch > 1 && macs < int64_t(256) * 256 * 256) {
    const int64_t grain = std::max<int64_t>(1, kSerialMacs / macs);
    parallel_for(batch, grain, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) item(i, false);
    });
  } else {
    for (int64_t i = 0; i < batch; ++i) item(i, true);
  }
}

SimdPath gemm_tile_path(SimdPath path, bool avx512_halves, bool split_across_threads,
                        bool rows_4k_apart) {
  const bool avx2_tile = avx512_halves && (split_across_threads || rows_4k_apart);
  return path == SimdPath::Avx512 && avx2_tile ? SimdPath::Avx2 : path;
}

uint64_t gemm_flop_count() { return g_flops.load(std::memory_order_relaxed); }

}  // namespace cf::kernels
