// Public entry points of rowops.h: argument checks, path choice, threads.
// Rows are independent, so they are split into chunks of whole rows (fixed
// by the sizes, threads.h) and every output is the same for any thread count.
#include <algorithm>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "autograd/kernels/rowops.h"
#include "autograd/kernels/simd_kernels.h"
#include "autograd/kernels/vecmath.h"

namespace cf::kernels {
namespace {

// Empty rows (cols == 0) are fine for the softmaxes (nothing to write) but
// not for layer norm, whose mean and rstd would be undefined.
void check(const char* fn, int64_t rows, int64_t cols, bool empty_rows_ok = true) {
  if (rows < 0 || cols < 0 || (!empty_rows_ok && rows > 0 && cols == 0))
    throw std::invalid_argument(std::string(fn) + ": rows = " + std::to_string(rows) +
                                ", cols = " + std::to_string(cols) + "; need rows >= 0 and " +
                                (empty_rows_ok ? "cols >= 0" : "cols >= 1"));
}

// Layer norm's backward reads x and w after writing parts of dx (w for every
// later row, x for the other row of a pair: rowops_simd.h), so dx must not
// overlap them. dx may be dy itself: each dy is read before the dx in its
// place is written.
void check_dx_apart(const char* fn, const float* dx, const float* x, const float* w,
                    int64_t rows, int64_t cols, int64_t w_rows) {
  const int64_t n = rows * cols;
  const char* name = detail::overlaps(dx, n, x, n)                ? "x"
                     : detail::overlaps(dx, n, w, w_rows * cols) ? "w"
                                                                 : nullptr;
  if (name)
    throw std::invalid_argument(std::string(fn) + ": dx overlaps " + name +
                                ", which the backward reads after writing dx; give dx its own "
                                "buffer (it may be dy)");
}

using RowMap = void (*)(const float*, float*, int64_t, int64_t);
using RowMap2 = void (*)(const float*, const float*, float*, int64_t, int64_t);

void run(const char* name, RowMap fn, const float* x, float* y, int64_t rows, int64_t cols) {
  check(name, rows, cols);
  if (cols == 0) return;
  detail::parallel_rows(rows, cols, [&](int64_t b, int64_t e) {
    fn(x + b * cols, y + b * cols, e - b, cols);
  });
}

void run(const char* name, RowMap2 fn, const float* a, const float* b, float* y, int64_t rows,
         int64_t cols) {
  check(name, rows, cols);
  if (cols == 0) return;
  detail::parallel_rows(rows, cols, [&](int64_t r0, int64_t r1) {
    fn(a + r0 * cols, b + r0 * cols, y + r0 * cols, r1 - r0, cols);
  });
}

}  // namespace

void softmax_forward(const float* x, float* y, int64_t rows, int64_t cols) {
  detail::check_not_null("softmax_forward", rows * cols, {{"x", x}, {"y", y}});
  run("softmax_forward", CF_SIMD_OR(softmax_forward_scalar, detail::simd::softmax_forward), x, y,
      rows, cols);
}
void softmax_backward(const float* y, const float* dy, float* dx, int64_t rows, int64_t cols) {
  detail::check_not_null("softmax_backward", rows * cols, {{"y", y}, {"dy", dy}, {"dx", dx}});
  run("softmax_backward", CF_SIMD_OR(softmax_backward_scalar, detail::simd::softmax_backward), y,
      dy, dx, rows, cols);
}
void log_softmax_forward(const float* x, float* y, int64_t rows, int64_t cols) {
  detail::check_not_null("log_softmax_forward", rows * cols, {{"x", x}, {"y", y}});
  run("log_softmax_forward",
      CF_SIMD_OR(log_softmax_forward_scalar, detail::simd::log_softmax_forward), x, y, rows, cols);
}
void log_softmax_backward(const float* y, const float* dy, float* dx, int64_t rows,
                          int64_t cols) {
  detail::check_not_null("log_softmax_backward", rows * cols, {{"y", y}, {"dy", dy}, {"dx", dx}});
  run("log_softmax_backward",
      CF_SIMD_OR(log_softmax_backward_scalar, detail::simd::log_softmax_backward), y, dy, dx, rows,
      cols);
}

void layernorm_forward(const float* x, const float* w, const float* b, float* y, float* mean,
                       float* rstd, int64_t rows, int64_t cols, float eps) {
  check("layernorm_forward", rows, cols, false);
  detail::check_not_null("layernorm_forward", rows * cols,
                         {{"x", x}, {"y", y}, {"mean", mean}, {"rstd", rstd}});
  const auto fn = CF_SIMD_OR(layernorm_forward_scalar, detail::simd::layernorm_forward);
  detail::parallel_rows(rows, cols, [&](int64_t r0, int64_t r1) {
    fn(x + r0 * cols, w, b, y + r0 * cols, mean + r0, rstd + r0, r1 - r0, cols, eps, 0);
  });
}

void layernorm_backward(const float* x, const float* w, const float* mean, const float* rstd,
                        const float* dy, float* dx, float* dw, float* db, int64_t rows,
                        int64_t cols) {
  check("layernorm_backward", rows, cols, false);
  detail::check_not_null("layernorm_backward", rows * cols,
                         {{"x", x}, {"mean", mean}, {"rstd", rstd}, {"dy", dy}, {"dx", dx}});
  check_dx_apart("layernorm_backward", dx, x, w, rows, cols, 1);
  const auto fn = CF_SIMD_OR(layernorm_backward_scalar, detail::simd::layernorm_backward);
  // dw and db sum over rows: each chunk of rows sums into its own partial,
  // and the partials are added in chunk order, so the sums do not depend on
  // which thread ran which chunk. The chunks are at most kMaxPartials (more
  // than any pool needs, and fixed by the sizes alone), so the partials stay
  // small enough to zero and add every call; they live in one buffer per
  // calling thread, which a steady state reuses without allocating.
  constexpr int64_t kMaxPartials = 16;
  const int64_t grain =
      std::max(detail::row_grain(cols), (rows + kMaxPartials - 1) / kMaxPartials);
  const int64_t chunks = (rows + grain - 1) / grain;
  if ((dw == nullptr && db == nullptr) || chunks <= 1) {
    parallel_for(rows, grain, [&](int64_t r0, int64_t r1) {
      fn(x + r0 * cols, w, mean + r0, rstd + r0, dy + r0 * cols, dx + r0 * cols, dw, db,
         r1 - r0, cols);
    });
    return;
  }
  // Chunk c's dw partial starts at 2 c stride, its db partial at
  // (2 c + 1) stride. Each starts on a 64-byte line, as a tensor's rows do
  // (a vector load that straddles two lines costs twice). The stride pads a
  // row by a further 64 bytes, so the two never share their address bits
  // below 4 KiB (a load of one behind a store to the other would wait for
  // it: 4K aliasing).
  const int64_t stride = (cols + 15) / 16 * 16 + 16;
  thread_local detail::ScratchBuffer partials;
  // The caller's buffer: workers have their own `partials`.
  float* const part = partials.get(size_t(2 * chunks * stride));
  parallel_for(rows, grain, [&](int64_t r0, int64_t r1) {
    const int64_t c = r0 / grain;
    float* pw = dw ? part + 2 * c * stride : nullptr;
    float* pb = db ? part + (2 * c + 1) * stride : nullptr;
    if (pw) std::fill(pw, pw + cols, 0.0f);
    if (pb) std::fill(pb, pb + cols, 0.0f);
    fn(x + r0 * cols, w, mean + r0, rstd + r0, dy + r0 * cols, dx + r0 * cols, pw, pb, r1 - r0,
       cols);
  });
  for (int64_t c = 0; c < chunks; ++c) {
    if (dw) add_row(dw, part + 2 * c * stride, dw, 1, cols);
    if (db) add_row(db, part + (2 * c + 1) * stride, db, 1, cols);
  }
}

namespace {

// The untied forms' extra checks: a whole number of periods, and the affine.
void check_untied(const char* fn, int64_t rows, int64_t cols, int64_t period, bool affine) {
  check(fn, rows, cols, false);
  if (period < 1 || rows % period != 0)
    throw std::invalid_argument(std::string(fn) + ": rows = " + std::to_string(rows) +
                                " is not a whole number of periods of " +
                                std::to_string(period) + " rows");
  if (!affine)
    throw std::invalid_argument(std::string(fn) +
                                ": the affine rows (w, and b for the forward) are required");
}

}  // namespace

void layernorm_forward_untied(const float* x, const float* w, const float* b, float* y,
                              float* mean, float* rstd, int64_t rows, int64_t cols,
                              int64_t period, float eps) {
  check_untied("layernorm_forward_untied", rows, cols, period, w != nullptr && b != nullptr);
  detail::check_not_null("layernorm_forward_untied", rows * cols,
                         {{"x", x}, {"y", y}, {"mean", mean}, {"rstd", rstd}});
  const auto fn = CF_SIMD_OR(layernorm_forward_scalar, detail::simd::layernorm_forward);
  // Runs of rows whose affine rows follow one another (up to the period's
  // end), in one call each, so the kernel can take them four at a time.
  detail::parallel_rows(rows, cols, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0, run; r < r1; r += run) {
      const int64_t p = r % period;
      run = std::min(r1 - r, period - p);
      fn(x + r * cols, w + p * cols, b + p * cols, y + r * cols, mean + r, rstd + r, run, cols,
         eps, cols);
    }
  });
}

