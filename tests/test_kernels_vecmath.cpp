// Vector math: the AVX2 exp/log/tanh/erf/sigmoid against the C library over
// dense grids, special values, and the exact kernels (sum, add_row, mul_row,
// AdamW). The bounds are the measured maxima (printed with -s, quoted in
// vecmath.h and PERFORMANCE.md) plus one ulp of slack for another libm.
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <stdexcept>
#include <vector>

#include "autograd/kernels/vecmath.h"
#include "tests/catch.h"
#include "tests/test_kernels_util.h"

using namespace cf::kernels;
using cf::test::uniform;

namespace {

// Distance in units in the last place of `want` (the spacing of floats at
// |want|; the smallest normal's spacing below it).
double ulps(float got, float want) {
  const double spacing = std::ldexp(1.0, std::max(std::ilogb(want), -126) - 23);
  return std::fabs(double(got) - double(want)) / spacing;
}

// n points evenly spaced over [lo, hi].
std::vector<float> grid(double lo, double hi, int n) {
  std::vector<float> x(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) x[size_t(i)] = float(lo + (hi - lo) * i / (n - 1));
  return x;
}

// Whether this CPU or build lacks the AVX2 path, said in the test's output.
bool no_avx2_path() {
  if (simd_path_supported(SimdPath::Avx2)) return false;
  WARN("no AVX2 path on this CPU or build: nothing to compare (the scalar path is libm)");
  return true;
}

// Runs the public function on the AVX2 path and its twin (the C library).
void both(const std::function<void(const float*, float*, int64_t)>& fn,
          const std::function<void(const float*, float*, int64_t)>& twin,
          const std::vector<float>& x, std::vector<float>& got, std::vector<float>& want) {
  got.resize(x.size());
  want.resize(x.size());
  fn(x.data(), got.data(), int64_t(x.size()));
  twin(x.data(), want.data(), int64_t(x.size()));
}

}  // namespace

TEST_CASE("vector exp, log, tanh, sigmoid: max error against libm", "[kernels][vecmath]") {
  if (no_avx2_path()) return;
  cf::test::SimdPathGuard guard;
  set_simd_path(SimdPath::Avx2);
  std::vector<float> got, want;
  double worst;

  // exp over its whole normal-result range, 2M points.
  auto x = grid(-87.3, 88.7, 2000001);
  both(vec_exp, vec_exp_scalar, x, got, want);
  worst = 0;
  for (size_t i = 0; i < x.size(); ++i) worst = std::max(worst, ulps(got[i], want[i]));
  INFO("exp max ulp " << worst);
  CHECK(worst <= 2.0);

  // log: every binade from the denormals up (1000 points each), and [0.5, 2]
  // densely, where the result crosses 0 and only absolute error makes sense.
  x.clear();
  for (int e = -149; e < 128; ++e)
    for (int i = 0; i < 1000; ++i) x.push_back(std::ldexp(1.0f + i / 1000.0f, e));
  both(vec_log, vec_log_scalar, x, got, want);
  worst = 0;
  for (size_t i = 0; i < x.size(); ++i)
    if (std::fabs(want[i]) >= 0.5f) worst = std::max(worst, ulps(got[i], want[i]));
  INFO("log max ulp (|log x| >= 0.5) " << worst);
  CHECK(worst <= 2.0);
  x = grid(0.5, 2.0, 1000001);
  both(vec_log, vec_log_scalar, x, got, want);
  worst = 0;
  for (size_t i = 0; i < x.size(); ++i) worst = std::max(worst, double(std::fabs(got[i] - want[i])));
  INFO("log max abs error on [0.5, 2] " << worst);
  CHECK(worst <= 1.2e-7);

  x = grid(-10, 10, 2000001);
  both(vec_tanh, vec_tanh_scalar, x, got, want);
  worst = 0;
  for (size_t i = 0; i < x.size(); ++i) worst = std::max(worst, ulps(got[i], want[i]));
  INFO("tanh max ulp " << worst);
  CHECK(worst <= 3.0);

  x = grid(-80, 80, 2000001);
  both(vec_sigmoid, vec_sigmoid_scalar, x, got, want);
  worst = 0;
  for (size_t i = 0; i < x.size(); ++i) worst = std::max(worst, ulps(got[i], want[i]));
  INFO("sigmoid max ulp " << worst);
  CHECK(worst <= 5.0);
}

TEST_CASE("vector erf: max error against libm", "[kernels][vecmath]") {
  if (no_avx2_path()) return;
  cf::test::SimdPathGuard guard;
  set_simd_path(SimdPath::Avx2);
  std::vector<float> got, want;
  const auto x = grid(-6, 6, 2000001);
  both(vec_erf, vec_erf_scalar, x, got, want);
  double abs_err = 0, ulp_small = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    abs_err = std::max(abs_err, double(std::fabs(got[i] - want[i])));
    if (std::fabs(x[i]) < 1) ulp_small = std::max(ulp_small, ulps(got[i], want[i]));
  }
  INFO("erf max abs error " << abs_err << ", max ulp for |x| < 1 " << ulp_small);
  CHECK(abs_err <= 2.4e-7);
  CHECK(ulp_small <= 3.0);
}

