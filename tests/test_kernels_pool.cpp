// The max-pool kernel: every path against the scalar twin (a scan of each
// window) on awkward geometries and on values full of ties, NaNs and -infs;
// the thread-count independence; and its argument checks.
#include <cmath>
#include <cstring>
#include <vector>

#include "autograd/kernels/pool.h"
#include "tests/catch.h"
#include "tests/test_kernels_util.h"

using namespace cf::kernels;

namespace {

PoolWindow window(int64_t H, int64_t W, int64_t k, int64_t stride, int64_t pad) {
  return {H, W, k, stride, pad, (H + 2 * pad - k) / stride + 1, (W + 2 * pad - k) / stride + 1};
}

// Values from {0, 1, 2, NaN, -inf}: ties everywhere, windows without a
// number, and NaNs next to every maximum.
std::vector<float> awkward_values(size_t n, uint64_t seed) {
  const auto u = cf::test::uniform(n, seed, 0.0f, 5.0f);
  std::vector<float> x(n);
  for (size_t i = 0; i < n; ++i) {
    const int v = int(u[i]);
    x[i] = v < 3 ? float(v) : v == 3 ? NAN : -INFINITY;
  }
  return x;
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

}  // namespace

TEST_CASE("max_pool matches the scalar twin, ties, NaNs and -inf included", "[kernels][pool]") {
  cf::test::SimdPathGuard guard;
  // H, W, k, stride, pad: CCT's (3, 2, 1) on its planes, widths around the
  // vector lengths, windows wider than a vector, stride 1 and stride > k.
  const PoolWindow windows[] = {window(32, 32, 3, 2, 1), window(16, 16, 3, 2, 1),
                                window(7, 5, 3, 2, 1),   window(9, 17, 2, 2, 0),
                                window(5, 33, 3, 1, 1),  window(4, 40, 19, 3, 9),
                                window(6, 8, 1, 1, 0),   window(11, 13, 4, 5, 2),
                                window(3, 3, 3, 1, 0),   window(1, 129, 5, 4, 2),
                                // k (W + 1) >= 2^24: the SIMD paths hand it to the twin
                                window(2, 1 << 18, 64, 16, 31)};
  for (SimdPath path : cf::test::supported_paths()) {
    set_simd_path(path);
    for (const PoolWindow& g : windows)
      for (uint64_t seed : {1, 2}) {
        INFO("path " << simd_path_name(path) << " plane " << g.H << " x " << g.W << " window "
                     << g.k << " stride " << g.stride << " padding " << g.pad << " seed "
                     << seed);
        const int64_t planes = 3;
        const size_t n_out = size_t(planes * g.Ho * g.Wo);
        const auto x = seed == 1 ? awkward_values(size_t(planes * g.H * g.W), 7)
                                 : cf::test::uniform(size_t(planes * g.H * g.W), 8);
        std::vector<float> got(n_out), want(n_out), got_only(n_out);
        std::vector<int32_t> arg(n_out), want_arg(n_out);
        max_pool(x.data(), planes, g, got.data(), arg.data());
        max_pool_scalar(x.data(), planes, g, want.data(), want_arg.data());
        CHECK(same_bits(got, want));
        CHECK(arg == want_arg);
        max_pool(x.data(), planes, g, got_only.data(), nullptr);  // without the arg max
        CHECK(same_bits(got_only, want));
      }
  }
}

TEST_CASE("max_pool's arg max is the first maximal pixel, -1 for a window of no number",
          "[kernels][pool]") {
  cf::test::SimdPathGuard guard;
  // One 3 x 4 plane, window 2, stride 2: windows {0,1,4,5}, {2,3,6,7},
  // {8,9}... (padding 0, so 1 x 2 outputs).
  const float inf = INFINITY;
  const std::vector<float> x = {1, 2, NAN, -inf,  //
                                2, 0, -inf, NAN,  //
                                5, 5, 5, 5};
  for (SimdPath path : cf::test::supported_paths()) {
    set_simd_path(path);
    INFO("path " << simd_path_name(path));
    float y[2];
    int32_t arg[2];
    max_pool(x.data(), 1, window(3, 4, 2, 2, 0), y, arg);
    CHECK(y[0] == 2.0f);
    CHECK(arg[0] == 1);  // 2 at (0, 1) comes before 2 at (1, 0)
    CHECK(y[1] == -inf);
    CHECK(arg[1] == -1);  // NaNs and -infs only
  }
}

TEST_CASE("max_pool gives the same bits with 1, 2 and 8 threads", "[kernels][pool][threads]") {
  cf::test::ThreadCountGuard guard;
  const PoolWindow g = window(32, 32, 3, 2, 1);
  const int64_t planes = 40;
  const auto x = awkward_values(size_t(planes * g.H * g.W), 3);
  std::vector<float> first;
  std::vector<int32_t> first_arg;
  for (int threads : {1, 2, 8}) {
    set_num_threads(threads);
    std::vector<float> y(size_t(planes * g.Ho * g.Wo));
    std::vector<int32_t> arg(y.size());
    max_pool(x.data(), planes, g, y.data(), arg.data());
    if (first.empty()) {
      first = y;
      first_arg = arg;
    }
    CHECK(same_bits(y, first));
    CHECK(arg == first_arg);
  }
}

TEST_CASE("max_pool rejects a window that does not fit its plane", "[kernels][pool]") {
  float x[16] = {}, y[16];
  const auto message = [&](PoolWindow g) {
    return cf::test::invalid_argument_of([&] { max_pool(x, 1, g, y, nullptr); });
  };
  CHECK(message(window(4, 4, 5, 1, 0)).find("window 5") != std::string::npos);  // too large
  CHECK(message(window(4, 4, 2, 1, 2)).find("padding 2") != std::string::npos);  // pad > k / 2
  CHECK(message(PoolWindow{4, 4, 3, 0, 0, 2, 2}).find("stride 0") != std::string::npos);
  PoolWindow wrong = window(4, 4, 2, 2, 0);
  wrong.Wo = 3;
  CHECK(message(wrong).find("output 2 x 3") != std::string::npos);
  CHECK(message(window(4, 4, 2, 2, 0)).empty());
  CHECK(cf::test::invalid_argument_of([&] {
          max_pool(x, 1, window(4, 4, 2, 2, 0), nullptr, nullptr);
        }) == "max_pool: y is null, with 16 elements to read or write");
}
