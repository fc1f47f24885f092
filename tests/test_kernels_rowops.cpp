// Row kernels: every path against the scalar twins on awkward widths, the
// thread-count independence of the chunked versions, and the path switch.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "autograd/kernels/rowops.h"
#include "tests/catch.h"
#include "tests/test_kernels_util.h"

using namespace cf::kernels;
using cf::test::uniform;

namespace {

const int64_t kCols[] = {1, 3, 7, 8, 17, 33, 129, 1000};
const int64_t kRows[] = {1, 3, 17};


}  // namespace

constexpr double kU = 5.96e-8;  // unit roundoff of float, 2^-24

// Largest |got - want| / bound(i) over the arrays; <= 1 passes.
template <class Bound>
double worst_ratio(const std::vector<float>& got, const std::vector<float>& want, Bound bound) {
  double worst = 0;
  for (size_t i = 0; i < got.size(); ++i)
    worst = std::max(worst, std::fabs(double(got[i]) - want[i]) / bound(i));
  return worst;
}

// The AVX2 versions sum in 8 lanes and use a vector exp within 1 ulp of
// libm's, so they differ from the twins by rounding only. The bounds below
// are first-order rounding-error bounds of the formulas (u = 2^-24; a sum of
// `cols` terms may be off by cols * u * sum|terms| in either order), with a
// factor 4 of slack; a wrong lane, mask or formula gives errors of order 1.
TEST_CASE("softmax and log_softmax match the scalar twins", "[kernels][rowops]") {
  cf::test::SimdPathGuard guard;
  for (SimdPath path : cf::test::supported_paths()) {
    set_simd_path(path);
    for (int64_t rows : kRows)
      for (int64_t cols : kCols) {
        INFO("path " << simd_path_name(path) << " rows " << rows << " cols " << cols);
        const size_t n = static_cast<size_t>(rows * cols);
        const auto x = uniform(n, uint64_t(rows * 1000 + cols), -8.0f, 8.0f);
        const auto dy = uniform(n, uint64_t(cols), -1.0f, 1.0f);
        std::vector<float> got(n), want(n), dgot(n), dwant(n);
        // Per row: sum |dy y| and sum |dy|, the scales of the two row sums.
        const size_t C = static_cast<size_t>(cols);
        std::vector<double> dy_y_abs(static_cast<size_t>(rows)), dy_abs(dy_y_abs);

        // softmax: exp 1 ulp, the sum (positive terms) cols u relative.
        softmax_forward(x.data(), got.data(), rows, cols);
        softmax_forward_scalar(x.data(), want.data(), rows, cols);
        CHECK(worst_ratio(got, want, [&](size_t i) { return 4 * (cols + 3) * kU * want[i]; }) <= 1);

        // softmax backward: dx = y (dy - dot).
        for (size_t i = 0; i < n; ++i) {
          dy_y_abs[i / C] += std::fabs(double(dy[i]) * want[i]);
          dy_abs[i / C] += std::fabs(dy[i]);
        }
        softmax_backward(want.data(), dy.data(), dgot.data(), rows, cols);
        softmax_backward_scalar(want.data(), dy.data(), dwant.data(), rows, cols);
        CHECK(worst_ratio(dgot, dwant, [&](size_t i) {
                const double dot_err = (cols + 2) * kU * dy_y_abs[i / C];
                return 4 * (want[i] * (dot_err + 2 * kU * (std::fabs(dy[i]) + 1)) +
                            kU * std::fabs(dwant[i])) + 1e-30;
              }) <= 1);

        // log_softmax: y = x - lse, lse = x - y; error a few u of |x| + |lse|
        // plus the relative error of the sum, cols u.
        log_softmax_forward(x.data(), got.data(), rows, cols);
        log_softmax_forward_scalar(x.data(), want.data(), rows, cols);
        CHECK(worst_ratio(got, want, [&](size_t i) {
                return 4 * kU * (std::fabs(x[i]) + std::fabs(x[i] - want[i]) + cols + 3);
              }) <= 1);

        // log_softmax backward: dx = dy - exp(y) sum(dy).
        log_softmax_backward(want.data(), dy.data(), dgot.data(), rows, cols);
        log_softmax_backward_scalar(want.data(), dy.data(), dwant.data(), rows, cols);
        CHECK(worst_ratio(dgot, dwant, [&](size_t i) {
                return 4 * (std::exp(double(want[i])) * (cols + 3) * kU * dy_abs[i / C] +
                            kU * (std::fabs(dwant[i]) + std::fabs(dy[i]))) + 1e-30;
              }) <= 1);
      }
  }
}