TEST_CASE("vector math special values", "[kernels][vecmath]") {
  cf::test::SimdPathGuard guard;
  const float inf = std::numeric_limits<float>::infinity();
  const float nan = std::numeric_limits<float>::quiet_NaN();
  for (SimdPath path : cf::test::supported_paths()) {
    set_simd_path(path);
    const std::vector<float> ex = {inf, -inf, nan, -200.0f, 100.0f, 0.0f, -100.0f};
    std::vector<float> y(ex.size());
    vec_exp(ex.data(), y.data(), int64_t(ex.size()));
    CHECK(y[0] == inf);
    CHECK(y[1] == 0.0f);
    CHECK(std::isnan(y[2]));
    CHECK(y[3] == 0.0f);
    CHECK(y[4] == inf);
    CHECK(y[5] == 1.0f);
    CHECK(y[6] > 0.0f);  // 3.7e-44, a denormal
    CHECK(ulps(y[6], std::exp(-100.0f)) <= 2.0);

    const std::vector<float> lx = {0.0f, -1.0f, inf, nan, 1e-45f, 1.0f};
    y.resize(lx.size());
    vec_log(lx.data(), y.data(), int64_t(lx.size()));
    CHECK(y[0] == -inf);
    CHECK(std::isnan(y[1]));
    CHECK(y[2] == inf);
    CHECK(std::isnan(y[3]));
    CHECK(std::fabs(y[4] - std::log(1e-45f)) <= 1e-5f);
    CHECK(y[5] == 0.0f);

    const std::vector<float> tx = {inf, -inf, nan, 0.0f, -0.0f, 30.0f};
    y.resize(tx.size());
    vec_tanh(tx.data(), y.data(), int64_t(tx.size()));
    CHECK(y[0] == 1.0f);
    CHECK(y[1] == -1.0f);
    CHECK(std::isnan(y[2]));
    CHECK(y[3] == 0.0f);
    CHECK(y[5] == 1.0f);
    vec_erf(tx.data(), y.data(), int64_t(tx.size()));
    CHECK(y[0] == 1.0f);
    CHECK(y[1] == -1.0f);
    CHECK(std::isnan(y[2]));
    CHECK(y[3] == 0.0f);
  }
}

TEST_CASE("elementwise kernels on awkward lengths match their twins", "[kernels][vecmath]") {
  cf::test::SimdPathGuard guard;
  // Every remainder of the 8- and 16-lane blocks, then longer arrays; the
  // bounds are those of the dense tests above.
  std::vector<int64_t> lengths = {129, 40000};
  for (int64_t n = 1; n <= 33; ++n) lengths.push_back(n);
  for (SimdPath path : cf::test::supported_paths()) {
    set_simd_path(path);
    for (int64_t n : lengths) {
      INFO("path " << simd_path_name(path) << " n " << n);
      const auto x = uniform(size_t(n), uint64_t(n), -5.0f, 5.0f);
      std::vector<float> got(static_cast<size_t>(n)), want(got);
      vec_tanh(x.data(), got.data(), n);
      vec_tanh_scalar(x.data(), want.data(), n);
      for (int64_t i = 0; i < n; ++i) REQUIRE(ulps(got[size_t(i)], want[size_t(i)]) <= 3.0);
      // In place (y aliases x).
      auto inplace = x;
      vec_exp(inplace.data(), inplace.data(), n);
      vec_exp_scalar(x.data(), want.data(), n);
      for (int64_t i = 0; i < n; ++i) REQUIRE(ulps(inplace[size_t(i)], want[size_t(i)]) <= 2.0);
      vec_sigmoid(x.data(), got.data(), n);
      vec_sigmoid_scalar(x.data(), want.data(), n);
      for (int64_t i = 0; i < n; ++i) REQUIRE(ulps(got[size_t(i)], want[size_t(i)]) <= 5.0);
      vec_erf(x.data(), got.data(), n);
      vec_erf_scalar(x.data(), want.data(), n);
      for (int64_t i = 0; i < n; ++i)
        REQUIRE(std::fabs(got[size_t(i)] - want[size_t(i)]) <= 2.4e-7f);
      // log on (0, 20]: 2 ulp, or 1.2e-7 absolute where the result is near 0.
      const auto pos = uniform(size_t(n), uint64_t(n) + 1, 1e-3f, 20.0f);
      vec_log(pos.data(), got.data(), n);
      vec_log_scalar(pos.data(), want.data(), n);
      for (int64_t i = 0; i < n; ++i) {
        const float g = got[size_t(i)], w = want[size_t(i)];
        REQUIRE((ulps(g, w) <= 2.0 || std::fabs(g - w) <= 1.2e-7f));
      }
    }
  }
}

