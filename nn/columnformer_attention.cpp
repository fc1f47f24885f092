#include "nn/columnformer_attention.h"

#include <cmath>

#include "autograd/error.h"
#include "autograd/ops.h"

namespace cf {

namespace {

// (B, N, H w) -> (B, H, N, w): heads become a batch axis of the matmuls.
Tensor split_heads(const Tensor& t, int64_t heads) {
  const int64_t B = t.size(0), N = t.size(1), w = t.size(2) / heads;
  return permute(reshape(t, {B, N, heads, w}), {0, 2, 1, 3});
}

// (B, H, N, w) -> (B, N, H w): heads concatenated (A4).
Tensor merge_heads(const Tensor& t) {
  const int64_t B = t.size(0), H = t.size(1), N = t.size(2), w = t.size(3);
  return reshape(permute(t, {0, 2, 1, 3}), {B, N, H * w});
}

}  // namespace

void TokenMixer::check_input(const Tensor& x) const {
  CF_CHECK(x.defined() && x.dim() == 3 && x.size(1) == tokens && x.size(2) == dim,
           "token mixer: input of shape " << (x.defined() ? shape_str(x.shape()) : "undefined")
                                          << ", expected [B, " << tokens << ", " << dim << "]");
}

Tensor TokenMixer::add_biases(Tensor scores) const {
  if (attn_bias.defined()) scores = add(scores, attn_bias);  // + (N, N)
  if (head_bias.defined()) scores = add(scores, head_bias);  // + (H, N, N)
  return scores;
}

std::unique_ptr<TokenMixer> make_mixer(const MixerOptions& o, const MixtureCoefficients* coeffs) {
  CF_CHECK(o.heads > 0 && o.dim % o.heads == 0,
           "config: key \"heads\" has value \"" << o.heads << "\"; it must divide dim " << o.dim);
  CF_CHECK(o.qk_dim >= 0, "config: key \"qk_dim\" has value \"" << o.qk_dim << "\"; must be >= 0 (0: dim / heads)");
  CF_CHECK(!o.head_bias || o.attn_bias, "config: key \"head_bias\" has value \"true\"; it needs attn_bias");
  CF_CHECK(o.tokens > 0, "token mixer: the number of columns N must be positive, got " << o.tokens);
  if (o.mode == "selection") return std::make_unique<SelectionAttention>(o);
  if (o.mode == "mixing" || o.mode == "linmixing")
    return std::make_unique<MixingAttention>(o, o.mode == "mixing");
  if (o.mode != "classic" && o.mode != "untied" && o.mode != "moe")
    throw Error("config: key \"attn_mode\" has value \"" + o.mode +
                "\"; allowed: classic, untied, selection, mixing, linmixing, moe");
  return std::make_unique<ProjectedAttention>(o, Sharing{parse_weight_mode("attn_mode", o.mode), o.tokens, coeffs});
}

ProjectedAttention::ProjectedAttention(const MixerOptions& o, const Sharing& s)
    : TokenMixer(o), d_qk(o.qk_dim > 0 ? o.qk_dim : o.dim / o.heads), no_vp(o.no_vp) {
  q = make_linear(s, o.dim, heads * d_qk, o.qkv_bias);
  k = make_linear(s, o.dim, heads * d_qk, o.qkv_bias);
  register_module("q", *q);
  register_module("k", *k);
  if (!no_vp) {
    v = make_linear(s, o.dim, o.dim, o.qkv_bias);
    proj = make_linear(s, o.dim, o.dim);
    register_module("v", *v);
    register_module("proj", *proj);
  }
  const int64_t N = o.tokens;
  if (o.attn_bias) register_parameter("attn_bias", &attn_bias, {N, N}, Init::zeros());
  if (o.head_bias) register_parameter("head_bias", &head_bias, {heads, N, N}, Init::zeros());
}

Tensor ProjectedAttention::forward(const Tensor& x) {
  check_input(x);
  // (A1); the 1/sqrt(d_qk) of (A2) goes on q: N d_qk products, not N^2.
  Tensor query = split_heads(mul_scalar(q->forward(x), 1.0f / std::sqrt(float(d_qk))), heads);
  Tensor key_t = transpose(split_heads(k->forward(x), heads), 2, 3);   // (B, H, d_qk, N)
  Tensor value = split_heads(no_vp ? x : v->forward(x), heads);
  attention_ = softmax(add_biases(matmul(query, key_t)), -1);           // (A2), (A3)
  Tensor o = merge_heads(matmul(attention_, value));                    // (A4)
  return no_vp ? o : proj->forward(o);                                  // (A5)
}

SelectionAttention::SelectionAttention(const MixerOptions& o) : TokenMixer(o) {
  const int64_t N = o.tokens, h = o.dim / o.heads;
  register_parameter("query", &query, {heads, N, h}, Init::trunc_normal(0.02f));
  register_parameter("attn_bias", &attn_bias, {N, N}, Init::zeros());
  register_parameter("head_bias", &head_bias, {heads, N, N}, Init::zeros());
}

Tensor SelectionAttention::forward(const Tensor& x) {
  check_input(x);
  Tensor xh = split_heads(x, heads);                                    // (B, H, N, h)
  Tensor scaled_query = mul_scalar(query, 1.0f / std::sqrt(float(query.size(2))));
  Tensor scores = matmul(scaled_query, transpose(xh, 2, 3));            // Q x_h^T / sqrt(h)
  attention_ = softmax(add_biases(scores), -1);
  return merge_heads(matmul(attention_, xh));                           // y = A x_h
}

MixingAttention::MixingAttention(const MixerOptions& o, bool softmax) : TokenMixer(o), use_softmax(softmax) {
  const int64_t N = o.tokens;
  register_parameter("attn_bias", &attn_bias, {N, N}, Init::trunc_normal(0.02f));
  register_parameter("head_bias", &head_bias, {heads, N, N}, Init::zeros());
}

Tensor MixingAttention::forward(const Tensor& x) {
  check_input(x);
  Tensor scores = reshape(add(attn_bias, head_bias), {1, heads, tokens, tokens});  // bias + head_bias
  attention_ = use_softmax ? softmax(scores, -1) : scores;
  return merge_heads(matmul(attention_, split_heads(x, heads)));       // y = A x_h
}

}  // namespace cf
