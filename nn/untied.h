// Untied layers (ARCHITECTURES.md 3.1): every column (token position) has its
// own weights, as in a locally connected network without weight sharing.
#pragma once
#include <cstdint>

#include "nn/columnformer_layers.h"

namespace cf {

// y[b, n] = W[n] x[b, n] (+ bias[n])                                    (C1)
// x (B, N, in), weight (N, out, in), bias (N, out) or undefined -> (B, N, out).
// One batched GEMM over n, forward and backward (kernels::sgemm_batched):
// the per-column rows of x are read in place through the leading dimension
// N * in, so x is never permuted to (N, B, in).
Tensor untied_linear(const Tensor& x, const Tensor& weight, const Tensor& bias);

// (C1) with one column shared by every token: weight (out, in), bias (out)
// or undefined; x (..., in). One GEMM over every row of x, the bias as its
// start, no transposed copy of the weight.
Tensor shared_linear(const Tensor& x, const Tensor& weight, const Tensor& bias);

// Params N out in + [bias] N out.
class UntiedLinear : public TokenLayer {
 public:
  UntiedLinear(int64_t tokens, int64_t in, int64_t out, bool bias = true);
  Tensor forward(const Tensor& x) override { return untied_linear(x, weight, bias); }

  const int64_t tokens, in_features, out_features;
  Tensor weight;  // (N, out, in), trunc_normal(0.02)
  Tensor bias;    // (N, out), zeros; undefined without bias
};

// LayerNorm without affine, then y[b, n] = xhat[b, n] * gamma[n] + beta[n]:
// x (B, N, D), gamma and beta (N, D). One op (the layer norm kernel per
// row with its column's affine), no xhat or xhat * gamma temporaries. With
// gamma and beta (G, N, D), x is (G, B, N, D): G such groups side by side,
// group g with its own affine (the cortical block's regions, RegionNorm).
Tensor untied_layer_norm(const Tensor& x, const Tensor& gamma, const Tensor& beta, float eps = 1e-5f);

// Params 2 N D.
class UntiedLayerNorm : public TokenLayer {
 public:
  UntiedLayerNorm(int64_t tokens, int64_t dim);
  Tensor forward(const Tensor& x) override;

  Tensor weight, bias;  // gamma (N, D) ones, beta (N, D) zeros
};

}  // namespace cf
