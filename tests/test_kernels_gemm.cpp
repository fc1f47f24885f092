// SGEMM: the packed/blocked paths against the plain-loop reference, on sizes
// that hit every edge of the 6 x 16 and 12 x 32 tiles and of the cache blocks.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "autograd/kernels/gemm.h"
#include "tests/catch.h"
#include "tests/test_kernels_util.h"

using namespace cf::kernels;
using cf::test::uniform;

namespace {

// One problem with row padding (ld > row length) everywhere, so reading or
// writing past a row's end would show.
struct Problem {
  bool ta, tb;
  int64_t M, N, K, lda, ldb, ldc;
  std::vector<float> A, B, C0;

  Problem(bool ta_, bool tb_, int64_t M_, int64_t N_, int64_t K_, int64_t pad, uint64_t seed)
      : ta(ta_), tb(tb_), M(M_), N(N_), K(K_) {
    const int64_t a_rows = ta ? K : M, a_cols = ta ? M : K;
    const int64_t b_rows = tb ? N : K, b_cols = tb ? K : N;
    lda = a_cols + pad;
    ldb = b_cols + pad;
    ldc = N + pad;
    A = uniform(size_t(a_rows * lda), seed);
    B = uniform(size_t(b_rows * ldb), seed + 1);
    C0 = uniform(size_t(M * ldc), seed + 2);
  }

  // Worst-case rounding bound for element (i, j): (K + 2) units of roundoff
  // of the magnitudes involved. A wrong or missing term is ~0.1..1, far above.
  float bound(int64_t i, int64_t j, float alpha, float beta) const {
    if (mag.empty()) {
      // sum_k |a_ik b_kj| for every (i, j): the reference on |A|, |B|.
      std::vector<float> abs_a(A.size()), abs_b(B.size());
      for (size_t t = 0; t < A.size(); ++t) abs_a[t] = std::fabs(A[t]);
      for (size_t t = 0; t < B.size(); ++t) abs_b[t] = std::fabs(B[t]);
      mag.assign(C0.size(), 0.0f);
      sgemm_scalar(ta, tb, M, N, K, 1.0f, abs_a.data(), lda, abs_b.data(), ldb, 0.0f,
                   mag.data(), ldc);
    }
    const double m = std::fabs(alpha) * mag[size_t(i * ldc + j)] +
                     std::fabs(beta * C0[size_t(i * ldc + j)]);
    return float((K + 2) * std::numeric_limits<float>::epsilon() * m) + 1e-30f;
  }
  mutable std::vector<float> mag;
};

// Runs sgemm and the reference on the same problem; checks every element
// against the rounding bound and that the row padding of C is untouched.
void check_against_reference(const Problem& p, float alpha, float beta) {
  std::vector<float> ref = p.C0, got = p.C0;
  sgemm_scalar(p.ta, p.tb, p.M, p.N, p.K, alpha, p.A.data(), p.lda, p.B.data(), p.ldb, beta,
               ref.data(), p.ldc);
  sgemm(p.ta, p.tb, p.M, p.N, p.K, alpha, p.A.data(), p.lda, p.B.data(), p.ldb, beta,
        got.data(), p.ldc);
  for (int64_t i = 0; i < p.M; ++i) {
    for (int64_t j = 0; j < p.ldc; ++j) {
      const size_t idx = size_t(i * p.ldc + j);
      if (j >= p.N) {
        if (got[idx] != p.C0[idx]) FAIL("padding of C written at " << i << "," << j);
        continue;
      }
      const float err = std::fabs(got[idx] - ref[idx]);
      if (!(err <= p.bound(i, j, alpha, beta)))
        FAIL("path " << simd_path_name(simd_path()) << " ta=" << p.ta << " tb=" << p.tb
                     << " M=" << p.M << " N=" << p.N << " K=" << p.K << " alpha=" << alpha
                     << " beta=" << beta << " at (" << i << "," << j << "): got " << got[idx]
                     << " want " << ref[idx] << " err " << err);
    }
  }
}

}  // namespace