TEST_CASE("layernorm forward and backward match the scalar twins", "[kernels][rowops]") {
  cf::test::SimdPathGuard guard;
  for (SimdPath path : cf::test::supported_paths()) {
    set_simd_path(path);
    for (int64_t rows : kRows)
      for (int64_t cols : kCols)
        // Weight and bias each given or not: the four instances of the
        // backward that layer_norm calls, (w, dw, db), (w, dw), (db), none.
        for (int affine = 0; affine < 4; ++affine) {
          const bool has_w = affine & 2, has_b = affine & 1;
          INFO("path " << simd_path_name(path) << " rows " << rows << " cols " << cols << " weight "
                       << has_w << " bias " << has_b);
          const size_t n = static_cast<size_t>(rows * cols);
          // An offset mean, so that subtracting it matters.
          const auto x = uniform(n, uint64_t(cols + rows), 2.0f, 6.0f);
          const auto dy = uniform(n, 7, -1.0f, 1.0f);
          const auto wv = uniform(static_cast<size_t>(cols), 8, 0.5f, 1.5f), bv = uniform(static_cast<size_t>(cols), 9);
          const float* w = has_w ? wv.data() : nullptr;
          const float* b = has_b ? bv.data() : nullptr;
          std::vector<float> y(n), y_ref(n), mean(static_cast<size_t>(rows)), mean_ref(mean),
              rstd(mean), rstd_ref(mean);
          layernorm_forward(x.data(), w, b, y.data(), mean.data(), rstd.data(), rows, cols, 1e-5f);
          layernorm_forward_scalar(x.data(), w, b, y_ref.data(), mean_ref.data(),
                                   rstd_ref.data(), rows, cols, 1e-5f);
          // Bounds from the rounding of the row sums (mean, variance, and
          // in backward the two means and the dw/db sums over rows).
          const size_t C = static_cast<size_t>(cols);
          auto wi = [&](size_t c) { return has_w ? std::fabs(double(wv[c])) : 1.0; };
          const double sum_err = 4 * (cols + 4) * kU;
          CHECK(worst_ratio(mean, mean_ref, [&](size_t r) { return sum_err * mean_ref[r]; }) <= 1);
          CHECK(worst_ratio(rstd, rstd_ref, [&](size_t r) { return sum_err * rstd_ref[r]; }) <= 1);
          CHECK(worst_ratio(y, y_ref, [&](size_t i) {
                  const size_t r = i / C, c = i % C;
                  return sum_err * rstd_ref[r] * wi(c) *
                             (std::fabs(mean_ref[r]) + std::fabs(x[i] - mean_ref[r])) +
                         4 * kU * std::fabs(y_ref[i]) + 1e-30;
                }) <= 1);

          // dw, db start non-zero: the kernels accumulate into them.
          std::vector<float> dx(n), dx_ref(n);
          const auto dw0 = uniform(C, 10), db0 = uniform(C, 11);
          auto dw = dw0, db = db0, dw_ref = dw0, db_ref = db0;
          layernorm_backward(x.data(), w, mean_ref.data(), rstd_ref.data(), dy.data(), dx.data(),
                             has_w ? dw.data() : nullptr, has_b ? db.data() : nullptr, rows, cols);
          layernorm_backward_scalar(x.data(), w, mean_ref.data(), rstd_ref.data(), dy.data(),
                                    dx_ref.data(), has_w ? dw_ref.data() : nullptr,
                                    has_b ? db_ref.data() : nullptr, rows, cols);
          // Per row: mean |g| and mean |g xhat|, the scales of the two means.
          std::vector<double> g_abs(static_cast<size_t>(rows)), gx_abs(g_abs);
          for (size_t i = 0; i < n; ++i) {
            const size_t r = i / C;
            const double xh = (x[i] - mean_ref[r]) * double(rstd_ref[r]);
            g_abs[r] += std::fabs(dy[i] * wi(i % C)) / cols;
            gx_abs[r] += std::fabs(dy[i] * wi(i % C) * xh) / cols;
          }
          CHECK(worst_ratio(dx, dx_ref, [&](size_t i) {
                  const size_t r = i / C;
                  const double xh = std::fabs((x[i] - mean_ref[r]) * double(rstd_ref[r]));
                  return rstd_ref[r] * (sum_err * (g_abs[r] + xh * gx_abs[r]) +
                                        4 * kU * (std::fabs(dy[i]) * wi(i % C) + xh * gx_abs[r])) +
                         4 * kU * std::fabs(dx_ref[i]) + 1e-30;
                }) <= 1);
          // Sums over rows: (rows + 4) u of the summed magnitudes, plus
          // the rounding of xhat (a few u, from the shared mean and rstd).
          std::vector<double> dw_mag(C), db_mag(C);
          for (size_t c = 0; c < C; ++c)
            dw_mag[c] = std::fabs(dw0[c]), db_mag[c] = std::fabs(db0[c]);
          for (size_t i = 0; i < n; ++i) {
            const size_t r = i / C, c = i % C;
            dw_mag[c] += std::fabs(dy[i]) * rstd_ref[r] *
                         (std::fabs(x[i] - mean_ref[r]) + std::fabs(mean_ref[r]));
            db_mag[c] += std::fabs(dy[i]);
          }
          const double rows_err = 4 * (rows + 4) * kU;
          CHECK(worst_ratio(dw, dw_ref, [&](size_t c) { return rows_err * dw_mag[c]; }) <= 1);
          CHECK(worst_ratio(db, db_ref, [&](size_t c) { return rows_err * db_mag[c]; }) <= 1);
        }
  }
}