void layernorm_backward_untied(const float* x, const float* w, const float* mean,
                               const float* rstd, const float* dy, float* dx, float* dw,
                               float* db, int64_t rows, int64_t cols, int64_t period) {
  check_untied("layernorm_backward_untied", rows, cols, period, w != nullptr);
  detail::check_not_null("layernorm_backward_untied", rows * cols,
                         {{"x", x}, {"mean", mean}, {"rstd", rstd}, {"dy", dy}, {"dx", dx}});
  check_dx_apart("layernorm_backward_untied", dx, x, w, rows, cols, period);
  const auto fn = CF_SIMD_OR(layernorm_backward_scalar, detail::simd::layernorm_backward);
  // Affine row p owns dw[p] and db[p] and takes its rows in order: the same
  // bits for any thread count.
  parallel_for(period, 1, [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p)
      for (int64_t r = p; r < rows; r += period)
        fn(x + r * cols, w + p * cols, mean + r, rstd + r, dy + r * cols, dx + r * cols,
           dw ? dw + p * cols : nullptr, db ? db + p * cols : nullptr, 1, cols);
  });
}

void gelu_forward(const float* x, float* y, int64_t n) {
  if (n < 0) throw std::invalid_argument("gelu_forward: n = " + std::to_string(n) + " < 0");
  detail::check_not_null("gelu_forward", n, {{"x", x}, {"y", y}});
  const auto fn = CF_SIMD_OR(gelu_forward_scalar, detail::simd::gelu_forward);
  detail::parallel_elements(n, [&](int64_t b, int64_t e) { fn(x + b, y + b, e - b); });
}

void gelu_backward(const float* x, const float* dy, float* dx, int64_t n) {
  if (n < 0) throw std::invalid_argument("gelu_backward: n = " + std::to_string(n) + " < 0");
  detail::check_not_null("gelu_backward", n, {{"x", x}, {"dy", dy}, {"dx", dx}});
  const auto fn = CF_SIMD_OR(gelu_backward_scalar, detail::simd::gelu_backward);
  detail::parallel_elements(n, [&](int64_t b, int64_t e) { fn(x + b, dy + b, dx + b, e - b); });
}

}  // namespace cf::kernels