TEST_CASE("sgemm matches the reference on awkward sizes, all layouts, every path",
          "[kernels][gemm]") {
  cf::test::SimdPathGuard guard;
  const int64_t sizes[] = {1, 3, 7, 17, 33, 129};
  for (SimdPath path : cf::test::supported_paths()) {
    set_simd_path(path);
    uint64_t seed = 1;
    for (bool ta : {false, true})
      for (bool tb : {false, true})
        for (int64_t M : sizes)
          for (int64_t N : sizes)
            for (int64_t K : {int64_t(1), int64_t(17), int64_t(129)}) {
              // The full cube on small sizes, a sample of the large ones.
              if (M * N * K > 33 * 33 * 129 && (M + N + K) % 3 != 0) continue;
              Problem p(ta, tb, M, N, K, /*pad=*/3, seed++);
              check_against_reference(p, 1.0f, 0.0f);
            }
  }
}

TEST_CASE("sgemm alpha and beta, with K spanning several cache blocks", "[kernels][gemm]") {
  cf::test::SimdPathGuard guard;
  for (SimdPath path : cf::test::supported_paths()) {
    set_simd_path(path);
    // K = 1100 crosses the K blocking (512) twice; M, N cross the tile edges.
    for (bool ta : {false, true})
      for (bool tb : {false, true}) {
        Problem p(ta, tb, 37, 45, 1100, 5, 100 + 2 * ta + tb);
        for (auto [alpha, beta] : {std::pair{1.0f, 0.0f}, {-0.5f, 1.0f}, {2.0f, -1.5f}})
          check_against_reference(p, alpha, beta);
      }
  }
}

TEST_CASE("sgemm with alpha == 0 or K == 0 only scales C", "[kernels][gemm]") {
  Problem p(false, false, 5, 19, 8, 1, 7);
  std::vector<float> c = p.C0;
  sgemm(false, false, 5, 19, 8, 0.0f, p.A.data(), p.lda, p.B.data(), p.ldb, 2.0f, c.data(),
        p.ldc);
  for (int64_t i = 0; i < 5; ++i)
    for (int64_t j = 0; j < 19; ++j) REQUIRE(c[i * p.ldc + j] == 2.0f * p.C0[i * p.ldc + j]);
  sgemm(false, false, 5, 19, 0, 1.0f, nullptr, 1, nullptr, 19, 0.0f, c.data(), p.ldc);
  for (int64_t i = 0; i < 5; ++i)
    for (int64_t j = 0; j < 19; ++j) REQUIRE(c[i * p.ldc + j] == 0.0f);
}

TEST_CASE("sgemm with beta == 0 never reads C", "[kernels][gemm]") {
  cf::test::SimdPathGuard guard;
  for (SimdPath path : cf::test::supported_paths()) {
    set_simd_path(path);
    Problem p(false, true, 13, 35, 20, 0, 11);
    std::vector<float> c(p.C0.size(), std::numeric_limits<float>::quiet_NaN());
    sgemm(false, true, p.M, p.N, p.K, 1.0f, p.A.data(), p.lda, p.B.data(), p.ldb, 0.0f,
          c.data(), p.ldc);
    for (float v : c) REQUIRE(std::isfinite(v));
  }
}

