// The pre-norm transformer block of ARCHITECTURES.md 2.3, shared by ViT and
// CCT (and the base the later architectures build on):
//
//   x = x + DropPath(LayerScale1(MHSA(LN1(x))))                          (B1)
//   x = x + DropPath(LayerScale2(MLP(LN2(x))))                           (B2)
//
// LayerScale is off unless layer_scale > 0 (its init value); DropPath is the
// identity unless drop_path > 0. Names follow timm (norm1, attn, ls1, ...).
// skip_attn = false drops the skip of (B1), x = DropPath(LS1(MHSA(LN1(x)))):
// with no_vp, the simplified block of He & Hofmann (section 8).
// post_norm = true moves each LayerNorm after its skip, the original
// transformer's order that the Universal Transformer offers (section 6):
// x = LN1(x + MHSA(x)); x = LN2(x + MLP(x)).
#pragma once
#include <memory>
#include <string>

#include "nn/attention.h"
#include "nn/layer_scale.h"
#include "nn/mlp.h"
#include "nn/norm.h"

namespace cf {

struct BlockOptions {
  AttentionOptions attention;
  int64_t mlp_hidden = 0;     // D_ff
  std::string act = "gelu";   // the MLP's activation
  float dropout = 0.0f;       // MLP output dropout
  float drop_path = 0.0f;     // stochastic depth probability
  float layer_scale = 0.0f;   // LayerScale init value; 0 turns it off
  bool skip_attn = true;      // the skip connection of (B1)
  bool post_norm = false;     // LayerNorms after the skips instead of before the branches
};

class Block : public Module {
 public:
  explicit Block(const BlockOptions& options);
  Tensor forward(const Tensor& x);  // [B, N, D] -> [B, N, D]
  const Tensor& attention_map() const { return attn.attention_map(); }

  LayerNorm norm1;
  Attention attn;
  std::unique_ptr<LayerScale> ls1, ls2;  // absent when layer_scale is 0
  DropPath drop_path1;
  LayerNorm norm2;
  MLP mlp;
  DropPath drop_path2;
  const bool skip_attn, post_norm;
};

}  // namespace cf