TEST_CASE("gelu forward and backward match the scalar twins, tails included",
          "[kernels][rowops]") {
  cf::test::SimdPathGuard guard;
  // A dense sweep of [-12, 12] (the negative tail is where 1 + erf cancels)
  // plus awkward lengths.
  std::vector<float> x;
  for (int i = -120000; i <= 120000; ++i) x.push_back(float(i) * 1e-4f);
  const auto dy = uniform(x.size(), 3, 0.5f, 1.5f);
  for (SimdPath path : cf::test::supported_paths()) {
    set_simd_path(path);
    for (int64_t n : {int64_t(1), int64_t(3), int64_t(7), int64_t(17), int64_t(x.size())}) {
      INFO("path " << simd_path_name(path) << " n " << n);
      std::vector<float> got(static_cast<size_t>(n)), want(static_cast<size_t>(n));
      // The twins compute 1 + erf(x / sqrt 2), which cancels for x << 0: they
      // are only accurate to ~u absolute in the Phi factor there. So: against
      // the twin with that allowance, and against the exact function (in
      // double) relative to the output, which only the vector path meets in
      // the tail (its erfc branch keeps relative accuracy).
      // Exact for the argument as the kernels round it, x * float(1/sqrt 2):
      // in the tail erfc amplifies that rounding by 2 u^2 (up to ~150 ulp at
      // x = -12), which no kernel can undo.
      auto exact_cdf = [&](size_t i) {
        return 0.5 * std::erfc(-double(x[i] * 0.70710678118654752f));
      };
      auto exact_pdf = [&](size_t i) {  // likewise for the rounded x^2
        return std::exp(double(-0.5f * x[i] * x[i])) / std::sqrt(2 * M_PI);
      };
      std::vector<float> twin(got.size());
      gelu_forward(x.data(), got.data(), n);
      gelu_forward_scalar(x.data(), twin.data(), n);
      CHECK(worst_ratio(got, twin, [&](size_t i) {
              return 16 * kU * std::fabs(twin[i]) + 2 * kU * std::fabs(x[i]) + 1e-37;
            }) <= 1);
      if (path != SimdPath::Scalar) {
        for (size_t i = 0; i < want.size(); ++i) want[i] = float(x[i] * exact_cdf(i));
        CHECK(worst_ratio(got, want, [&](size_t i) { return 16 * kU * std::fabs(want[i]) + 1e-37; }) <= 1);
      }
      gelu_backward(x.data(), dy.data(), got.data(), n);
      gelu_backward_scalar(x.data(), dy.data(), twin.data(), n);
      // Relative to |cdf| + |x pdf|, the two terms before they cancel.
      auto scale = [&](size_t i) {
        return std::fabs(dy[i]) * (exact_cdf(i) + std::fabs(x[i]) * exact_pdf(i));
      };
      CHECK(worst_ratio(got, twin, [&](size_t i) {
              return 16 * kU * scale(i) + 2 * kU * std::fabs(dy[i]) + 1e-37;
            }) <= 1);
      if (path != SimdPath::Scalar) {
        for (size_t i = 0; i < want.size(); ++i)
          want[i] = float(dy[i] * (exact_cdf(i) + x[i] * exact_pdf(i)));
        CHECK(worst_ratio(got, want, [&](size_t i) { return 16 * kU * scale(i) + 1e-37; }) <= 1);
      }
    }
  }
}

