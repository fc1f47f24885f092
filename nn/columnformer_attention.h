// The Columnformer's token mixers (ARCHITECTURES.md 3.3): how columns
// communicate. Input x (B, N, D), H heads of width h = D / H.
//
//   classic, untied, moe: MHSA (2.1, A1-A5) with every Linear shared,
//       untied (UntiedLinear) or mixed (MixtureLinear);
//   selection: a static learned query per column and head; keys and values
//       are the input itself: A = softmax(Q x_h^T / sqrt(h) + bias + head_bias);
//   mixing: A = softmax(bias + head_bias), no dependence on the input;
//   linmixing: A = bias + head_bias, no softmax.
//   In the last three y = A x_h, heads concatenated.
//
// Every mixer exposes its attention map, (B, H, N, N), or (1, H, N, N) for
// the static mixers, with its graph (for the wiring cost).
#pragma once
#include <cstdint>
#include <memory>
#include <string>

#include "nn/columnformer_layers.h"

namespace cf {

struct MixerOptions {
  std::string mode = "classic";  // classic, untied, moe, selection, mixing, linmixing
  int64_t dim = 0;               // D
  int64_t heads = 1;             // H
  int64_t qk_dim = 0;            // per-head q/k width d_qk (0: D / H); projected modes
  int64_t tokens = 0;            // N
  bool qkv_bias = false;         // projected modes
  bool attn_bias = false;        // (N, N) bias, projected modes (always on for the others)
  bool head_bias = false;        // (H, N, N) bias, needs attn_bias (always on for the others)
  bool no_vp = false;            // no value / output projection, projected modes
};

class TokenMixer : public Module {
 public:
  explicit TokenMixer(const MixerOptions& o) : dim(o.dim), tokens(o.tokens), heads(o.heads) {}
  virtual Tensor forward(const Tensor& x) = 0;  // (B, N, D) -> (B, N, D)
  const Tensor& attention_map() const { return attention_; }

  const int64_t dim, tokens, heads;
  Tensor attn_bias;  // (N, N): where the local attention init (C8) goes
  Tensor head_bias;  // (H, N, N)

 protected:
  void check_input(const Tensor& x) const;  // (B, N, D)
  // scores + attn_bias + head_bias, each if present (A2).
  Tensor add_biases(Tensor scores) const;
  Tensor attention_;
};

// The attention weights of (A2), (A3) from projections as the Linears lay
// them out, heads side by side in the last axis: q, k (B, N, H d) ->
//   A[b, h] = softmax(scale q_h k_h^T + attn_bias + head_bias[h])  (B, H, N, N),
// attn_bias (N, N) and head_bias (H, N, N) each optional. One op: per
// (b, h) one GEMM reads the head's columns of q and k in place (no split
// into (B, H, N, d)), starts from the biases and is softmaxed in place, so
// no score or biased-score temporaries exist.
Tensor attention_weights(const Tensor& q, const Tensor& k, const Tensor& attn_bias, const Tensor& head_bias,
                         int64_t heads, float scale);

// o[b, :, h] = A[b, h] v[b, :, h], heads side by side (A4): attention
// (B, H, N, N), or (1, H, N, N) shared by every image (static mixers), and
// v (B, N, H w) -> (B, N, H w), read and written in place (no merge of heads).
Tensor attend(const Tensor& attention, const Tensor& v);

// Checks the options (errors name the config key and value) and builds the
// mixer; `coeffs` are the block's mixture coefficients (moe mode only).
std::unique_ptr<TokenMixer> make_mixer(const MixerOptions& o, const MixtureCoefficients* coeffs);

// classic / untied / moe. Params as 2.1 with each Linear's count replaced by
// its mode's (3.1, 3.2).
class ProjectedAttention : public TokenMixer {
 public:
  ProjectedAttention(const MixerOptions& o, const Sharing& s);
  Tensor forward(const Tensor& x) override;

  const int64_t d_qk;
  const bool no_vp;
  std::unique_ptr<TokenLayer> q, k, v, proj;  // v, proj absent with no_vp
};

// Params H N h + N^2 + H N^2.
class SelectionAttention : public TokenMixer {
 public:
  explicit SelectionAttention(const MixerOptions& o);
  Tensor forward(const Tensor& x) override;

  Tensor query;  // Q (H, N, h), trunc_normal(0.02)
};

// mixing (softmax) and linmixing (no softmax). Params N^2 + H N^2.
class MixingAttention : public TokenMixer {
 public:
  MixingAttention(const MixerOptions& o, bool softmax);
  Tensor forward(const Tensor& x) override;

  const bool use_softmax;
};

}  // namespace cf
