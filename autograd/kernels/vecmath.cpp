// Public entry points of vecmath.h: argument checks, path choice, threads.
#include <stdexcept>
#include <string>

#include "autograd/kernels/simd_kernels.h"
#include "autograd/kernels/vecmath.h"

namespace cf::kernels {
namespace {

using UnaryFn = void (*)(const float*, float*, int64_t);
using RowFn = void (*)(const float*, const float*, float*, int64_t, int64_t);

void check_size(const char* fn, int64_t n) {
  if (n < 0) throw std::invalid_argument(std::string(fn) + ": n = " + std::to_string(n) + " < 0");
}

void run_unary(const char* name, UnaryFn fn, const float* x, float* y, int64_t n) {
  check_size(name, n);
  detail::check_not_null(name, n, {{"x", x}, {"y", y}});
  detail::parallel_elements(n, [&](int64_t b, int64_t e) { fn(x + b, y + b, e - b); });
}

void run_rows(const char* name, RowFn fn, const float* x, const float* row, float* y,
              int64_t rows, int64_t cols) {
  if (rows < 0 || cols < 0)
    throw std::invalid_argument(std::string(name) + ": rows = " + std::to_string(rows) +
                                ", cols = " + std::to_string(cols) + "; need both >= 0");
  detail::check_not_null(name, rows * cols, {{"x", x}, {"row", row}, {"y", y}});
  detail::parallel_rows(rows, cols, [&](int64_t b, int64_t e) {
    fn(x + b * cols, row, y + b * cols, e - b, cols);
  });
}

}  // namespace

void vec_exp(const float* x, float* y, int64_t n) {
  run_unary("vec_exp", CF_SIMD_OR(vec_exp_scalar, detail::simd::vec_exp), x, y, n);
}
void vec_log(const float* x, float* y, int64_t n) {
  run_unary("vec_log", CF_SIMD_OR(vec_log_scalar, detail::simd::vec_log), x, y, n);
}
void vec_tanh(const float* x, float* y, int64_t n) {
  run_unary("vec_tanh", CF_SIMD_OR(vec_tanh_scalar, detail::simd::vec_tanh), x,
            y, n);
}
void vec_sigmoid(const float* x, float* y, int64_t n) {
  run_unary("vec_sigmoid", CF_SIMD_OR(vec_sigmoid_scalar, detail::simd::vec_sigmoid), x, y, n);
}
void vec_erf(const float* x, float* y, int64_t n) {
  run_unary("vec_erf", CF_SIMD_OR(vec_erf_scalar, detail::simd::vec_erf), x, y, n);
}

void add_row(const float* x, const float* row, float* y, int64_t rows, int64_t cols) {
  run_rows("add_row", CF_SIMD_OR(add_row_scalar, detail::simd::add_row), x, row,
           y, rows, cols);
}
void mul_row(const float* x, const float* row, float* y, int64_t rows, int64_t cols) {
  run_rows("mul_row", CF_SIMD_OR(mul_row_scalar, detail::simd::mul_row), x, row,
           y, rows, cols);
}

float sum(const float* x, int64_t n) {
  check_size("sum", n);
  detail::check_not_null("sum", n, {{"x", x}});
  const auto fn = CF_AVX2_OR(detail::sum_block_scalar, detail::sum_block_avx2);
  // One chunk per block; the partials are combined in block order, exactly
  // like sum_scalar's loop.
  return parallel_reduce(
      n, kSumBlock, 0.0f, [&](int64_t b, int64_t e) { return fn(x + b, e - b); },
      [](float a, float b) { return a + b; });
}

void adamw_step(float* p, const float* g, float* m, float* v, int64_t n, float lr, float beta1,
                float beta2, float eps, float weight_decay, int64_t step) {
  check_size("adamw_step", n);
  detail::check_not_null("adamw_step", n, {{"p", p}, {"g", g}, {"m", m}, {"v", v}});
  if (step < 1)
    throw std::invalid_argument("adamw_step: step = " + std::to_string(step) +
                                ", steps count from 1");
  const float bc1 = detail::bias_correction(beta1, step);
  const float bc2 = detail::bias_correction(beta2, step);
  const auto fn = CF_SIMD_OR(detail::adamw_scalar, detail::simd::adamw);
  detail::parallel_elements(n, [&](int64_t b, int64_t e) {
    fn(p + b, g + b, m + b, v + b, e - b, lr, beta1, beta2, eps, weight_decay, bc1, bc2);
  });
}

}  // namespace cf::kernels
