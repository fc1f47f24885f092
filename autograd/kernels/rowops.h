// Row-wise and elementwise kernels behind the softmax, layer-norm and GELU ops.
// Plain functions on pointers and sizes; each public function picks the fastest
// path this CPU has (cpu.h) and splits whole rows over the thread pool
// (threads.h: results do not depend on the thread count), and its `_scalar`
// twin is the serial reference it is tested against. The AVX2 path differs
// from the twins by rounding only (8-lane sums, the vector exp/erf of
// vecmath.h's accuracy table); in GELU's negative tail it is the more
// accurate one. Rows are contiguous, `cols` floats long. Negative sizes throw
// std::invalid_argument, as does layer norm over empty rows. The softmax
// kernels may run in place (y == x, dx == dy).
#pragma once
#include <cstdint>

namespace cf::kernels {

// y = softmax(x) per row, computed as exp(x - max) / sum (stable).
void softmax_forward(const float* x, float* y, int64_t rows, int64_t cols);
// dx = y * (dy - sum(dy * y)) per row.
void softmax_backward(const float* y, const float* dy, float* dx, int64_t rows,
                      int64_t cols);
// y = x - max - log(sum(exp(x - max))) per row.
void log_softmax_forward(const float* x, float* y, int64_t rows, int64_t cols);
// dx = dy - exp(y) * sum(dy) per row.
void log_softmax_backward(const float* y, const float* dy, float* dx,
                          int64_t rows, int64_t cols);

// Layer norm over each row: xhat = (x - mean) * rstd, y = xhat * w + b.
// w and b may be null (no affine). mean and rstd (one per row) are saved for
// the backward pass. Biased variance, as ARCHITECTURES.md section 0 fixes.
void layernorm_forward(const float* x, const float* w, const float* b, float* y,
                       float* mean, float* rstd, int64_t rows, int64_t cols,
                       float eps);
// dx = rstd * (g - mean(g) - xhat * mean(g * xhat)) with g = dy * w;
// dw += sum over rows of dy * xhat, db += sum over rows of dy (when non-null).
// dx may be dy; if it overlaps x or w, this and layernorm_backward_untied throw.
void layernorm_backward(const float* x, const float* w, const float* mean,
                        const float* rstd, const float* dy, float* dx,
                        float* dw, float* db, int64_t rows, int64_t cols);
// Untied layer norm (the Columnformer's per-column norms, ARCHITECTURES.md
// (3.4)): row r takes the affine of row r % period of w and b, each
// (period, cols) and required. Each row gets the bits of the calls above on
// that row alone; dw and db ((period, cols), when non-null) gain, row by
// row, the sum over their rows r = p, p + period, ... in increasing order.
// One call instead of one per row: the per-call dispatch cost as much as a
// 128-float row's arithmetic.
void layernorm_forward_untied(const float* x, const float* w, const float* b, float* y,
                              float* mean, float* rstd, int64_t rows, int64_t cols,
                              int64_t period, float eps);
void layernorm_backward_untied(const float* x, const float* w, const float* mean,
                               const float* rstd, const float* dy, float* dx, float* dw,
                               float* db, int64_t rows, int64_t cols, int64_t period);

// gelu(u) = 0.5 u (1 + erf(u / sqrt 2)); gelu'(u) = Phi(u) + u phi(u).
void gelu_forward(const float* x, float* y, int64_t n);
void gelu_backward(const float* x, const float* dy, float* dx, int64_t n);

// Scalar reference twins.
void softmax_forward_scalar(const float* x, float* y, int64_t rows, int64_t cols);
void softmax_backward_scalar(const float* y, const float* dy, float* dx,
                             int64_t rows, int64_t cols);
void log_softmax_forward_scalar(const float* x, float* y, int64_t rows,
                                int64_t cols);
void log_softmax_backward_scalar(const float* y, const float* dy, float* dx,
                                 int64_t rows, int64_t cols);
// affine_step: how far apart the rows' affines are in w and b (0: one affine
// for every row; cols: row r takes row r of w and b, as the untied form).
void layernorm_forward_scalar(const float* x, const float* w, const float* b,
                              float* y, float* mean, float* rstd, int64_t rows,
                              int64_t cols, float eps, int64_t affine_step = 0);
void layernorm_backward_scalar(const float* x, const float* w, const float* mean,
                               const float* rstd, const float* dy, float* dx,
                               float* dw, float* db, int64_t rows, int64_t cols);
void gelu_forward_scalar(const float* x, float* y, int64_t n);
void gelu_backward_scalar(const float* x, const float* dy, float* dx, int64_t n);

}  // namespace cf::kernels
