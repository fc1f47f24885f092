#include "nn/block.h"

#include "autograd/error.h"
#include "autograd/ops.h"

namespace cf {

Block::Block(const BlockOptions& o)
    : norm1(o.attention.dim),
      attn(o.attention),
      drop_path1(o.drop_path),
      norm2(o.attention.dim),
      mlp(o.attention.dim, o.mlp_hidden, o.act, o.dropout),
      drop_path2(o.drop_path),
      skip_attn(o.skip_attn),
      post_norm(o.post_norm) {
  CF_CHECK(o.layer_scale >= 0.0f,
           "Block: layer_scale " << o.layer_scale << " must be >= 0 (0: off)");
  register_module("norm1", norm1);
  register_module("attn", attn);
  if (o.layer_scale > 0.0f) {
    ls1 = std::make_unique<LayerScale>(o.attention.dim, o.layer_scale);
    ls2 = std::make_unique<LayerScale>(o.attention.dim, o.layer_scale);
    register_module("ls1", *ls1);
  }
  register_module("drop_path1", drop_path1);
  register_module("norm2", norm2);
  register_module("mlp", mlp);
  if (ls2) register_module("ls2", *ls2);
  register_module("drop_path2", drop_path2);
}

Tensor Block::forward(const Tensor& x) {
  Tensor branch = attn.forward(post_norm ? x : norm1.forward(x));
  if (ls1) branch = ls1->forward(branch);
  branch = drop_path1.forward(branch);
  Tensor h = skip_attn ? add(x, branch) : branch;  // (B1)
  if (post_norm) h = norm1.forward(h);
  branch = mlp.forward(post_norm ? h : norm2.forward(h));
  if (ls2) branch = ls2->forward(branch);
  Tensor y = add(h, drop_path2.forward(branch));   // (B2)
  return post_norm ? norm2.forward(y) : y;
}

}  // namespace cf