TEST_CASE("add_row and mul_row are exact on every path", "[kernels][vecmath]") {
  cf::test::SimdPathGuard guard;
  for (SimdPath path : cf::test::supported_paths()) {
    set_simd_path(path);
    for (int64_t cols : {1, 3, 7, 17, 33, 129}) {
      const int64_t rows = 5;
      const auto x = uniform(size_t(rows * cols), 1), row = uniform(size_t(cols), 2);
      std::vector<float> y(x.size());
      add_row(x.data(), row.data(), y.data(), rows, cols);
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t c = 0; c < cols; ++c)
          REQUIRE(y[size_t(r * cols + c)] == x[size_t(r * cols + c)] + row[size_t(c)]);
      mul_row(x.data(), row.data(), y.data(), rows, cols);
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t c = 0; c < cols; ++c)
          REQUIRE(y[size_t(r * cols + c)] == x[size_t(r * cols + c)] * row[size_t(c)]);
    }
  }
}

TEST_CASE("sum: same bits on every path and thread count, close to the exact sum",
          "[kernels][vecmath][threads]") {
  cf::test::SimdPathGuard path_guard;
  cf::test::ThreadCountGuard thread_guard;
  for (int64_t n : {int64_t(0), int64_t(1), int64_t(31), int64_t(33), int64_t(1000),
                    3 * kSumBlock + 77}) {
    auto x = uniform(size_t(n), uint64_t(n) + 9);
    for (size_t i = 0; i < x.size(); i += 5) x[i] *= 1000.0f;
    double exact = 0, magnitude = 0;
    for (float v : x) exact += v, magnitude += std::fabs(v);
    const float ref = sum_scalar(x.data(), n);
    CHECK(std::fabs(ref - exact) <= 1e-6 * magnitude + 1e-30);
    for (SimdPath path : cf::test::supported_paths())
      for (int threads : {1, 2, 8}) {
        set_simd_path(path);
        set_num_threads(threads);
        const float got = sum(x.data(), n);
        REQUIRE(std::memcmp(&got, &ref, sizeof(float)) == 0);
      }
  }
}

TEST_CASE("adamw_step: the formula, and exact agreement between paths", "[kernels][vecmath]") {
  cf::test::SimdPathGuard guard;
  const int64_t n = 1003;
  const auto p0 = uniform(size_t(n), 1), g = uniform(size_t(n), 2);
  const auto m0 = uniform(size_t(n), 3, -0.1f, 0.1f), v0 = uniform(size_t(n), 4, 0.0f, 0.01f);
  const float lr = 1e-3f, b1 = 0.9f, b2 = 0.999f, eps = 1e-8f, wd = 0.1f;
  const int64_t step = 7;

  // The twin against the formula in double.
  auto p = p0, m = m0, v = v0;
  adamw_step_scalar(p.data(), g.data(), m.data(), v.data(), n, lr, b1, b2, eps, wd, step);
  for (int64_t i = 0; i < n; ++i) {
    const size_t k = size_t(i);
    const double mm = 0.9 * m0[k] + 0.1 * g[k], vv = 0.999 * v0[k] + 0.001 * double(g[k]) * g[k];
    const double mh = mm / (1 - std::pow(0.9, 7)), vh = vv / (1 - std::pow(0.999, 7));
    const double pp = p0[k] - 1e-3 * 0.1 * p0[k] - 1e-3 * mh / (std::sqrt(vh) + 1e-8);
    REQUIRE(std::fabs(m[k] - mm) <= 1e-6);
    REQUIRE(std::fabs(p[k] - pp) <= 1e-6);
  }
  // Every path gives the same bits.
  for (SimdPath path : cf::test::supported_paths()) {
    set_simd_path(path);
    auto p2 = p0, m2 = m0, v2 = v0;
    adamw_step(p2.data(), g.data(), m2.data(), v2.data(), n, lr, b1, b2, eps, wd, step);
    REQUIRE(std::memcmp(p2.data(), p.data(), size_t(n) * sizeof(float)) == 0);
    REQUIRE(std::memcmp(m2.data(), m.data(), size_t(n) * sizeof(float)) == 0);
    REQUIRE(std::memcmp(v2.data(), v.data(), size_t(n) * sizeof(float)) == 0);
  }
  CHECK_THROWS_AS(adamw_step(p.data(), g.data(), m.data(), v.data(), n, lr, b1, b2, eps, wd, 0),
                  std::invalid_argument);
}

TEST_CASE("vector kernels refuse null data", "[kernels][vecmath]") {
  std::vector<float> x(12, 1.0f), y(12);
  const auto message = [](auto f) { return cf::test::invalid_argument_of(f); };
  CHECK(message([&] { vec_exp(x.data(), nullptr, 12); }) ==
        "vec_exp: y is null, with 12 elements to read or write");
  CHECK(message([&] { add_row(x.data(), nullptr, y.data(), 3, 4); }) ==
        "add_row: row is null, with 12 elements to read or write");
  CHECK(message([&] { sum(nullptr, 5); }) == "sum: x is null, with 5 elements to read or write");
  CHECK(message([&] {
          adamw_step(x.data(), x.data(), y.data(), nullptr, 12, 0.1f, 0.9f, 0.999f, 1e-8f, 0.0f, 1);
        }) == "adamw_step: v is null, with 12 elements to read or write");
  CHECK(message([&] { vec_tanh(nullptr, nullptr, 0); }).empty());
}
