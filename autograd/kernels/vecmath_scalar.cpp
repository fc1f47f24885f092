// Scalar reference twins of vecmath.h: plain loops over the C library.
#include <algorithm>
#include <cmath>

#include "autograd/kernels/simd_kernels.h"
#include "autograd/kernels/vecmath.h"

namespace cf::kernels {

void vec_exp_scalar(const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = std::exp(x[i]);
}
void vec_log_scalar(const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = std::log(x[i]);
}
void vec_tanh_scalar(const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = std::tanh(x[i]);
}
void vec_sigmoid_scalar(const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = 1.0f / (1.0f + std::exp(-x[i]));
}
void vec_erf_scalar(const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = std::erf(x[i]);
}

void add_row_scalar(const float* x, const float* row, float* y, int64_t rows, int64_t cols) {
  for (int64_t r = 0; r < rows; ++r, x += cols, y += cols)
    for (int64_t c = 0; c < cols; ++c) y[c] = x[c] + row[c];
}
void mul_row_scalar(const float* x, const float* row, float* y, int64_t rows, int64_t cols) {
  for (int64_t r = 0; r < rows; ++r, x += cols, y += cols)
    for (int64_t c = 0; c < cols; ++c) y[c] = x[c] * row[c];
}

float sum_scalar(const float* x, int64_t n) {
  float total = 0.0f;
  for (int64_t b = 0; b < n; b += kSumBlock)
    total += detail::sum_block_scalar(x + b, std::min(kSumBlock, n - b));
  return total;
}

void adamw_step_scalar(float* p, const float* g, float* m, float* v, int64_t n, float lr,
                       float beta1, float beta2, float eps, float weight_decay, int64_t step) {
  detail::adamw_scalar(p, g, m, v, n, lr, beta1, beta2, eps, weight_decay,
                       detail::bias_correction(beta1, step), detail::bias_correction(beta2, step));
}

namespace detail {

float sum_block_scalar(const float* x, int64_t n) {
  // The 32 partials are the 4 x 8 lanes of the AVX2 version's accumulators.
  float p[32] = {};
  const int64_t n32 = n - n % 32;
  for (int64_t i = 0; i < n32; i += 32)
    for (int j = 0; j < 32; ++j) p[j] += x[i + j];
  for (int j = 0; j < 8; ++j) p[j] = (p[j] + p[j + 8]) + (p[j + 16] + p[j + 24]);
  for (int width = 4; width >= 1; width /= 2)
    for (int j = 0; j < width; ++j) p[j] += p[j + width];
  float s = p[0];
  for (int64_t i = n32; i < n; ++i) s += x[i];
  return s;
}

void adamw_scalar(float* p, const float* g, float* m, float* v, int64_t n, float lr,
                  float beta1, float beta2, float eps, float weight_decay, float bc1, float bc2) {
  const float decay = lr * weight_decay, one_minus_b1 = 1.0f - beta1,
              one_minus_b2 = 1.0f - beta2;
  for (int64_t i = 0; i < n; ++i) {
    const float pi = p[i] - decay * p[i];
    m[i] = beta1 * m[i] + one_minus_b1 * g[i];
    v[i] = beta2 * v[i] + one_minus_b2 * (g[i] * g[i]);
    const float m_hat = m[i] / bc1, v_hat = v[i] / bc2;
    p[i] = pi - (lr * m_hat) / (std::sqrt(v_hat) + eps);
  }
}

}  // namespace detail
}  // namespace cf::kernels