TEST_CASE("sgemm on the scalar path rounds exactly like the reference", "[kernels][gemm]") {
  // Same order of operations (k increasing, no FMA, one K block), so the
  // packed scalar path must agree bit for bit: if CF_SIMD=scalar /
  // set_simd_path were ignored, the FMA kernel would differ in some element.
  cf::test::SimdPathGuard guard;
  set_simd_path(SimdPath::Scalar);
  REQUIRE(std::string(simd_path_name(simd_path())) == "scalar");
  Problem p(true, false, 50, 70, 200, 2, 21);
  std::vector<float> ref = p.C0, got = p.C0;
  sgemm_scalar(p.ta, p.tb, p.M, p.N, p.K, 1.5f, p.A.data(), p.lda, p.B.data(), p.ldb, 0.5f,
               ref.data(), p.ldc);
  sgemm(p.ta, p.tb, p.M, p.N, p.K, 1.5f, p.A.data(), p.lda, p.B.data(), p.ldb, 0.5f,
        got.data(), p.ldc);
  REQUIRE(std::memcmp(ref.data(), got.data(), ref.size() * sizeof(float)) == 0);

  if (simd_path_supported(SimdPath::Avx2)) {
    set_simd_path(SimdPath::Avx2);
    got = p.C0;
    sgemm(p.ta, p.tb, p.M, p.N, p.K, 1.5f, p.A.data(), p.lda, p.B.data(), p.ldb, 0.5f,
          got.data(), p.ldc);
    CHECK(std::memcmp(ref.data(), got.data(), ref.size() * sizeof(float)) != 0);
  }
}

TEST_CASE("the SGEMM's tile where 512-bit operations run in halves: AVX2 split across threads or with rows 4 KiB apart",
          "[kernels][gemm]") {
  for (SimdPath path : {SimdPath::Scalar, SimdPath::Avx2, SimdPath::Avx512})
    for (bool split : {false, true})
      for (bool apart : {false, true}) {
        INFO(simd_path_name(path) << (split ? ", split" : ", one thread") << (apart ? ", A or C rows 4 KiB apart" : ""));
        CHECK(gemm_tile_path(path, false, split, apart) == path);
        const bool avx2_tile = path == SimdPath::Avx512 && (split || apart);
        CHECK(gemm_tile_path(path, true, split, apart) == (avx2_tile ? SimdPath::Avx2 : path));
      }

#if defined(__linux__) && (defined(__x86_64__) || defined(_M_X64))
  // The cpuid decoding against the kernel's own: an AMD core of family 25
  // (0x19) with AVX-512 is a Zen 4.
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line, vendor;
  int family = -1;
  while (std::getline(cpuinfo, line) && line.find("flags") != 0) {
    if (line.find("vendor_id") == 0) vendor = line.substr(line.find(':') + 2);
    if (line.find("cpu family") == 0) family = std::stoi(line.substr(line.find(':') + 1));
  }
  const auto flag = [&](const char* name) {
    return (line + " ").find(" " + std::string(name) + " ") != std::string::npos;
  };
  const bool avx512f = flag("avx512f");
  // The AVX-512 path needs DQ, BW and VL too (a Xeon Phi has F alone).
  CHECK(cpu_features().avx512dq == flag("avx512dq"));
  CHECK(cpu_features().avx512bw == flag("avx512bw"));
  CHECK(cpu_features().avx512vl == flag("avx512vl"));
  if (simd_path_supported(SimdPath::Avx512))
    CHECK((avx512f && flag("avx512dq") && flag("avx512bw") && flag("avx512vl")));
  if (family < 0) {
    WARN("/proc/cpuinfo has no cpu family: nothing to compare");
    return;
  }
  INFO(vendor << " family " << family << (avx512f ? " with" : " without") << " avx512f");
  CHECK(cpu_features().avx512_halves == (vendor == "AuthenticAMD" && family == 25 && avx512f));
#endif
}

