#include "nn/attention.h"

#include <cmath>

#include "autograd/error.h"
#include "autograd/ops.h"

namespace cf {

namespace {
const AttentionOptions& checked(const AttentionOptions& o) {
  CF_CHECK(o.dim > 0 && o.heads > 0 && o.dim % o.heads == 0,
           "Attention: dim " << o.dim << " must be a positive multiple of heads " << o.heads);
  CF_CHECK(o.qk_dim >= 0, "Attention: qk_dim " << o.qk_dim << " must be >= 0 (0: dim / heads)");
  CF_CHECK(!o.head_bias || o.attn_bias, "Attention: head_bias needs attn_bias");
  CF_CHECK(!o.attn_bias || o.tokens > 0,
           "Attention: attn_bias needs the number of tokens, got " << o.tokens);
  return o;
}
}  // namespace

Attention::Attention(const AttentionOptions& o)
    : options(checked(o)),
      d_qk(o.qk_dim > 0 ? o.qk_dim : o.dim / o.heads),
      d_v(o.dim / o.heads),
      q(o.dim, o.heads * d_qk, o.qkv_bias),
      k(o.dim, o.heads * d_qk, o.qkv_bias),
      attn_drop(o.attn_dropout),
      proj_drop(o.proj_dropout) {
  register_module("q", q);
  register_module("k", k);
  if (!o.no_vp) {
    v = std::make_unique<Linear>(o.dim, o.heads * d_v, o.qkv_bias);
    proj = std::make_unique<Linear>(o.heads * d_v, o.dim);
    register_module("v", *v);
    register_module("proj", *proj);
  }
  const int64_t n = o.tokens;
  if (o.attn_bias) register_parameter("attn_bias", &attn_bias, {n, n}, Init::zeros());
  if (o.head_bias) register_parameter("head_bias", &head_bias, {o.heads, n, n}, Init::zeros());
  register_module("attn_drop", attn_drop);
  register_module("proj_drop", proj_drop);
}

Tensor Attention::forward(const Tensor& x) {
  CF_CHECK(x.defined() && x.dim() == 3 && x.size(2) == options.dim,
           "Attention: input of shape " << (x.defined() ? shape_str(x.shape()) : "undefined")
                                        << ", expected [B, N, " << options.dim << "]");
  const int64_t B = x.size(0), N = x.size(1), H = options.heads;
  CF_CHECK(!options.attn_bias || N == options.tokens,
           "Attention: input has " << N << " tokens but attn_bias was built for "
                                   << options.tokens);
  // (B, N, H w) -> (B, H, N, w): heads become a batch axis of the matmuls.
  auto split_heads = [&](const Tensor& t, int64_t w) {
    return permute(reshape(t, {B, N, H, w}), {0, 2, 1, 3});
  };
  // (A1); the scale of (A2) is applied to q, N d_qk multiplications
  // instead of N^2.
  Tensor query = split_heads(mul_scalar(q.forward(x), 1.0f / std::sqrt(float(d_qk))), d_qk);
  Tensor key_t = permute(reshape(k.forward(x), {B, N, H, d_qk}), {0, 2, 3, 1});  // (B,H,d_qk,N)
  Tensor value = split_heads(options.no_vp ? x : v->forward(x), d_v);

  Tensor scores = matmul(query, key_t);                      // (A2)
  if (options.attn_bias) scores = add(scores, attn_bias);    //   + (N, N)
  if (options.head_bias) scores = add(scores, head_bias);    //   + (H, N, N)
  attention_ = softmax(scores, -1);                          // (A3)

  Tensor o = matmul(attn_drop.forward(attention_), value);   // (A4) (B, H, N, d_v)
  o = reshape(permute(o, {0, 2, 1, 3}), {B, N, H * d_v});
  return proj_drop.forward(options.no_vp ? o : proj->forward(o));  // (A5)
}

}  // namespace cf