TEST_CASE("untied layer norm: each row the bits of a one-row call with its affine row",
          "[kernels][rowops][threads]") {
  cf::test::SimdPathGuard paths;
  cf::test::ThreadCountGuard threads;
  for (SimdPath path : cf::test::supported_paths()) {
    set_simd_path(path);
    for (int64_t period : {1, 3, 5, 9})
      for (int64_t groups : {1, 4})
        for (int64_t cols : {1, 7, 33, 128}) {
          INFO("path " << simd_path_name(path) << " period " << period << " groups " << groups
                       << " cols " << cols);
          const int64_t rows = period * groups;
          const size_t n = size_t(rows * cols), C = size_t(cols), P = size_t(period);
          const auto x = uniform(n, uint64_t(rows + cols), 2.0f, 6.0f), dy = uniform(n, 3);
          const auto w = uniform(P * C, 4, 0.5f, 1.5f), b = uniform(P * C, 5);
          const auto dw0 = uniform(P * C, 6), db0 = uniform(P * C, 7);
          // The reference: one call per row, rows of each affine row in order.
          std::vector<float> y_ref(n), mean(static_cast<size_t>(rows)), rstd(static_cast<size_t>(rows)), dx_ref(n);
          auto dw_ref = dw0, db_ref = db0;
          for (int64_t r = 0; r < rows; ++r) {
            const int64_t p = r % period;
            layernorm_forward(x.data() + r * cols, w.data() + p * cols, b.data() + p * cols,
                              y_ref.data() + r * cols, mean.data() + r, rstd.data() + r, 1, cols,
                              1e-5f);
          }
          for (int64_t p = 0; p < period; ++p)
            for (int64_t r = p; r < rows; r += period)
              layernorm_backward(x.data() + r * cols, w.data() + p * cols, mean.data() + r,
                                 rstd.data() + r, dy.data() + r * cols, dx_ref.data() + r * cols,
                                 dw_ref.data() + p * cols, db_ref.data() + p * cols, 1, cols);
          for (int t : {1, 2, 3}) {
            set_num_threads(t);
            std::vector<float> y(n), m(static_cast<size_t>(rows)), s(static_cast<size_t>(rows)), dx(n);
            auto dw = dw0, db = db0;
            layernorm_forward_untied(x.data(), w.data(), b.data(), y.data(), m.data(), s.data(),
                                     rows, cols, period, 1e-5f);
            layernorm_backward_untied(x.data(), w.data(), m.data(), s.data(), dy.data(), dx.data(),
                                      dw.data(), db.data(), rows, cols, period);
            INFO(t << " threads");
            REQUIRE(std::memcmp(y.data(), y_ref.data(), n * sizeof(float)) == 0);
            REQUIRE(std::memcmp(m.data(), mean.data(), size_t(rows) * sizeof(float)) == 0);
            REQUIRE(std::memcmp(s.data(), rstd.data(), size_t(rows) * sizeof(float)) == 0);
            REQUIRE(std::memcmp(dx.data(), dx_ref.data(), n * sizeof(float)) == 0);
            REQUIRE(std::memcmp(dw.data(), dw_ref.data(), P * C * sizeof(float)) == 0);
            REQUIRE(std::memcmp(db.data(), db_ref.data(), P * C * sizeof(float)) == 0);
          }
        }
  }
}