TEST_CASE("sgemm on the AVX-512 path gives the same bits as on the AVX2 path", "[kernels][gemm]") {
  // Both kernels do one FMA per k in the same order and the same final
  // alpha/beta step, whatever the tile: an AVX-512 machine reproduces an AVX2
  // machine's results.
  if (!simd_path_supported(SimdPath::Avx512)) {
    WARN("no AVX-512 path on this CPU or build: nothing to compare");
    return;
  }
  cf::test::SimdPathGuard guard;
  // On one thread, so that every product runs the AVX-512 tile: split
  // across threads on Zen 4 it would run AVX2's (gemm_tile_path).
  cf::test::ThreadCountGuard thread_guard;
  set_num_threads(1);
  uint64_t seed = 300;
  for (bool ta : {false, true})
    for (bool tb : {false, true})
      for (int64_t M : {1, 11, 12, 13, 100})
        for (int64_t N : {1, 17, 31, 32, 33, 129})
          for (int64_t K : {1, 17, 600}) {
            Problem p(ta, tb, M, N, K, 3, seed++);
            for (auto [alpha, beta] : {std::pair{1.0f, 0.0f}, {2.0f, -1.5f}}) {
              std::vector<float> avx2 = p.C0, avx512 = p.C0;
              set_simd_path(SimdPath::Avx2);
              sgemm(ta, tb, M, N, K, alpha, p.A.data(), p.lda, p.B.data(), p.ldb, beta, avx2.data(), p.ldc);
              set_simd_path(SimdPath::Avx512);
              sgemm(ta, tb, M, N, K, alpha, p.A.data(), p.lda, p.B.data(), p.ldb, beta, avx512.data(), p.ldc);
              INFO("ta=" << ta << " tb=" << tb << " M=" << M << " N=" << N << " K=" << K << " beta=" << beta);
              REQUIRE(std::memcmp(avx2.data(), avx512.data(), avx2.size() * sizeof(float)) == 0);
            }
          }
}

TEST_CASE("sgemm is bit-identical with 1, 2 and 8 threads", "[kernels][gemm][threads]") {
  cf::test::ThreadCountGuard guard;
  // Big enough to be split (several M blocks, K blocks, and tasks): N = 200
  // by A blocks (13 B strips of 16 do not divide among 2 threads), N = 120
  // by B strips (8 of 16, the last one short) on the 6 x 16 tile, each
  // thread packing its own, with B transposed or not (gemm.cpp,
  // split_by_b_strips).
  for (bool ta : {false, true})
    for (int64_t N : {200, 120}) {
      INFO("ta=" << ta << " N=" << N);
      Problem p(ta, !ta, 300, N, 520, 1, 31 + ta);
      std::vector<float> first;
      for (int threads : {1, 2, 8}) {
        set_num_threads(threads);
        std::vector<float> c = p.C0;
        sgemm(p.ta, p.tb, p.M, p.N, p.K, 1.0f, p.A.data(), p.lda, p.B.data(), p.ldb, 1.0f,
              c.data(), p.ldc);
        if (first.empty())
          first = c;
        else
          REQUIRE(std::memcmp(first.data(), c.data(), c.size() * sizeof(float)) == 0);
      }
    }
}

TEST_CASE("sgemm on one thread packs B inside the micro-kernel: the bits of packing it first",
          "[kernels][gemm][threads]") {
  // On one thread (or nested in a parallel_for chunk), B not transposed, the
  // first A strip's micro-kernel calls pack each full B strip as they read
  // it; on two threads the panel is packed first (N = 45: three B strips,
  // split by A blocks), or each thread packs its own strips the same way
  // (N = 64, split by B strips: gemm.cpp, split_by_b_strips). The shapes cross two
  // A blocks (M = 200 > 168), two K blocks (K = 600) and a short last B
  // strip (N = 45) or none (N = 64), with short first A strips (M = 4).
  cf::test::SimdPathGuard path_guard;
  cf::test::ThreadCountGuard thread_guard;
  for (SimdPath path : cf::test::supported_paths()) {
    set_simd_path(path);
    for (bool ta : {false, true})
      for (int64_t M : {4, 200})
        for (int64_t N : {45, 64}) {
          Problem p(ta, false, M, N, 600, 3, 60 + M + N + ta);
          INFO("path " << simd_path_name(path) << " ta=" << ta << " M=" << M << " N=" << N);
          set_num_threads(1);
          check_against_reference(p, 1.5f, -0.5f);
          auto run = [&] {
            std::vector<float> c = p.C0;
            sgemm(p.ta, p.tb, p.M, p.N, p.K, 1.5f, p.A.data(), p.lda, p.B.data(), p.ldb, -0.5f,
                  c.data(), p.ldc);
            return c;
          };
          const std::vector<float> one = run();
          set_num_threads(2);
          const std::vector<float> two = run();
          std::vector<float> nested;
          parallel_for(1, 1, [&](int64_t, int64_t) { nested = run(); });
          REQUIRE(std::memcmp(one.data(), two.data(), one.size() * sizeof(float)) == 0);
          REQUIRE(std::memcmp(one.data(), nested.data(), one.size() * sizeof(float)) == 0);
        }
  }
}

