#include "nn/mixture.h"

#include <cmath>

#include "autograd/error.h"
#include "autograd/ops.h"
#include "nn/untied.h"

namespace cf {

MixtureCoefficients::MixtureCoefficients(int64_t n, int64_t e, bool temp_scale)
    : tokens(n), experts(e) {
  CF_CHECK(n > 0 && e > 0, "MixtureCoefficients: N " << n << " and experts " << e << " must be positive");
  register_parameter("weight", &weight, {n, e}, Init::trunc_normal(1.0f / std::sqrt(float(e))));
  if (temp_scale) register_parameter("log_scale", &log_scale, {n}, Init::zeros());
}

Tensor MixtureCoefficients::forward() const {
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
  const int64_t E = c.size(1);
  CF_CHECK(experts.dim() >= 1 && experts.size(-1) == E,
           "mix_experts: experts of shape " << shape_str(experts.shape()) << " for coefficients "
                                            << shape_str(c.shape()) << " (last axis must be " << E << ")");
  Shape per_column(experts.shape().begin(), experts.shape().end() - 1);
  Tensor flat = transpose(reshape(experts, {-1, E}), 0, 1);          // (E, P)
  Shape out{c.size(0)};
  out.insert(out.end(), per_column.begin(), per_column.end());
  return reshape(matmul(c, flat), out);                               // (N, P...)
}

MixtureLinear::MixtureLinear(const MixtureCoefficients& c, int64_t in, int64_t out, bool with_bias)
    : coeffs(c) {
  register_parameter("weight", &weight, {out, in, c.experts}, Init::trunc_normal(0.02f));
  if (with_bias) register_parameter("bias", &bias, {out, c.experts}, Init::zeros());
}

Tensor MixtureLinear::forward(const Tensor& x) {
  Tensor c = coeffs.forward();
  return untied_linear(x, mix_experts(c, weight), bias.defined() ? mix_experts(c, bias) : Tensor());
}

MixtureLayerNorm::MixtureLayerNorm(const MixtureCoefficients& c, int64_t dim) : coeffs(c) {
  register_parameter("weight", &weight, {dim, c.experts}, Init::ones());
  register_parameter("bias", &bias, {dim, c.experts}, Init::zeros());
}

Tensor MixtureLayerNorm::forward(const Tensor& x) {
  Tensor c = coeffs.forward();
  return add(mul(layer_norm(x, Tensor(), Tensor()), mix_experts(c, weight)), mix_experts(c, bias));
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