TEST_CASE("untied layer norm rejects a partial period and a missing affine", "[kernels][rowops]") {
  std::vector<float> v(64);
  float* p = v.data();
  const auto message = [](auto f) { return cf::test::invalid_argument_of(f); };
  std::string m = message([&] { layernorm_forward_untied(p, p, p, p, p, p, 7, 2, 3, 1e-5f); });
  CHECK(m.find("layernorm_forward_untied: rows = 7 is not a whole number of periods of 3") !=
        std::string::npos);
  m = message([&] { layernorm_backward_untied(p, p, p, p, p, p, p, p, 4, 2, 0); });
  CHECK(m.find("layernorm_backward_untied") != std::string::npos);
  CHECK(m.find("periods of 0") != std::string::npos);
  m = message([&] { layernorm_forward_untied(p, p, nullptr, p, p, p, 4, 2, 2, 1e-5f); });
  CHECK(m.find("affine rows") != std::string::npos);
  m = message([&] { layernorm_backward_untied(p, nullptr, p, p, p, p, p, p, 4, 2, 2); });
  CHECK(m.find("affine rows") != std::string::npos);
}

TEST_CASE("layer norm's backward gives a row the same bits in a pair of rows or alone",
          "[kernels][rowops]") {
  // The SIMD backward takes rows two at a time and the last of an odd count
  // alone: five rows in one call (one chunk: no partial sums) against five
  // calls of one row, dw and db accumulating in the same order.
  cf::test::SimdPathGuard guard;
  const int64_t rows = 5, cols = 37;
  const size_t n = size_t(rows * cols), C = size_t(cols);
  const auto x = uniform(n, 1, 2.0f, 6.0f), dy = uniform(n, 2), w = uniform(C, 3);
  const auto mean = uniform(size_t(rows), 4, 3.0f, 5.0f);
  const auto rstd = uniform(size_t(rows), 5, 0.5f, 1.5f);
  for (SimdPath path : cf::test::supported_paths()) {
    set_simd_path(path);
    INFO("path " << simd_path_name(path));
    std::vector<float> dx(n), dx_one(n);
    auto dw = uniform(C, 6), db = uniform(C, 7), dw_one = dw, db_one = db;
    layernorm_backward(x.data(), w.data(), mean.data(), rstd.data(), dy.data(), dx.data(),
                       dw.data(), db.data(), rows, cols);
    for (int64_t r = 0; r < rows; ++r)
      layernorm_backward(x.data() + r * cols, w.data(), mean.data() + r, rstd.data() + r,
                         dy.data() + r * cols, dx_one.data() + r * cols, dw_one.data(),
                         db_one.data(), 1, cols);
    REQUIRE(std::memcmp(dx.data(), dx_one.data(), n * sizeof(float)) == 0);
    REQUIRE(std::memcmp(dw.data(), dw_one.data(), C * sizeof(float)) == 0);
    REQUIRE(std::memcmp(db.data(), db_one.data(), C * sizeof(float)) == 0);
  }
}

TEST_CASE("softmax's and layer norm's forwards give a row the same bits in a group or alone",
          "[kernels][rowops]") {
  // The SIMD forwards take rows four at a time and the rest alone: six rows
  // in one call (one chunk) against six calls of one row.
  cf::test::SimdPathGuard guard;
  const int64_t rows = 6, cols = 45;
  const size_t n = size_t(rows * cols), R = size_t(rows);
  const auto x = uniform(n, 1, -6.0f, 6.0f), w = uniform(size_t(cols), 2),
             b = uniform(size_t(cols), 3);
  for (SimdPath path : cf::test::supported_paths()) {
    set_simd_path(path);
    INFO("path " << simd_path_name(path));
    std::vector<float> y(n), y_one(n), mean(R), mean_one(R), rstd(R), rstd_one(R);
    softmax_forward(x.data(), y.data(), rows, cols);
    for (int64_t r = 0; r < rows; ++r)
      softmax_forward(x.data() + r * cols, y_one.data() + r * cols, 1, cols);
    REQUIRE(std::memcmp(y.data(), y_one.data(), n * sizeof(float)) == 0);
    layernorm_forward(x.data(), w.data(), b.data(), y.data(), mean.data(), rstd.data(), rows,
                      cols, 1e-5f);
    for (int64_t r = 0; r < rows; ++r)
      layernorm_forward(x.data() + r * cols, w.data(), b.data(), y_one.data() + r * cols,
                        mean_one.data() + r, rstd_one.data() + r, 1, cols, 1e-5f);
    REQUIRE(std::memcmp(y.data(), y_one.data(), n * sizeof(float)) == 0);
    REQUIRE(std::memcmp(mean.data(), mean_one.data(), R * sizeof(float)) == 0);
    REQUIRE(std::memcmp(rstd.data(), rstd_one.data(), R * sizeof(float)) == 0);
  }
}

