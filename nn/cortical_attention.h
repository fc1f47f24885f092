// Multi-region self-attention (ARCHITECTURES.md 7.1 K3, 7.5, 7.6; paper eq. 3-5):
// each region r runs its own MHSA on its sheet z_r (B, N, D), with the micro
// and meso options, and the results are stacked back over regions.
//
// Per region and head h (weights in the paper's layout, x W):
//   q = S^h(x) W^Q_h, k = S^h(x) W^K_h, v = S^h(x) W^V_h                    (3)
//   A = softmax(q k^T / sqrt(d_qk)), SA_h = A v    (scale as section 0)   (3)
//   MHSA(z_r) = [SA_1; ...; SA_H] W^0_r            (no biases, 7.7)       (4)
//   MRSA(z) = Concat_r MHSA(z_r)                                          (5)
//
// S^h (meso, 7.6) selects D_s of the D input dimensions of head h; it is a
// gather of those indices, never a product with a mostly-zero matrix. Without
// meso every head reads all D dimensions (D_s = D).
// Micro (7.5): d_qk and d_v per head; sparse weights (density s) are a
// parameter times a fixed non-persistent 0/1 mask, so the masked entries have
// zero gradient and stay out of the output whatever the optimiser does.
//
// Params per region: H D_s (2 d_qk + d_v) + H d_v D, sparse weights counting
// their kept entries only (learnable_parameters()).
#pragma once
#include <cstdint>
#include <vector>

#include "nn/attention.h"
#include "nn/module.h"

namespace cf {

// The input dimensions of each head under the meso pattern (m, width) of 7.6,
// head-major: H * D_s indices, D_s = width * min(width, m). The D dimensions
// lie on a D/m x m grid (index = row * m + col), the heads on the hr x hc
// lattice (hr hc = H) whose aspect hr/hc is closest to (D/m)/m, and each head
// reads the width x min(width, m) window around its centre, wrapping at the
// edges. Errors name the keys meso_m and meso_width.
std::vector<int64_t> meso_inputs(int64_t dim, int64_t heads, int64_t m, int64_t width);

struct RegionAttentionOptions {
  int64_t regions = 1;         // R
  int64_t dim = 0;             // D
  int64_t heads = 1;           // H
  int64_t qk_dim = 0;          // d_qk per head
  int64_t v_dim = 0;           // d_v per head
  std::vector<int64_t> inputs;  // meso_inputs(...), or empty: every head reads all D
  double density = 1.0;        // s, the kept fraction of the sparse weights
  bool sparse_qk = false;      // sparsity on W^Q, W^K (null control) instead of W^V, W^0
  uint64_t seed = 0;           // for the sparsity masks
};

// Eq. (3) runs as the fused attention op (autograd/ops.h), every (region,
// head, batch entry) one entry of its batch, unless keep_map asks for A.
class MultiRegionAttention : public Module, public AttentionMapOption {
 public:
  explicit MultiRegionAttention(const RegionAttentionOptions& options);
  Tensor forward(const Tensor& z);  // (R, B, N, D) -> (R, B, N, D)
  // A (R, H, B, N, N) of the last forward pass with keep_map set (see
  // keep_attention_maps); undefined otherwise.
  const Tensor& attention_map() const { return attention_; }
  int64_t learnable_parameters() const;

  const RegionAttentionOptions options;
  const int64_t d_s;   // input dimensions per head
  Tensor q, k, v;      // W^Q, W^K (R, H, D_s, d_qk); W^V (R, H, D_s, d_v)
  Tensor o;            // W^0 (R, H d_v, D)
  Tensor q_mask, k_mask, v_mask, o_mask;  // 0/1, on the sparse pair only

 private:
  Tensor attention_;
};

}  // namespace cf
