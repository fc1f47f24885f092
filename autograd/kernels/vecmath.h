// Elementwise and reduction kernels on float arrays, for the ops and the
// optimizer. Like rowops.h: each public function runs the active SIMD path
// (cpu.h) over fixed chunks on the thread pool (threads.h), and its `_scalar`
// twin is the serial reference the tests compare against.
//
// Accuracy of the AVX2 path against glibc's float functions: the maximum
// over dense grids, measured by tests/test_kernels_vecmath.cpp (which fails
// past measured + 1 ulp), see docs/PERFORMANCE.md:
//   vec_exp     1 ulp on [-87.3, 88.7] (all normal results); exact inf / 0
//               outside, denormal results to within 2 ulp of the denormal step
//   vec_log     1 ulp where |log x| >= 0.5 (all binades, denormals
//               included); 6.0e-8 absolute on [0.5, 2]
//   vec_tanh    2 ulp on [-10, 10]
//   vec_erf     1.2e-7 absolute on [-6, 6]; 2 ulp on (-1, 1)
//   vec_sigmoid 4 ulp on [-80, 80] (1 / (1 + exp(-x)))
// add_row, mul_row and adamw_step are bit-identical on every path; sum is
// bit-identical on every path and thread count (its order is fixed, below).
#pragma once
#include <cstdint>

namespace cf::kernels {

// y[i] = f(x[i]); y may alias x.
void vec_exp(const float* x, float* y, int64_t n);
void vec_log(const float* x, float* y, int64_t n);
void vec_tanh(const float* x, float* y, int64_t n);
void vec_sigmoid(const float* x, float* y, int64_t n);
void vec_erf(const float* x, float* y, int64_t n);

// y[r, c] = x[r, c] + row[c] (bias add) / x[r, c] * row[c]; y may alias x.
void add_row(const float* x, const float* row, float* y, int64_t rows, int64_t cols);
void mul_row(const float* x, const float* row, float* y, int64_t rows, int64_t cols);

// Sum of x[0..n), in a fixed order that does not depend on the SIMD path or
// the thread count: blocks of kSumBlock elements, each summed with 32
// interleaved partial sums (element i goes to partial i % 32) that are
// combined as  p[j] = (p[j] + p[j+8]) + (p[j+16] + p[j+24]), then lanes
// j + 4, j + 2, j + 1 in halving steps, then the block's tail (n % 32)
// added in order; the block sums are added left to right.
constexpr int64_t kSumBlock = 1 << 16;
float sum(const float* x, int64_t n);

// One AdamW step (decoupled weight decay, Loshchilov & Hutter):
//   p -= lr * weight_decay * p
//   m = beta1 m + (1 - beta1) g;   v = beta2 v + (1 - beta2) g^2
//   p -= lr * (m / (1 - beta1^step)) / (sqrt(v / (1 - beta2^step)) + eps)
// step counts from 1 (std::invalid_argument otherwise).
void adamw_step(float* p, const float* g, float* m, float* v, int64_t n, float lr, float beta1,
                float beta2, float eps, float weight_decay, int64_t step);

// Scalar reference twins.
void vec_exp_scalar(const float* x, float* y, int64_t n);
void vec_log_scalar(const float* x, float* y, int64_t n);
void vec_tanh_scalar(const float* x, float* y, int64_t n);
void vec_sigmoid_scalar(const float* x, float* y, int64_t n);
void vec_erf_scalar(const float* x, float* y, int64_t n);
void add_row_scalar(const float* x, const float* row, float* y, int64_t rows, int64_t cols);
void mul_row_scalar(const float* x, const float* row, float* y, int64_t rows, int64_t cols);
float sum_scalar(const float* x, int64_t n);
void adamw_step_scalar(float* p, const float* g, float* m, float* v, int64_t n, float lr,
                       float beta1, float beta2, float eps, float weight_decay, int64_t step);

}  // namespace cf::kernels
