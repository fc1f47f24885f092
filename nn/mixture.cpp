#include "nn/mixture.h"

#include <cmath>

#include "autograd/error.h"
#include "autograd/graph.h"
#include "autograd/kernels/gemm.h"
#include "autograd/ops.h"
#include "nn/untied.h"

namespace cf {

MixtureCoefficients::MixtureCoefficients(int64_t n, int64_t e, bool temp_scale)
    : tokens(n), experts(e) {
  CF_CHECK(n > 0 && e > 0, "MixtureCoefficients: N " << n << " and experts " << e << " must be positive");
  register_parameter("weight", &weight, {n, e}, Init::trunc_normal(1.0f / std::sqrt(float(e))));
  if (temp_scale) register_parameter("log_scale", &log_scale, {n}, Init::zeros());
}

Tensor MixtureCoefficients::forward() const { return holds_ > 0 ? held_ : compute(); }

Tensor MixtureCoefficients::mix(const Tensor& experts) const {
  if (holds_ == 0) return mix_experts(compute(), experts);
  const void* key = experts.data();
  for (const auto& [storage, mixed] : mixed_)
    if (storage == key) return mixed;
  mixed_.emplace_back(key, mix_experts(held_, experts));
  return mixed_.back().second;
}

MixtureCoefficients::Hold::Hold(const MixtureCoefficients& c) : coeffs_(c) {
  if (coeffs_.holds_++ == 0) coeffs_.held_ = coeffs_.compute();
}

MixtureCoefficients::Hold::~Hold() {
  if (--coeffs_.holds_ == 0) {
    coeffs_.held_ = Tensor();
    coeffs_.mixed_.clear();
  }
}

Tensor MixtureCoefficients::compute() const {
  Tensor c = weight;
  if (log_scale.defined()) {
    // min(exp(s), 100) written as a - relu(a - 100): the clamp's gradient
    // (1 below the cap, 0 above) from existing ops.
    Tensor scale = exp(log_scale);
    scale = sub(scale, relu(add_scalar(scale, -100.0f)));
    Tensor norm = sqrt(sum(mul(c, c), 1, true));                      // ||c[n]||_2, (N, 1)
    c = mul(div(c, norm), reshape(scale, {tokens, 1}));
  }
  return softmax(c, 1);                                               // (C2)
}

Tensor mix_experts(const Tensor& c, const Tensor& experts) {
  CF_CHECK(c.defined() && c.dim() == 2 && experts.defined() && experts.dim() >= 1 && experts.size(-1) == c.size(1),
           "mix_experts: experts of shape " << (experts.defined() ? shape_str(experts.shape()) : "undefined")
                                            << " for coefficients " << (c.defined() ? shape_str(c.shape()) : "undefined")
                                            << ", expected [N, E] and [..., E]");
  const int64_t N = c.size(0), E = c.size(1), P = experts.numel() / E;
  Shape out = experts.shape();
  out.pop_back();
  out.insert(out.begin(), N);
  Tensor y = Tensor::empty(out);                                        // (N, P...)
  kernels::sgemm(false, true, N, P, E, 1.0f, c.data(), E, experts.data(), E, 0.0f, y.data(), P);
  return record("mix_experts", y, {c, experts}, [c, experts, N, E, P](const Tensor& g) {
    Tensor dc, dx;
    if (c.requires_grad()) {  // dc = g (N, P) experts (P, E)
      dc = Tensor::empty(c.shape());
      kernels::sgemm(false, false, N, E, P, 1.0f, g.data(), P, experts.data(), E, 0.0f, dc.data(), E);
    }
    if (experts.requires_grad()) {  // d experts = g^T (P, N) c (N, E)
      dx = Tensor::empty(experts.shape());
      kernels::sgemm(true, false, P, E, N, 1.0f, g.data(), P, c.data(), E, 0.0f, dx.data(), E);
    }
    return std::vector<Tensor>{dc, dx};
  });
}

MixtureLinear::MixtureLinear(const MixtureCoefficients& c, int64_t in, int64_t out, bool with_bias)
    : coeffs(c) {
  register_parameter("weight", &weight, {out, in, c.experts}, Init::trunc_normal(0.02f));
  if (with_bias) register_parameter("bias", &bias, {out, c.experts}, Init::zeros(), Decay::no);
}

// With E = 1, c = 1 and every column's weights are the one expert's: the
// classic layer (3.2), one shared GEMM instead of N per-column copies.
Tensor MixtureLinear::forward(const Tensor& x) {
  if (coeffs.experts == 1)
    return shared_linear(x, reshape(weight, {weight.size(0), weight.size(1)}),
                         bias.defined() ? reshape(bias, {bias.size(0)}) : Tensor());
  return untied_linear(x, coeffs.mix(weight), bias.defined() ? coeffs.mix(bias) : Tensor());
}

MixtureLayerNorm::MixtureLayerNorm(const MixtureCoefficients& c, int64_t dim) : coeffs(c) {
  register_parameter("weight", &weight, {dim, c.experts}, Init::ones(), Decay::no);
  register_parameter("bias", &bias, {dim, c.experts}, Init::zeros(), Decay::no);
}

Tensor MixtureLayerNorm::forward(const Tensor& x) {
  if (coeffs.experts == 1) return layer_norm(x, reshape(weight, {weight.size(0)}), reshape(bias, {bias.size(0)}));
  return untied_layer_norm(x, coeffs.mix(weight), coeffs.mix(bias));
}

Tensor tv_loss(const std::vector<Tensor>& coefficients, int64_t sheets, int64_t width, float lambda) {
  CF_CHECK(!coefficients.empty(), "tv_loss: no coefficients");
  Tensor c = concat(coefficients, 1);
  const int64_t E = c.size(1);
  CF_CHECK(c.size(0) == sheets * width * width,
           "tv_loss: coefficients of shape " << shape_str(c.shape()) << " do not fill " << sheets
                                             << " sheets of " << width << "x" << width);
  c = reshape(c, {sheets, width, width, E});
  Tensor rows = abs(sub(slice(c, 1, 1, width), slice(c, 1, 0, width - 1)));
  Tensor cols = abs(sub(slice(c, 2, 1, width), slice(c, 2, 0, width - 1)));
  return mul_scalar(add(sum(rows), sum(cols)), lambda / float(E));     // (C10)
}

}  // namespace cf