TEST_CASE("layer norm's backward takes dx = dy and rejects a dx over x or w", "[kernels][rowops]") {
  // The SIMD backward reads a row's dy in both of its passes and writes dx
  // in the second, element by element after reading dy.
  cf::test::SimdPathGuard guard;
  const int64_t rows = 5, cols = 37, P = 5;
  const size_t n = size_t(rows * cols), C = size_t(cols);
  const auto x = uniform(n, 1, 2.0f, 6.0f), dy = uniform(n, 2), w = uniform(size_t(P) * C, 3);
  const std::vector<float> mean(size_t(rows), 4.0f), rstd(size_t(rows), 0.8f);
  for (SimdPath path : cf::test::supported_paths()) {
    set_simd_path(path);
    INFO("path " << simd_path_name(path));
    std::vector<float> dx(n), in_place = dy;
    layernorm_backward(x.data(), w.data(), mean.data(), rstd.data(), dy.data(), dx.data(), nullptr,
                       nullptr, rows, cols);
    layernorm_backward(x.data(), w.data(), mean.data(), rstd.data(), in_place.data(),
                       in_place.data(), nullptr, nullptr, rows, cols);
    REQUIRE(std::memcmp(dx.data(), in_place.data(), n * sizeof(float)) == 0);
    // Without dw and db, dx keeps the bits of the instance with them, which
    // the scalar-twin test above checks.
    std::vector<float> dx_full(n), dw(C), db(C);
    layernorm_backward(x.data(), w.data(), mean.data(), rstd.data(), dy.data(), dx_full.data(),
                       dw.data(), db.data(), rows, cols);
    REQUIRE(std::memcmp(dx.data(), dx_full.data(), n * sizeof(float)) == 0);
    in_place = dy;
    layernorm_backward_untied(x.data(), w.data(), mean.data(), rstd.data(), dy.data(), dx.data(),
                              nullptr, nullptr, rows, cols, P);
    layernorm_backward_untied(x.data(), w.data(), mean.data(), rstd.data(), in_place.data(),
                              in_place.data(), nullptr, nullptr, rows, cols, P);
    REQUIRE(std::memcmp(dx.data(), in_place.data(), n * sizeof(float)) == 0);
  }
  auto scratch = x;
  const auto message = [](auto f) { return cf::test::invalid_argument_of(f); };
  // dx starting half a row into x; w just past dx (no overlap), then on its
  // last float; an empty dx inside w.
  std::string m = message([&] {
    layernorm_backward(scratch.data(), w.data(), mean.data(), rstd.data(), dy.data(),
                       scratch.data() + cols / 2, nullptr, nullptr, rows - 1, cols);
  });
  CHECK(m.find("layernorm_backward: dx overlaps x") != std::string::npos);
  CHECK(m.find("it may be dy") != std::string::npos);
  m = message([&] {
    layernorm_backward_untied(x.data(), scratch.data() + cols, mean.data(), rstd.data(),
                              dy.data(), scratch.data(), nullptr, nullptr, 1, cols, 1);
  });
  CHECK(m.find("layernorm_backward_untied: dx overlaps w") == std::string::npos);
  m = message([&] {
    layernorm_backward_untied(x.data(), scratch.data() + cols - 1, mean.data(), rstd.data(),
                              dy.data(), scratch.data(), nullptr, nullptr, 1, cols, 1);
  });
  CHECK(m.find("layernorm_backward_untied: dx overlaps w") != std::string::npos);
  CHECK(message([&] {
          layernorm_backward(x.data(), scratch.data(), mean.data(), rstd.data(), dy.data(),
                             scratch.data() + 1, nullptr, nullptr, 0, cols);
        }).empty());
}