TEST_CASE("sgemm_batched: strides, broadcast and many small products", "[kernels][gemm]") {
  cf::test::ThreadCountGuard guard;
  set_num_threads(2);
  const int64_t M = 9, N = 20, K = 11, batch = 37;
  for (bool ta : {false, true})
    for (bool tb : {false, true})
      for (int broadcast = 0; broadcast < 3; ++broadcast) {  // none, A shared, B shared
        const int64_t lda = (ta ? M : K) + 1, ldb = (tb ? K : N) + 2, ldc = N + 3;
        const int64_t sa = broadcast == 1 ? 0 : (ta ? K : M) * lda + 4;
        const int64_t sb = broadcast == 2 ? 0 : (tb ? N : K) * ldb + 5;
        const int64_t sc = M * ldc + 6;
        auto A = uniform(size_t((ta ? K : M) * lda + (batch - 1) * sa), 41);
        auto B = uniform(size_t((tb ? N : K) * ldb + (batch - 1) * sb), 42);
        auto C = uniform(size_t(M * ldc + (batch - 1) * sc), 43);
        auto ref = C;
        for (int64_t i = 0; i < batch; ++i)
          sgemm_scalar(ta, tb, M, N, K, 0.5f, A.data() + i * sa, lda, B.data() + i * sb, ldb,
                       2.0f, ref.data() + i * sc, ldc);
        sgemm_batched(ta, tb, M, N, K, 0.5f, A.data(), lda, sa, B.data(), ldb, sb, 2.0f,
                      C.data(), ldc, sc, batch);
        for (size_t i = 0; i < C.size(); ++i)
          REQUIRE(std::fabs(C[i] - ref[i]) <= 1e-5f * (1.0f + std::fabs(ref[i])));
      }
}

TEST_CASE("sgemm with an addend D: the bits of copying D into C first, every path",
          "[kernels][gemm]") {
  // A bias row (ldd = 0) and a full matrix, beta 1 and not, K inside one
  // cache block and across three (1100 > 2 x 512), tile edges in M and N.
  cf::test::SimdPathGuard guard;
  uint64_t seed = 500;
  for (SimdPath path : cf::test::supported_paths()) {
    set_simd_path(path);
    for (bool ta : {false, true})
      for (bool tb : {false, true})
        for (int64_t M : {1, 7, 37})
          for (int64_t N : {1, 17, 45})
            for (int64_t K : {1, 17, 1100})
              for (bool row : {true, false}) {
                Problem p(ta, tb, M, N, K, 3, seed++);
                const int64_t ldd = row ? 0 : N + 2;
                const auto D = uniform(size_t((row ? 1 : M) * (N + 2)), seed++);
                const float alpha = 0.75f, beta = row ? 1.0f : -1.5f;
                std::vector<float> copied = p.C0, got = p.C0;
                for (int64_t i = 0; i < M; ++i)
                  std::copy(D.begin() + i * ldd, D.begin() + i * ldd + N, copied.begin() + i * p.ldc);
                sgemm(ta, tb, M, N, K, alpha, p.A.data(), p.lda, p.B.data(), p.ldb, beta,
                      copied.data(), p.ldc);
                sgemm(ta, tb, M, N, K, alpha, p.A.data(), p.lda, p.B.data(), p.ldb, beta,
                      got.data(), p.ldc, D.data(), ldd);
                INFO(simd_path_name(path) << " ta=" << ta << " tb=" << tb << " M=" << M << " N=" << N
                                          << " K=" << K << " ldd=" << ldd);
                // C's row padding is untouched in both, so compare everything.
                REQUIRE(std::memcmp(copied.data(), got.data(), got.size() * sizeof(float)) == 0);
                // And against the reference, which takes D itself.
                std::vector<float> ref = p.C0;
                sgemm_scalar(ta, tb, M, N, K, alpha, p.A.data(), p.lda, p.B.data(), p.ldb, beta,
                             ref.data(), p.ldc, D.data(), ldd);
                for (int64_t i = 0; i < M; ++i)
                  for (int64_t j = 0; j < N; ++j) {
                    const size_t idx = size_t(i * p.ldc + j);
                    REQUIRE(std::fabs(got[idx] - ref[idx]) <= 1e-4f * (1.0f + std::fabs(ref[idx])));
                  }
              }
  }
}

