// Kernel benchmark: SGEMM GFLOP/s (against the active path's FMA peak and, when the
// build found it, OpenBLAS in the same run) and the row kernels' SIMD/scalar
// speed-up. Plain main, prints tables; see docs/PERFORMANCE.md for how to run.
//
//   bench_kernels            everything
//   bench_kernels gemm       only the SGEMM tables
//   bench_kernels rowops     only the row-kernel tables
//   bench_kernels fusion     only the table of what fusing two passes could save
#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "autograd/buffer_pool.h"
#include "autograd/kernels/cpu.h"
#include "autograd/kernels/gemm.h"
#include "autograd/kernels/pool.h"
#include "autograd/kernels/rowops.h"
#include "autograd/kernels/threads.h"
#include "autograd/kernels/transpose.h"
#include "bench/fma_peak.h"

#ifdef CF_BENCH_OPENBLAS
#include <cblas.h>
extern "C" void openblas_set_num_threads(int);
extern "C" char* openblas_get_corename(void);
#endif

namespace ck = cf::kernels;
using Clock = std::chrono::steady_clock;
using cf::bench::seconds_since;

namespace {

// How many calls of fn last at least ~20 ms together, so the clock's
// resolution does not matter; after a warm-up call (page faults, pool
// start-up, packing buffers).
int calls_for_20ms(const std::function<void()>& fn) {
  fn();
  int calls = 1;
  for (;;) {
    const auto t0 = Clock::now();
    for (int i = 0; i < calls; ++i) fn();
    if (seconds_since(t0) > 0.02) return calls;
    calls *= 2;
  }
}

double seconds_per_call(const std::function<void()>& fn, int calls) {
  const auto t0 = Clock::now();
  for (int i = 0; i < calls; ++i) fn();
  return seconds_since(t0) / calls;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// Median seconds of one call of fn over `reps` samples (the SGEMM table's
// measure when OpenBLAS is absent).
[[maybe_unused]] double median_seconds(const std::function<void()>& fn, int reps = 5) {
  const int calls = calls_for_20ms(fn);
  std::vector<double> t;
  for (int r = 0; r < reps; ++r) t.push_back(seconds_per_call(fn, calls));
  return median(t);
}

// Median seconds of one call of each fn, their samples taken in turn so
// that all see the same machine load (the ratios are what matter). Each
// sample of the first follows `settle_first` seconds of untimed calls of it.
std::vector<double> median_alternating(const std::vector<std::function<void()>>& fns,
                                       double settle_first = 0, int reps = 7) {
  std::vector<int> calls;
  for (const auto& fn : fns) calls.push_back(calls_for_20ms(fn));
  std::vector<std::vector<double>> samples(fns.size());
  for (int r = 0; r < reps; ++r) {
    for (const auto t0 = Clock::now(); seconds_since(t0) < settle_first;) fns[0]();
    for (size_t i = 0; i < fns.size(); ++i) samples[i].push_back(seconds_per_call(fns[i], calls[i]));
  }
  std::vector<double> medians;
  for (const auto& s : samples) medians.push_back(median(s));
  return medians;
}

// Every buffer comes from the library's own allocator, as a Tensor's storage
// does (autograd/buffer_pool.h): 64-byte aligned, and on Linux from 2 MiB up
// on transparent huge pages. Kernels measured on other memory are not the
// kernels the models run: std::vector's 16-byte alignment split every other
// 32-byte load across two cache lines and cost layer norm's backward a
// quarter of its speed here, and the 1024-row tables' 4 MiB arrays on 4 KiB
// pages miss the TLB once per row and array. Zeroed, as a vector would be;
// a copy copies.
class Buffer {
 public:
  explicit Buffer(size_t n) : n_(n), p_(cf::pooled_buffer(static_cast<int64_t>(n))) {
    std::fill(begin(), end(), 0.0f);
  }
  Buffer(const Buffer& other) : n_(other.n_), p_(cf::pooled_buffer(static_cast<int64_t>(n_))) {
    std::copy(other.begin(), other.end(), begin());
  }
  Buffer& operator=(const Buffer&) = delete;
  float* data() { return p_.get(); }
  const float* data() const { return p_.get(); }
  float* begin() { return data(); }
  float* end() { return data() + n_; }
  const float* begin() const { return data(); }
  const float* end() const { return data() + n_; }
  float& operator[](size_t i) { return data()[i]; }
  const float& operator[](size_t i) const { return data()[i]; }

 private:
  size_t n_;
  std::shared_ptr<float> p_;
};

Buffer random_vector(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  Buffer v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

// One GEMM shape: C[M,N] = A[M,K] . B[K,N], `batch` times (strided); with
// trans_b, B is stored N x K and read transposed, as a linear layer's
// y = x W^T reads its weight (and so is packed through a transpose).
struct Shape {
  std::string name;
  int64_t M, K, N, batch;
  bool trans_b = false;
};

void bench_gemm(double peak_gflops_per_core) {
  std::vector<Shape> shapes;
  for (int64_t s : {64, 128, 256, 512, 1024, 2048})
    shapes.push_back({"square " + std::to_string(s), s, s, s, 1});
  for (auto [M, K, N] : {std::array<int64_t, 3>{4096, 128, 384}, {4096, 128, 128},
                         {4096, 128, 512}, {4096, 512, 128}})
    shapes.push_back({"M,K,N=" + std::to_string(M) + "," + std::to_string(K) + "," +
                          std::to_string(N),
                      M, K, N, 1});
  shapes.push_back({"M,K,N=4096,128,384 B^T", 4096, 128, 384, 1, true});
  shapes.push_back({"batched 256x(64,32,64)", 64, 32, 64, 256});

#ifdef CF_BENCH_OPENBLAS
  std::printf("OpenBLAS core: %s (OPENBLAS_CORETYPE=Haswell selects its AVX2 kernel, SkylakeX its AVX-512 one)\n\n",
              openblas_get_corename());
#else
  std::printf("OpenBLAS not found at build time: its comparison is skipped\n\n");
#endif
  std::printf("%-24s %3s %9s %7s %10s %8s\n", "SGEMM shape", "thr", "cf GF/s", "%peak",
              "BLAS GF/s", "cf/BLAS");
  for (int threads : {1, 2}) {
    ck::set_num_threads(threads);
#ifdef CF_BENCH_OPENBLAS
    openblas_set_num_threads(threads);
#endif
    const double peak = peak_gflops_per_core * threads;
    for (const Shape& s : shapes) {
      const auto A = random_vector(size_t(s.M * s.K * s.batch), 1);
      const auto B = random_vector(size_t(s.K * s.N * s.batch), 2);
      Buffer C(size_t(s.M * s.N * s.batch));
      const double flop = 2.0 * s.M * s.N * s.K * s.batch;
      const int64_t ldb = s.trans_b ? s.K : s.N;
      const auto cf_call = [&] {
        ck::sgemm_batched(false, s.trans_b, s.M, s.N, s.K, 1.0f, A.data(), s.K, s.M * s.K,
                          B.data(), ldb, s.K * s.N, 0.0f, C.data(), s.N, s.M * s.N, s.batch);
      };
#ifdef CF_BENCH_OPENBLAS
      // No strided-batched call in the OpenBLAS C interface we can rely on:
      // one cblas_sgemm per product. Samples alternate with cf's. After a
      // call, OpenBLAS's workers spin for 2^28 cycles (its THREAD_TIMEOUT,
      // ~0.1 s here) before they sleep; on two cores they would take cf's,
      // so with threads cf's samples start after 0.2 s of untimed calls.
      // (An idle pause instead cost cf's first calls their speed.)
      const auto blas_call = [&] {
        for (int64_t i = 0; i < s.batch; ++i)
          cblas_sgemm(CblasRowMajor, CblasNoTrans, s.trans_b ? CblasTrans : CblasNoTrans,
                      int(s.M), int(s.N), int(s.K), 1.0f, A.data() + i * s.M * s.K, int(s.K),
                      B.data() + i * s.K * s.N, int(ldb), 0.0f, C.data() + i * s.M * s.N,
                      int(s.N));
      };
      const auto t = median_alternating({cf_call, blas_call}, threads > 1 ? 0.2 : 0.0);
      const double gf = flop / t[0] * 1e-9, gf_blas = flop / t[1] * 1e-9;
      std::printf("%-24s %3d %9.1f %6.1f%% %10.1f %7.2fx\n", s.name.c_str(), threads, gf,
                  100 * gf / peak, gf_blas, gf / gf_blas);
#else
      const double gf = flop / median_seconds(cf_call) * 1e-9;
      std::printf("%-24s %3d %9.1f %6.1f%% %10s %8s\n", s.name.c_str(), threads, gf,
                  100 * gf / peak, "-", "-");
#endif
    }
  }
  std::printf("\n");
}

// Row kernels at one thread: the active SIMD path against CF_SIMD=scalar, on
// rows x cols floats. 64 x 1024 (256 KiB per array) stays in L2, where the
// kernels are compute-bound; 1024 x 1024 (4 MiB per array) streams from L3 /
// memory, where the simpler kernels become bandwidth-bound on either path.
// 512 x 128 is L2-resident too, in the models' short rows (a token's
// features; an attention block's scores are shorter still), where the
// per-row steps weigh more. The pool takes each 1024 floats as a plane.
void bench_rowops(int64_t rows, int64_t cols) {
  ck::set_num_threads(1);
  const int64_t n = rows * cols;
  const auto x = random_vector(size_t(n), 3);
  const auto dy = random_vector(size_t(n), 4);
  const auto w = random_vector(size_t(cols), 5);
  const auto b = random_vector(size_t(cols), 6);
  // GELU's inputs in [-1, 1) all take erf's short polynomial; pre-activations
  // spread wider (a linear layer's outputs), and then most vectors also need
  // the tail's exp and division. Its rows are measured on both.
  Buffer x4(x);
  for (float& v : x4) v *= 4;
  Buffer y(static_cast<size_t>(n)), dx(y), mean(static_cast<size_t>(rows)),
      rstd(mean), dw(static_cast<size_t>(cols)), db(dw);
  ck::softmax_forward(x.data(), y.data(), rows, cols);  // a valid softmax output for backward
  const ck::PoolWindow plane{32, 32, 3, 2, 1, 16, 16};  // 1024 floats as a plane
  const int64_t planes = n / 1024;
  std::vector<int32_t> arg(size_t(planes * plane.Ho * plane.Wo));

  struct Kernel {
    const char* name;
    std::function<void()> run;
  };
  const std::vector<Kernel> kernels = {
      {"softmax fwd", [&] { ck::softmax_forward(x.data(), dx.data(), rows, cols); }},
      {"softmax bwd", [&] { ck::softmax_backward(y.data(), dy.data(), dx.data(), rows, cols); }},
      {"log_softmax fwd", [&] { ck::log_softmax_forward(x.data(), dx.data(), rows, cols); }},
      {"log_softmax bwd",
       [&] { ck::log_softmax_backward(x.data(), dy.data(), dx.data(), rows, cols); }},
      {"layernorm fwd",
       [&] {
         ck::layernorm_forward(x.data(), w.data(), b.data(), dx.data(), mean.data(),
                               rstd.data(), rows, cols, 1e-5f);
       }},
      {"layernorm bwd",
       [&] {
         ck::layernorm_backward(x.data(), w.data(), mean.data(), rstd.data(), dy.data(),
                                dx.data(), dw.data(), db.data(), rows, cols);
       }},
      {"gelu fwd", [&] { ck::gelu_forward(x.data(), dx.data(), n); }},
      {"gelu bwd", [&] { ck::gelu_backward(x.data(), dy.data(), dx.data(), n); }},
      {"gelu fwd [-4,4)", [&] { ck::gelu_forward(x4.data(), dx.data(), n); }},
      {"gelu bwd [-4,4)", [&] { ck::gelu_backward(x4.data(), dy.data(), dx.data(), n); }},
      // x as `rows` rows of `cols` into dx as `cols` rows of `rows`.
      {"transpose", [&] { ck::transpose(x.data(), cols, dx.data(), rows, cols, rows); }},
      // Each 1024 floats a 32 x 32 plane, pooled as CCT's tokenizer does (window 3,
      // stride 2, padding 1); with the arg max, as in training.
      {"max_pool", [&] { ck::max_pool(x.data(), planes, plane, dx.data(), nullptr); }},
      {"max_pool + arg", [&] { ck::max_pool(x.data(), planes, plane, dx.data(), arg.data()); }},
  };
  const ck::SimdPath fast = ck::simd_path();
  std::printf("%-18s %12s %12s %8s   (%lld x %lld floats, inputs in [-1, 1), 1 thread)\n",
              "row kernel", "scalar Mel/s", (std::string(ck::simd_path_name(fast)) + " Mel/s").c_str(),
              "speed-up", (long long)rows, (long long)cols);
  for (const Kernel& k : kernels) {
    const auto t = median_alternating({[&] {
                                         ck::set_simd_path(ck::SimdPath::Scalar);
                                         k.run();
                                       },
                                       [&] {
                                         ck::set_simd_path(fast);
                                         k.run();
                                       }});
    const double t_scalar = t[0], t_fast = t[1];
    std::printf("%-18s %12.0f %12.0f %7.2fx\n", k.name, n / t_scalar * 1e-6, n / t_fast * 1e-6,
                t_scalar / t_fast);
  }
  ck::set_simd_path(fast);
  std::printf("\n");
}

// Where fusing two neighbouring passes could pay (the performance issue asks
// for fused bias + GELU and layer-norm paths "where they pay"). Three pairs
// at ViT-lite's sizes at batch 64 (4096 tokens of 128, MLP hidden 256: each
// tensor 2 or 4 MiB, so it lives in L3 between passes), 1 thread:
//   first    the first pass over the whole tensor
//   pair     the first pass, then the second over the whole tensor (unfused)
//   hot      the second pass over as many elements, on one block of rows that
//            stays in L1 (16 KiB per array): what a fused kernel would see,
//            running it on the tile the first pass has just written
// The second pass costs pair - first where it stands; a fused kernel could
// save at most that minus its hot cost (plus a loop and a buffer), printed as
// a share of the pair. The bias is already fused into the GEMM's stores.
void bench_fusion() {
  ck::set_num_threads(1);
  const int64_t rows = 4096, dim = 128, hidden = 256;
  const auto x = random_vector(size_t(rows * dim), 7), res = random_vector(size_t(rows * dim), 8);
  const auto g = random_vector(size_t(rows * dim), 9);
  const auto w1 = random_vector(size_t(hidden * dim), 10), w2 = random_vector(size_t(dim * hidden), 11);
  const auto b1 = random_vector(size_t(hidden), 12), ln_w = random_vector(size_t(dim), 13),
             ln_b = random_vector(size_t(dim), 14);
  Buffer u(static_cast<size_t>(rows * hidden)), h(u), dh(u), z(x), y(x),
      mean(static_cast<size_t>(rows)), rstd(mean);

  using Pass = std::function<void(int64_t row0, int64_t row1)>;
  struct Pair {
    const char* name;
    int64_t cols;  // of the second pass's rows
    Pass first, second;
  };
  const std::vector<Pair> pairs = {
      {"linear + bias -> GELU", hidden,
       [&](int64_t r0, int64_t r1) {  // u = x W1^T + b1
         ck::sgemm(false, true, r1 - r0, hidden, dim, 1.0f, x.data() + r0 * dim, dim, w1.data(),
                   dim, 1.0f, u.data() + r0 * hidden, hidden, b1.data(), 0);
       },
       [&](int64_t r0, int64_t r1) {
         ck::gelu_forward(u.data() + r0 * hidden, h.data() + r0 * hidden, (r1 - r0) * hidden);
       }},
      {"matmul -> GELU backward", hidden,
       [&](int64_t r0, int64_t r1) {  // dh = g W2 (fc2's input gradient)
         ck::sgemm(false, false, r1 - r0, hidden, dim, 1.0f, g.data() + r0 * dim, dim, w2.data(),
                   hidden, 0.0f, dh.data() + r0 * hidden, hidden);
       },
       [&](int64_t r0, int64_t r1) {
         ck::gelu_backward(u.data() + r0 * hidden, dh.data() + r0 * hidden,
                           h.data() + r0 * hidden, (r1 - r0) * hidden);
       }},
      {"residual add -> layer norm", dim,
       [&](int64_t r0, int64_t r1) {
         for (int64_t i = r0 * dim; i < r1 * dim; ++i) z[size_t(i)] = x[size_t(i)] + res[size_t(i)];
       },
       [&](int64_t r0, int64_t r1) {
         ck::layernorm_forward(z.data() + r0 * dim, ln_w.data(), ln_b.data(), y.data() + r0 * dim,
                               mean.data() + r0, rstd.data() + r0, r1 - r0, dim, 1e-5f);
       }},
  };
  std::printf("%-28s %9s %9s %9s %9s %13s   (%lld x %lld and x %lld floats, 1 thread)\n",
              "pass pair", "first us", "pair us", "2nd us", "2nd hot", "fusion saves",
              (long long)rows, (long long)dim, (long long)hidden);
  for (const Pair& p : pairs) {
    const int64_t block = 4096 / p.cols;
    const auto t = median_alternating({[&] { p.first(0, rows); },
                                       [&] {
                                         p.first(0, rows);
                                         p.second(0, rows);
                                       },
                                       [&] {
                                         for (int64_t r = 0; r < rows; r += block) p.second(0, block);
                                       }});
    const double second = t[1] - t[0], saving = std::max(0.0, second - t[2]);
    std::printf("%-28s %9.1f %9.1f %9.1f %9.1f %10.1f %%\n", p.name, t[0] * 1e6, t[1] * 1e6,
                second * 1e6, t[2] * 1e6, 100 * saving / t[1]);
  }
  std::printf("\n");
}

}  // namespace

int main(int argc, char** argv) {
  const std::string only = argc > 1 ? argv[1] : "";
  const double ghz = cf::bench::measure_ghz();
  // 2 FMA pipes x 8 (AVX2) or 16 (AVX-512) floats x 2 FLOP per cycle. A
  // core that runs 512-bit operations in two halves (Zen 4) has the AVX2
  // rate on either path, as the FMA loop below shows (bench/fma_peak.h), so
  // there the SGEMM's percentages are of the AVX2 peak, whichever tile runs
  // (gemm.h, gemm_tile_path).
  const ck::SimdPath path = ck::simd_path();
  const bool halves = ck::cpu_features().avx512_halves;
  const bool avx512 = path == ck::SimdPath::Avx512 && !halves;
  const double peak = (avx512 ? 64.0 : 32.0) * ghz;
  std::printf("SIMD path: %s   SGEMM tile: %s on one thread, %s split across threads\n",
              ck::simd_path_name(path), ck::simd_path_name(ck::gemm_tile_path(path, halves, false, false)),
              ck::simd_path_name(ck::gemm_tile_path(path, halves, true, false)));
  std::printf("clock (measured): %.2f GHz   %s FMA peak: %.1f GFLOP/s/core\n", ghz,
              avx512 ? "AVX-512" : "AVX2", peak);
  if (ck::simd_path() != ck::SimdPath::Scalar)
    std::printf("FMA loop, all threads together: 1 thread %.1f GFLOP/s, 2 threads %.1f GFLOP/s\n",
                cf::bench::fma_peak_gflops(1), cf::bench::fma_peak_gflops(2));
  if (only.empty() || only == "gemm") bench_gemm(peak);
  if (only.empty() || only == "rowops") {
    bench_rowops(64, 1024);
    bench_rowops(1024, 1024);
    bench_rowops(512, 128);
  }
  if (only.empty() || only == "fusion") bench_fusion();
  return 0;
}
