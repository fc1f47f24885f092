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
  CF_CHECK(!(o.attn_bias || o.rel_pos_bias) || o.tokens > 0,
           "Attention: attn_bias and rel_pos_bias need the number of tokens, got " << o.tokens);
  CF_CHECK(o.grid >= 0 && (!o.rel_pos_bias || o.grid == 0 || o.grid * o.grid == o.tokens),
           "Attention: a grid of side " << o.grid << " does not hold " << o.tokens << " tokens");
  CF_CHECK(!o.linear || !(o.attn_bias || o.rel_pos_bias || o.qk_norm),
           "Attention: linear attention forms no score matrix, so it takes no attn_bias, "
           "rel_pos_bias or qk_norm");
  return o;
}

// Relative offset index of every pair (t, t'), row-major over (t, t'): on a
// grid, (dy + grid - 1) (2 grid - 1) + dx + grid - 1; along a sequence,
// t - t' + N - 1.
std::vector<int64_t> offset_index(int64_t tokens, int64_t grid) {
  std::vector<int64_t> index;
  index.reserve(size_t(tokens * tokens));
  for (int64_t t = 0; t < tokens; ++t)
    for (int64_t u = 0; u < tokens; ++u)
      index.push_back(grid == 0 ? t - u + tokens - 1
                                : (t / grid - u / grid + grid - 1) * (2 * grid - 1) +
                                      t % grid - u % grid + grid - 1);
  return index;
}

// x / |x| along the last axis (QK normalisation); the epsilon keeps a zero
// vector finite.
Tensor l2_normalise(const Tensor& x) { return div(x, sqrt(add_scalar(sum(mul(x, x), -1, true), 1e-12f))); }

// phi(u) = elu(u) + 1: u + 1 for u > 0, exp(u) otherwise, written as
// relu(u) + exp(-relu(-u)) so both pieces are existing ops.
Tensor elu_plus_one(const Tensor& u) { return add(relu(u), exp(neg(relu(neg(u))))); }

}  // namespace

Attention::Attention(const AttentionOptions& o)
    : options(checked(o)),
      d_qk(o.qk_dim > 0 ? o.qk_dim : o.dim / o.heads),
      d_v(o.dim / o.heads),
      kv_heads(o.multi_query ? 1 : o.heads),
      q(o.dim, o.heads * d_qk, o.qkv_bias),
      k(o.dim, kv_heads * d_qk, o.qkv_bias),
      attn_drop(o.attn_dropout),
      proj_drop(o.proj_dropout) {
  register_module("q", q);
  register_module("k", k);
  if (!o.no_vp) {
    v = std::make_unique<Linear>(o.dim, kv_heads * d_v, o.qkv_bias);
    proj = std::make_unique<Linear>(o.heads * d_v, o.dim);
    register_module("v", *v);
    register_module("proj", *proj);
  }
  const int64_t n = o.tokens;
  if (o.attn_bias) register_parameter("attn_bias", &attn_bias, {n, n}, Init::zeros(), Decay::no);
  if (o.head_bias)
    register_parameter("head_bias", &head_bias, {o.heads, n, n}, Init::zeros(), Decay::no);
  if (o.qk_norm) {
    // Section 8: g = log2(N^2 - N) (Henry et al. 2020), or 10 without N.
    const float g = n > 2 ? float(std::log2(double(n * n - n))) : 10.0f;
    register_parameter("qk_scale", &qk_scale, {1}, Init::constant(g));
  }
  if (o.rel_pos_bias) {
    const int64_t offsets = o.grid > 0 ? (2 * o.grid - 1) * (2 * o.grid - 1) : 2 * n - 1;
    register_parameter("rel_pos_bias", &rel_pos_bias, {o.heads, offsets}, Init::zeros(), Decay::no);
    offset_index_ = offset_index(n, o.grid);
  }
  register_module("attn_drop", attn_drop);
  register_module("proj_drop", proj_drop);
}