TEST_CASE("row kernels are bit-identical with 1, 2 and 8 threads", "[kernels][rowops][threads]") {
  cf::test::ThreadCountGuard guard;
  // Enough rows for several chunks, so layernorm's dw/db go through the
  // per-chunk partials; with 1024 columns, more chunks of the row grain than
  // layernorm_backward keeps partials for, so its chunks grow instead.
  for (const auto& [rows, cols] : {std::pair<int64_t, int64_t>{300, 257}, {300, 1024}}) {
    INFO("rows " << rows << " cols " << cols);
    const size_t n = static_cast<size_t>(rows * cols);
    const auto x = uniform(n, 1), dy = uniform(n, 2), w = uniform(static_cast<size_t>(cols), 3);
    std::vector<float> first;
    for (int threads : {1, 2, 8}) {
      set_num_threads(threads);
      const size_t R = static_cast<size_t>(rows), C = static_cast<size_t>(cols);
      std::vector<float> y(n), dx(n), mean(R), rstd(R), dw(C, 0.5f), db(C, 0.25f);
      softmax_forward(x.data(), y.data(), rows, cols);
      layernorm_forward(x.data(), w.data(), nullptr, y.data(), mean.data(), rstd.data(), rows, cols,
                        1e-5f);
      layernorm_backward(x.data(), w.data(), mean.data(), rstd.data(), dy.data(), dx.data(),
                         dw.data(), db.data(), rows, cols);
      std::vector<float> all = y;
      for (const auto* v : {&dx, &mean, &rstd, &dw, &db})
        all.insert(all.end(), v->begin(), v->end());
      if (first.empty())
        first = all;
      else
        REQUIRE(std::memcmp(first.data(), all.data(), all.size() * sizeof(float)) == 0);
    }
  }
}

TEST_CASE("the scalar path runs the scalar twins", "[kernels][rowops]") {
  // With the path forced to scalar, the public function must give the twin's
  // exact bits; on the AVX2 path the vector exp makes some element differ.
  cf::test::SimdPathGuard guard;
  const int64_t rows = 4, cols = 100;
  const auto x = uniform(static_cast<size_t>(rows * cols), 5, -4.0f, 4.0f);
  std::vector<float> want(x.size()), got(x.size());
  softmax_forward_scalar(x.data(), want.data(), rows, cols);
  set_simd_path(SimdPath::Scalar);
  softmax_forward(x.data(), got.data(), rows, cols);
  REQUIRE(std::memcmp(got.data(), want.data(), got.size() * sizeof(float)) == 0);
  if (simd_path_supported(SimdPath::Avx2)) {
    set_simd_path(SimdPath::Avx2);
    softmax_forward(x.data(), got.data(), rows, cols);
    CHECK(std::memcmp(got.data(), want.data(), got.size() * sizeof(float)) != 0);
  }
  CHECK_THROWS_AS(softmax_forward(x.data(), got.data(), -1, cols), std::invalid_argument);
  CHECK_THROWS_AS(layernorm_forward(x.data(), nullptr, nullptr, got.data(), got.data(),
                                    got.data(), 2, 0, 1e-5f),
                  std::invalid_argument);
}

TEST_CASE("row kernels refuse null data, and take none for empty rows", "[kernels][rowops]") {
  std::vector<float> a(16, 0.5f), b(16, 0.5f), c(16), stats(2, 1.0f);
  const auto message = [](auto f) { return cf::test::invalid_argument_of(f); };
  CHECK(message([&] { softmax_forward(nullptr, c.data(), 2, 8); }) ==
        "softmax_forward: x is null, with 16 elements to read or write");
  CHECK(message([&] { log_softmax_backward(a.data(), b.data(), nullptr, 2, 8); }) ==
        "log_softmax_backward: dx is null, with 16 elements to read or write");
  CHECK(message([&] {
          layernorm_backward(a.data(), nullptr, nullptr, stats.data(), b.data(), c.data(), nullptr,
                             nullptr, 2, 8);
        }) == "layernorm_backward: mean is null, with 16 elements to read or write");
  CHECK(message([&] { gelu_forward(a.data(), nullptr, 16); }) ==
        "gelu_forward: y is null, with 16 elements to read or write");
  CHECK(message([&] { softmax_forward(nullptr, nullptr, 3, 0); }).empty());
  CHECK(message([&] { gelu_backward(nullptr, nullptr, nullptr, 0); }).empty());
  // The scalar twins alone, on rows of no columns: nothing read or written.
  softmax_forward_scalar(nullptr, nullptr, 3, 0);
  log_softmax_forward_scalar(nullptr, nullptr, 3, 0);
}