TEST_CASE("sgemm with an addend D and alpha == 0 or K == 0 gives beta D", "[kernels][gemm]") {
  const auto bias = uniform(19, 8);
  Problem p(false, false, 5, 19, 8, 1, 7);
  std::vector<float> c = p.C0;
  sgemm(false, false, 5, 19, 0, 1.0f, nullptr, 1, nullptr, 19, 2.0f, c.data(), p.ldc, bias.data(), 0);
  for (int64_t i = 0; i < 5; ++i)
    for (int64_t j = 0; j < 19; ++j) REQUIRE(c[size_t(i * p.ldc + j)] == 2.0f * bias[size_t(j)]);
  c = p.C0;
  sgemm(false, false, 5, 19, 8, 0.0f, p.A.data(), p.lda, p.B.data(), p.ldb, 1.0f, c.data(), p.ldc,
        bias.data(), 0);
  for (int64_t i = 0; i < 5; ++i)
    for (int64_t j = 0; j < 19; ++j) REQUIRE(c[size_t(i * p.ldc + j)] == bias[size_t(j)]);
}

TEST_CASE("sgemm_batched with an addend per product (stride_d) or shared (0)", "[kernels][gemm]") {
  cf::test::ThreadCountGuard guard;
  set_num_threads(2);
  const int64_t M = 9, N = 20, K = 11, batch = 37, ldc = N + 3, sc = M * ldc + 6;
  auto A = uniform(size_t(batch * M * K), 61), B = uniform(size_t(batch * K * N), 62);
  auto D = uniform(size_t(batch * N), 63);
  for (int64_t stride_d : {int64_t(0), N}) {
    std::vector<float> want(size_t(batch * sc), 0.0f), got = want;
    for (int64_t i = 0; i < batch; ++i)
      sgemm(false, false, M, N, K, 1.0f, A.data() + i * M * K, K, B.data() + i * K * N, N, 1.0f,
            want.data() + i * sc, ldc, D.data() + i * stride_d, 0);
    sgemm_batched(false, false, M, N, K, 1.0f, A.data(), K, M * K, B.data(), N, K * N, 1.0f,
                  got.data(), ldc, sc, batch, D.data(), 0, stride_d);
    INFO("stride_d " << stride_d);
    REQUIRE(std::memcmp(want.data(), got.data(), got.size() * sizeof(float)) == 0);
  }
}

TEST_CASE("gemm_flop_count adds 2 M N K per product", "[kernels][gemm]") {
  const int64_t M = 5, N = 7, K = 3, batch = 4;
  auto A = uniform(size_t(batch * M * K), 1), B = uniform(size_t(K * N), 2);
  std::vector<float> C(size_t(batch * M * N));
  const uint64_t before = gemm_flop_count();
  sgemm(false, false, M, N, K, 1.0f, A.data(), K, B.data(), N, 0.0f, C.data(), N);
  CHECK(gemm_flop_count() - before == uint64_t(2 * M * N * K));
  sgemm_batched(false, false, M, N, K, 1.0f, A.data(), K, M * K, B.data(), N, 0, 0.0f, C.data(), N,
                M * N, batch);
  CHECK(gemm_flop_count() - before == uint64_t(2 * M * N * K * (1 + batch)));
}

