// Multi-head self-attention with every option of ARCHITECTURES.md 2.1: one
// module for all of them (ViT, CCT and the simplified block of section 8).
//
//   q = x Wq^T (+bq), k = x Wk^T (+bk)   -> (B, H, N, d_qk)              (A1)
//   v = x Wv^T (+bv)                     -> (B, H, N, d_v)   [no_vp: v = x]
//   S = q k^T / sqrt(d_qk) + attn_bias + head_bias -> (B, H, N, N)       (A2)
//   A = softmax over the last axis of S                                  (A3)
//   o = A v, heads concatenated          -> (B, N, H d_v)                (A4)
//   y = o Wo^T + bo                      [no_vp: y = o]                  (A5)
//
// Params: 2 D H d_qk + [!no_vp](2 D^2 + D) + [qkv_bias](2 H d_qk + [!no_vp] D)
//         + [attn_bias] N^2 + [head_bias] H N^2.
// (With no_vp there is no value projection, so no value bias either.)
#pragma once
#include <cstdint>
#include <memory>

#include "nn/dropout.h"
#include "nn/linear.h"

namespace cf {

struct AttentionOptions {
  int64_t dim = 0;          // D
  int64_t heads = 1;        // H
  int64_t qk_dim = 0;       // d_qk, per-head query/key width; 0 means D / H
  int64_t tokens = 0;       // N; needed by attn_bias and head_bias
  bool qkv_bias = false;    // biases on q, k (and v)
  bool attn_bias = false;   // a learned (N, N) bias added to the scores
  bool head_bias = false;   // a learned (H, N, N) bias; needs attn_bias
  bool no_vp = false;       // no value and no output projection
  float attn_dropout = 0.0f;  // on the attention weights A
  float proj_dropout = 0.0f;  // on the output y
};

class Attention : public Module {
 public:
  explicit Attention(const AttentionOptions& options);
  // x [B, N, D] -> [B, N, D].
  Tensor forward(const Tensor& x);
  // A (B, H, N, N) of the last forward pass, with its graph, for inspection
  // and for losses on attention; undefined before the first pass.
  const Tensor& attention_map() const { return attention_; }

  const AttentionOptions options;
  const int64_t d_qk, d_v;
  Linear q, k;
  std::unique_ptr<Linear> v, proj;  // absent with no_vp
  Tensor attn_bias;                 // (N, N) with attn_bias
  Tensor head_bias;                 // (H, N, N) with head_bias
  Dropout attn_drop, proj_drop;

 private:
  Tensor attention_;
};

}  // namespace cf
