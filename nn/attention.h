// Multi-head self-attention with every option of ARCHITECTURES.md 2.1 and the
// refinements of section 8: one module for all of them (ViT, CCT, the
// Universal Transformer's shared block).
//
//   q = x Wq^T (+bq), k = x Wk^T (+bk)   -> (B, H, N, d_qk)              (A1)
//   v = x Wv^T (+bv)                     -> (B, H, N, d_v)   [no_vp: v = x]
//   S = q k^T / sqrt(d_qk) + attn_bias + head_bias -> (B, H, N, N)       (A2)
//   A = softmax over the last axis of S                                  (A3)
//   o = A v, heads concatenated          -> (B, N, H d_v)                (A4)
//   y = o Wo^T + bo                      [no_vp: y = o]                  (A5)
//
// Refinements (section 8), each off by default:
//   multi_query   k and v have one head, shared by the H query heads (Shazeer
//                 2019): Wk is [d_qk, D], Wv is [d_v, D].
//   qk_norm       q and k L2-normalised per head; the scale 1/sqrt(d_qk) of
//                 (A2) becomes a learned scalar g, init log2(N^2 - N) (10
//                 when N is not known or below 3).
//   rel_pos_bias  a learned scalar per head and relative offset added to
//                 (A2): offsets (dy, dx) on a `grid` x `grid` token grid, or
//                 t - t' along the sequence when grid is 0. Init 0.
//   linear        linear attention (Katharopoulos 2020) replacing (A2)-(A4):
//                 o_t = phi(q_t)^T (sum_t' phi(k_t') v_t'^T)
//                       / (phi(q_t)^T sum_t' phi(k_t')),  phi = elu + 1;
//                 O(N). It forms no A, so attention_map() stays undefined
//                 and the score biases, qk_norm and attn_dropout do not apply.
//
// (A2)-(A4) run fused (the attention op of autograd/ops.h: scores a block of
// rows at a time, never the whole (B, H, N, N) A) unless something needs A:
// keep_map (inspection, losses on A), a score bias, or dropout on A while
// training. The unfused path forms and keeps A. Both give the same values up
// to rounding.
//
// Params: H D d_qk + Hkv D d_qk + [!no_vp](Hkv D d_v + D^2 + D)
//         + [qkv_bias](H d_qk + Hkv d_qk + [!no_vp] Hkv d_v)
//         + [attn_bias] N^2 + [head_bias] H N^2 + [qk_norm] 1
//         + [rel_pos_bias] H R,
// with Hkv = 1 under multi_query (else H; d_v H = D) and R the number of
// offsets: (2 grid - 1)^2, or 2N - 1 without a grid. Without the refinements
// this is 2.1's count. (With no_vp there is no value projection, so no value
// bias either.)
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "nn/dropout.h"
#include "nn/linear.h"

namespace cf {

struct AttentionOptions {
  int64_t dim = 0;          // D
  int64_t heads = 1;        // H
  int64_t qk_dim = 0;       // d_qk, per-head query/key width; 0 means D / H
  int64_t tokens = 0;       // N; needed by attn_bias, head_bias, rel_pos_bias
  bool qkv_bias = false;    // biases on q, k (and v)
  bool attn_bias = false;   // a learned (N, N) bias added to the scores
  bool head_bias = false;   // a learned (H, N, N) bias; needs attn_bias
  bool no_vp = false;       // no value and no output projection
  bool multi_query = false;   // one key/value head for all query heads
  bool qk_norm = false;       // L2-normalised q, k with a learned scale
  bool rel_pos_bias = false;  // learned bias per head and relative offset
  int64_t grid = 0;           // tokens form a grid x grid image (rel_pos_bias); 0: 1-D
  bool linear = false;        // linear attention, phi = elu + 1
  float attn_dropout = 0.0f;  // on the attention weights A
  float proj_dropout = 0.0f;  // on the output y
};

// An attention module that runs fused, forming no attention map, unless
// asked to keep its map: keep_attention_maps sets keep_map on every module
// of a tree that has this option (Attention, the Cortical MultiRegionAttention).
struct AttentionMapOption {
  bool keep_map = false;  // forward forms and keeps A (the unfused path)

 protected:
  ~AttentionMapOption() = default;
};

class Attention : public Module, public AttentionMapOption {
 public:
  explicit Attention(const AttentionOptions& options);
  // x [B, N, D] -> [B, N, D].
  Tensor forward(const Tensor& x);
  // A (B, H, N, N) of the last forward pass, with its graph, for inspection
  // and for losses on attention. Kept only with keep_map set (see
  // keep_attention_maps); undefined otherwise and with linear attention.
  const Tensor& attention_map() const { return attention_; }

  const AttentionOptions options;
  const int64_t d_qk, d_v, kv_heads;
  Linear q, k;
  std::unique_ptr<Linear> v, proj;  // absent with no_vp
  Tensor attn_bias;                 // (N, N) with attn_bias
  Tensor head_bias;                 // (H, N, N) with head_bias
  Tensor qk_scale;                  // (1) with qk_norm: the gain g
  Tensor rel_pos_bias;              // (H, R) with rel_pos_bias
  Dropout attn_drop, proj_drop;

 private:
  // (B, H, N, N) scores of (A2) from q (B, H, N, d_qk) and k (B, Hkv, N, d_qk).
  Tensor scores(Tensor query, Tensor key) const;
  // (A2)-(A4) by the fused op, on q, k, v as the projections give them.
  Tensor fused(const Tensor& qx, const Tensor& kx, const Tensor& vx) const;
  // For each pair (t, t'), row-major, its column of rel_pos_bias.
  std::vector<int64_t> offset_index_;
  Tensor attention_;
};

// Sets keep_map on every AttentionMapOption in `root`'s tree: models'
// attention_maps() are filled from then on (train's --inspect does this).
void keep_attention_maps(Module& root, bool on = true);

}  // namespace cf
