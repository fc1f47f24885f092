// Scalar reference twins of rowops.h: the plain formulas, one row at a time.
#include <cmath>

#include "autograd/kernels/rowops.h"

namespace cf::kernels {

void softmax_forward_scalar(const float* x, float* y, int64_t rows, int64_t cols) {
  if (cols == 0) return;  // empty rows: no x[0] to start the max from
  for (int64_t r = 0; r < rows; ++r, x += cols, y += cols) {
    float m = x[0];
    for (int64_t c = 1; c < cols; ++c) m = std::fmax(m, x[c]);
    float s = 0.0f;
    for (int64_t c = 0; c < cols; ++c) s += (y[c] = std::exp(x[c] - m));
    float inv = 1.0f / s;
    for (int64_t c = 0; c < cols; ++c) y[c] *= inv;
  }
}

void softmax_backward_scalar(const float* y, const float* dy, float* dx,
                             int64_t rows, int64_t cols) {
  for (int64_t r = 0; r < rows; ++r, y += cols, dy += cols, dx += cols) {
    float dot = 0.0f;
    for (int64_t c = 0; c < cols; ++c) dot += dy[c] * y[c];
    for (int64_t c = 0; c < cols; ++c) dx[c] = y[c] * (dy[c] - dot);
  }
}

void log_softmax_forward_scalar(const float* x, float* y, int64_t rows,
                                int64_t cols) {
  if (cols == 0) return;  // empty rows: no x[0] to start the max from
  for (int64_t r = 0; r < rows; ++r, x += cols, y += cols) {
    float m = x[0];
    for (int64_t c = 1; c < cols; ++c) m = std::fmax(m, x[c]);
    float s = 0.0f;
    for (int64_t c = 0; c < cols; ++c) s += std::exp(x[c] - m);
    float lse = m + std::log(s);
    for (int64_t c = 0; c < cols; ++c) y[c] = x[c] - lse;
  }
}

void log_softmax_backward_scalar(const float* y, const float* dy, float* dx,
                                 int64_t rows, int64_t cols) {
  for (int64_t r = 0; r < rows; ++r, y += cols, dy += cols, dx += cols) {
    float s = 0.0f;
    for (int64_t c = 0; c < cols; ++c) s += dy[c];
    for (int64_t c = 0; c < cols; ++c) dx[c] = dy[c] - std::exp(y[c]) * s;
  }
}

void layernorm_forward_scalar(const float* x, const float* w, const float* b,
                              float* y, float* mean, float* rstd, int64_t rows,
                              int64_t cols, float eps, int64_t affine_step) {
  for (int64_t r = 0; r < rows; ++r, x += cols, y += cols) {
    const float* wr = w ? w + r * affine_step : nullptr;
    const float* br = b ? b + r * affine_step : nullptr;
    float m = 0.0f;
    for (int64_t c = 0; c < cols; ++c) m += x[c];
    m /= float(cols);
    float v = 0.0f;
    for (int64_t c = 0; c < cols; ++c) v += (x[c] - m) * (x[c] - m);
    v /= float(cols);
    float rs = 1.0f / std::sqrt(v + eps);
    for (int64_t c = 0; c < cols; ++c) {
      float xh = (x[c] - m) * rs;
      y[c] = (wr ? xh * wr[c] : xh) + (br ? br[c] : 0.0f);
    }
    mean[r] = m;
    rstd[r] = rs;
  }
}

void layernorm_backward_scalar(const float* x, const float* w, const float* mean,
                               const float* rstd, const float* dy, float* dx,
                               float* dw, float* db, int64_t rows, int64_t cols) {
  for (int64_t r = 0; r < rows; ++r, x += cols, dy += cols, dx += cols) {
    float m = mean[r], rs = rstd[r];
    float g_mean = 0.0f, gx_mean = 0.0f;
    for (int64_t c = 0; c < cols; ++c) {
      float xh = (x[c] - m) * rs;
      float g = w ? dy[c] * w[c] : dy[c];
      g_mean += g;
      gx_mean += g * xh;
      if (dw) dw[c] += dy[c] * xh;
      if (db) db[c] += dy[c];
    }
    g_mean /= float(cols);
    gx_mean /= float(cols);
    for (int64_t c = 0; c < cols; ++c) {
      float xh = (x[c] - m) * rs;
      float g = w ? dy[c] * w[c] : dy[c];
      dx[c] = rs * (g - g_mean - xh * gx_mean);
    }
  }
}

void gelu_forward_scalar(const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i)
    y[i] = 0.5f * x[i] * (1.0f + std::erf(x[i] * 0.70710678118654752f));
}

void gelu_backward_scalar(const float* x, const float* dy, float* dx, int64_t n) {
  const float inv_sqrt_2pi = 0.39894228040143268f;
  for (int64_t i = 0; i < n; ++i) {
    float cdf = 0.5f * (1.0f + std::erf(x[i] * 0.70710678118654752f));
    float pdf = inv_sqrt_2pi * std::exp(-0.5f * x[i] * x[i]);
    dx[i] = dy[i] * (cdf + x[i] * pdf);
  }
}

}  // namespace cf::kernels