Tensor Attention::scores(Tensor query, Tensor key) const {
  if (options.qk_norm) {
    query = mul(l2_normalise(query), qk_scale);  // g replaces 1/sqrt(d_qk) (section 8)
    key = l2_normalise(key);
  } else {
    // The scale of (A2) is applied to q: N d_qk multiplications instead of N^2.
    query = mul_scalar(query, 1.0f / std::sqrt(float(d_qk)));
  }
  Tensor s = matmul(query, transpose(key, 2, 3));   // (A2); one k head broadcasts
  if (options.attn_bias) s = add(s, attn_bias);     //   + (N, N)
  if (options.head_bias) s = add(s, head_bias);     //   + (H, N, N)
  if (options.rel_pos_bias) {                       //   + b[h, offset(t, t')]
    const int64_t n = options.tokens;
    s = add(s, reshape(index_select(rel_pos_bias, 1, offset_index_), {options.heads, n, n}));
  }
  return s;
}

Tensor Attention::fused(const Tensor& qx, const Tensor& kx, const Tensor& vx) const {
  if (!options.qk_norm) return attention(qx, kx, vx, options.heads, 1.0f / std::sqrt(float(d_qk)));
  // Section 8: per-head unit q and k, the gain g in place of 1/sqrt(d_qk).
  auto unit_heads = [&](const Tensor& t, int64_t heads) {
    const int64_t B = t.size(0), N = t.size(1);
    return reshape(l2_normalise(reshape(t, {B, N, heads, d_qk})), {B, N, heads * d_qk});
  };
  const Tensor query = unit_heads(qx, options.heads), key = unit_heads(kx, kv_heads);
  return attention(mul(query, qk_scale), key, vx, options.heads, 1.0f);
}

Tensor Attention::forward(const Tensor& x) {
  CF_CHECK(x.defined() && x.dim() == 3 && x.size(2) == options.dim,
           "Attention: input of shape " << (x.defined() ? shape_str(x.shape()) : "undefined")
                                        << ", expected [B, N, " << options.dim << "]");
  const int64_t B = x.size(0), N = x.size(1), H = options.heads;
  CF_CHECK(!(options.attn_bias || options.rel_pos_bias) || N == options.tokens,
           "Attention: input has " << N << " tokens but "
                                   << (options.attn_bias ? "attn_bias" : "rel_pos_bias")
                                   << " was built for " << options.tokens);
  // (B, N, heads w) -> (B, heads, N, w): heads become a batch axis of the matmuls.
  auto split_heads = [&](const Tensor& t, int64_t heads, int64_t w) {
    return permute(reshape(t, {B, N, heads, w}), {0, 2, 1, 3});
  };
  // (A1)
  const Tensor qx = q.forward(x), kx = k.forward(x), vx = options.no_vp ? x : v->forward(x);
  const bool needs_map = keep_map || options.attn_bias || options.head_bias || options.rel_pos_bias ||
                         (options.attn_dropout > 0 && attn_drop.is_training());
  // Under no_vp with multi_query, v has H heads and k one: not the op's layout.
  const bool fusable = !options.linear && !needs_map && !(options.no_vp && options.multi_query);
  attention_ = Tensor();
  if (fusable) {
    const Tensor o = fused(qx, kx, vx);
    return proj_drop.forward(options.no_vp ? o : proj->forward(o));       // (A5)
  }
  Tensor query = split_heads(qx, H, d_qk);
  Tensor key = split_heads(kx, kv_heads, d_qk);
  Tensor value = split_heads(vx, options.no_vp ? H : kv_heads, d_v);

  Tensor o;
  if (options.linear) {
    // Section 8: sum_t' phi(k_t') v_t'^T once per head, then one product per
    // query: O(N d_qk d_v) instead of O(N^2).
    Tensor fq = elu_plus_one(query), fk = elu_plus_one(key);
    Tensor kv = matmul(transpose(fk, 2, 3), value);                        // (B, H, d_qk, d_v)
    Tensor normaliser = transpose(sum(fk, 2, true), 2, 3);                 // (B, Hkv, d_qk, 1)
    o = div(matmul(fq, kv), matmul(fq, normaliser));                       // (B, H, N, d_v)
  } else {
    attention_ = softmax(scores(query, key), -1);                          // (A3)
    o = matmul(attn_drop.forward(attention_), value);                      // (A4) (B, H, N, d_v)
  }
  o = reshape(permute(o, {0, 2, 1, 3}), {B, N, H * d_v});
  return proj_drop.forward(options.no_vp ? o : proj->forward(o));          // (A5)
}

void keep_attention_maps(Module& root, bool on) {
  root.apply([on](Module& m) {
    if (auto* a = dynamic_cast<AttentionMapOption*>(&m)) a->keep_map = on;
  });
}

}  // namespace cf
