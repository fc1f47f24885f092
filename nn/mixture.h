// Mixture-of-experts layers (ARCHITECTURES.md 3.2, mode "moe"): each column
// n uses weights mixed from E experts, W_n = sum_e c[n, e] W_e, with
// coefficients c shared by every moe layer of a block. With E = 1 a moe
// layer is exactly the classic one (c = 1).
#pragma once
#include <cstdint>
#include <utility>
#include <vector>

#include "nn/columnformer_layers.h"

namespace cf {

// c = Wc; if temp_scale: c[n] = min(exp(s[n]), 100) c[n] / ||c[n]||_2;
// c = softmax over e of c                                              (C2)
class MixtureCoefficients : public Module {
 public:
  MixtureCoefficients(int64_t tokens, int64_t experts, bool temp_scale = true);
  Tensor forward() const;  // (N, E); the held c while a Hold lives
  // mix_experts(forward(), experts): the per-column weights of a moe layer.
  // While a Hold lives, each experts tensor is mixed once and the result
  // reused.
  Tensor mix(const Tensor& experts) const;

  // While it lives, c is computed once and every moe layer's per-column
  // weights are mixed once, then reused by each application of the block:
  // the recurrent encoder applies one block L times with the same weights
  // (3.5), and mixing costs an (N, E) x (E, out in) GEMM and N out in floats
  // per layer (twice that in backward). Holds nest; the outermost releases.
  class Hold {
   public:
    explicit Hold(const MixtureCoefficients& c);
    ~Hold();
    Hold(const Hold&) = delete;
    Hold& operator=(const Hold&) = delete;

   private:
    const MixtureCoefficients& coeffs_;
  };

  const int64_t tokens, experts;
  Tensor weight;     // Wc (N, E), trunc_normal(E^-1/2)
  Tensor log_scale;  // s (N), zeros; undefined without temp_scale

 private:
  Tensor compute() const;
  mutable int holds_ = 0;
  mutable Tensor held_;
  mutable std::vector<std::pair<const void*, Tensor>> mixed_;  // experts' storage -> mixed
};

// sum_e c[n, e] experts[..., e]: c (N, E), experts (P..., E) -> (N, P...).
// One GEMM (N, E) x (P, E)^T in each direction, experts read in place.
Tensor mix_experts(const Tensor& c, const Tensor& experts);

// Per column W_n = sum_e c[n,e] weight[:,:,e], b_n = sum_e c[n,e] bias[:,e],
// then (C1) through untied_linear. Params E (out in + out).
class MixtureLinear : public TokenLayer {
 public:
  MixtureLinear(const MixtureCoefficients& coeffs, int64_t in, int64_t out, bool bias = true);
  Tensor forward(const Tensor& x) override;

  const MixtureCoefficients& coeffs;  // the block's, registered there
  Tensor weight;  // (out, in, E), trunc_normal(0.02)
  Tensor bias;    // (out, E), zeros; undefined without bias
};

// LayerNorm without affine, then * (c gamma^T)[n] + (c beta^T)[n]. Params 2 D E.
class MixtureLayerNorm : public TokenLayer {
 public:
  MixtureLayerNorm(const MixtureCoefficients& coeffs, int64_t dim);
  Tensor forward(const Tensor& x) override;

  const MixtureCoefficients& coeffs;
  Tensor weight, bias;  // gamma (D, E) ones, beta (D, E) zeros
};

// Total variation of the coefficients on the sheet                     (C10)
//   lambda / E * (sum |c[1:] - c[:-1]| + sum |c[:, 1:] - c[:, :-1]|)
// of every block's coefficients concatenated along the expert axis to
// (N, E). The N columns are `sheets` square sheets of `width` x `width`
// (N = sheets width^2) and differences are taken within each sheet: with
// one sheet this is the spec's (sqrt N, sqrt N, E) reshape.
Tensor tv_loss(const std::vector<Tensor>& coefficients, int64_t sheets, int64_t width, float lambda);

}  // namespace cf