TEST_CASE("sgemm rejects bad arguments with a message naming the sizes", "[kernels][gemm]") {
  std::vector<float> a(64), b(64), c(64);
  const auto message = [](auto f) { return cf::test::invalid_argument_of(f); };
  std::string m = message([&] {
    sgemm(false, false, -1, 4, 4, 1.0f, a.data(), 4, b.data(), 4, 0.0f, c.data(), 4);
  });
  CHECK(m.find("sgemm") != std::string::npos);
  CHECK(m.find("M=-1") != std::string::npos);
  m = message([&] {
    sgemm(false, false, 4, 4, 8, 1.0f, a.data(), 4, b.data(), 4, 0.0f, c.data(), 4);
  });
  CHECK(m.find("lda") != std::string::npos);
  m = message([&] {
    sgemm_batched(false, false, 2, 2, 2, 1.0f, a.data(), 2, 4, b.data(), 2, 4, 0.0f, c.data(),
                  2, 0, 3);
  });
  CHECK(m.find("stride_c") != std::string::npos);
  CHECK(m.find("batch=3") != std::string::npos);
  CHECK_NOTHROW(sgemm_batched(false, false, 2, 2, 2, 1.0f, a.data(), 2, 0, b.data(), 2, 0, 0.0f,
                              c.data(), 2, 0, 1));
  m = message([&] {
    sgemm(false, false, 4, 4, 4, 1.0f, a.data(), 4, b.data(), 4, 1.0f, c.data(), 4, a.data(), 3);
  });
  CHECK(m.find("ldd smaller than N") != std::string::npos);
  CHECK(m.find("ldd=3") != std::string::npos);
  m = message([&] {
    sgemm_batched(false, false, 2, 2, 2, 1.0f, a.data(), 2, 4, b.data(), 2, 4, 1.0f, c.data(), 2,
                  4, 3, a.data(), 0, -2);
  });
  CHECK(m.find("negative stride") != std::string::npos);
  CHECK(m.find("stride_d=-2") != std::string::npos);
  // Products whose C blocks overlap would race: 2 x 4 blocks one row apart.
  std::vector<float> big(256);
  m = message([&] {
    sgemm_batched(false, false, 2, 4, 2, 1.0f, a.data(), 2, 0, b.data(), 4, 0, 0.0f, big.data(), 4,
                  4, 3);
  });
  CHECK(m.find("the products' C blocks overlap") != std::string::npos);
  CHECK(m.find("stride_c=4") != std::string::npos);
  // Stacked, and side by side within the rows (per-position weights): fine.
  CHECK_NOTHROW(sgemm_batched(false, false, 2, 4, 2, 1.0f, a.data(), 2, 0, b.data(), 4, 0, 0.0f,
                              big.data(), 4, 8, 3));
  CHECK_NOTHROW(sgemm_batched(false, false, 2, 4, 2, 1.0f, a.data(), 2, 0, b.data(), 4, 0, 0.0f,
                              big.data(), 12, 4, 3));
}

TEST_CASE("sgemm with D given as C itself adds C's own rows, whatever ldd says",
          "[kernels][gemm]") {
  const int64_t M = 7, N = 20, K = 9;
  std::vector<float> A(size_t(M * K)), B(size_t(K * N)), C(size_t(M * N));
  for (size_t i = 0; i < A.size(); ++i) A[i] = float(i % 5) - 2.0f;
  for (size_t i = 0; i < B.size(); ++i) B[i] = float(i % 7) - 3.0f;
  for (size_t i = 0; i < C.size(); ++i) C[i] = float(i % 3);
  std::vector<float> expected = C, got = C;
  sgemm(false, false, M, N, K, 1.0f, A.data(), K, B.data(), N, 1.0f, expected.data(), N);
  sgemm(false, false, M, N, K, 1.0f, A.data(), K, B.data(), N, 1.0f, got.data(), N, got.data(), 0);
  CHECK(got == expected);
  got = C;
  sgemm_batched(false, false, M, N, K, 1.0f, A.data(), K, 0, B.data(), N, 0, 1.0f, got.data(), N,
                M * N, 1, got.data(), 0, 0);
  CHECK(got == expected);
}
