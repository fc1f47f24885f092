#include "nn/columnformer_block.h"

#include <algorithm>
#include <optional>

#include "autograd/error.h"
#include "autograd/graph.h"
#include "autograd/ops.h"
#include "nn/mlp.h"

namespace cf {

bool ColumnBlock::any_moe(const ColumnBlockOptions& o) {
  return o.attn.mode == "moe" || o.mlp_mode == "moe" || o.norm_mode == "moe";
}

int64_t ColumnBlock::mlp_width(const ColumnBlockOptions& o) {
  const bool conserve = o.mlp_conserve && parse_weight_mode("mlp_mode", o.mlp_mode) == WeightMode::Moe;
  return mlp_hidden(o.attn.dim, conserve ? o.mlp_ratio / double(o.experts) : o.mlp_ratio);
}

ColumnBlock::ColumnBlock(const ColumnBlockOptions& o) : skip_attn(o.skip_attn) {
  const int64_t D = o.attn.dim, N = o.attn.tokens;
  CF_CHECK(o.experts >= 1, "config: key \"experts\" has value \"" << o.experts << "\"; must be >= 1");
  // The coefficients come first: every moe layer of the block reads them.
  if (any_moe(o)) {
    coeffs = std::make_unique<MixtureCoefficients>(N, o.experts, o.temp_scale);
    register_module("coeffs", *coeffs);
  }
  const Sharing norm_sharing{parse_weight_mode("norm_mode", o.norm_mode), N, coeffs.get()};
  const Sharing mlp_sharing{parse_weight_mode("mlp_mode", o.mlp_mode), N, coeffs.get()};
  norm1 = make_norm(norm_sharing, D);
  attn = make_mixer(o.attn, coeffs.get());
  norm2 = make_norm(norm_sharing, D);
  mlp = std::make_unique<ColumnMLP>(mlp_sharing, D, mlp_width(o), o.act);
  register_module("norm1", *norm1);
  register_module("attn", *attn);
  register_module("norm2", *norm2);
  register_module("mlp", *mlp);
}

Tensor ColumnBlock::forward(const Tensor& x) {
  // One c (C2) and one mixing per moe layer for the whole block (3.2).
  std::optional<MixtureCoefficients::Hold> hold;
  if (coeffs) hold.emplace(*coeffs);
  Tensor a = attn->forward(norm1->forward(x));
  Tensor h = skip_attn ? add(x, a) : a;           // (C3)
  return add(h, mlp->forward(norm2->forward(h)));  // (C4)
}

namespace {
const EncoderOptions& checked(const EncoderOptions& o) {
  CF_CHECK(o.depth >= 1, "config: key \"depth\" has value \"" << o.depth << "\"; at least 1 block");
  CF_CHECK(o.blocks.size() == (o.recurrent ? 1u : size_t(o.depth)),
           "ColumnEncoder: " << o.blocks.size() << " block configurations for depth " << o.depth
                             << (o.recurrent ? " (recurrent: one)" : ""));
  CF_CHECK(o.recurrent || !o.time_embed, "config: key \"time_embed\" has value \"true\"; needs recurrent");
  CF_CHECK(o.recurrent || o.direct_edges.empty(),
           "config: key \"direct_edges\" is set; needs recurrent");
  return o;
}
}  // namespace

ColumnEncoder::ColumnEncoder(const EncoderOptions& o)
    : depth(checked(o).depth),
      seq_len(o.seq_len),
      dim(o.blocks.front().attn.dim),
      recurrent(o.recurrent),
      direct_edges(o.direct_edges) {
  if (o.pos_embed) {
    pos_embed = std::make_unique<PositionEmbedding>("learned", seq_len, dim);
    register_module("pos_embed", *pos_embed);
  }
  if (o.time_embed)
    register_parameter("time_embed", &time_embed, {depth, dim}, Init::trunc_normal(0.02f),
                       Decay::no);
  for (size_t i = 0; i < o.blocks.size(); ++i) {
    blocks.push_back(std::make_unique<ColumnBlock>(o.blocks[i]));
    register_module("blocks." + std::to_string(i), *blocks.back());
  }
}

Tensor ColumnEncoder::forward(const Tensor& input) {
  CF_CHECK(input.defined() && input.dim() == 3 && input.size(2) == dim &&
               (recurrent ? input.size(1) <= seq_len : input.size(1) == seq_len),
           "ColumnEncoder: input of shape " << (input.defined() ? shape_str(input.shape()) : "undefined")
                                            << ", expected [B, " << (recurrent ? "<= " : "") << seq_len
                                            << ", " << dim << "]");
  const int64_t B = input.size(0), n_in = input.size(1);
  Tensor x = n_in < seq_len ? concat({input, Tensor::zeros({B, seq_len - n_in, dim})}, 1) : input;
  if (pos_embed) x = pos_embed->forward(x);
  const Tensor u = slice(x, 1, 0, n_in);                                        // (C5)
  attention_maps_.clear();
  step_outputs_.clear();
  // Recurrent: the one block's moe weights are mixed once for all L steps.
  std::optional<MixtureCoefficients::Hold> hold;
  if (recurrent && blocks[0]->coeffs) hold.emplace(*blocks[0]->coeffs);
  for (int64_t t = 0; t < depth; ++t) {
    if (recurrent && !direct_edges.empty() && t > 0)
      x = index_select(concat({u, x}, 1), 1, direct_edges);                     // (C6)
    if (time_embed.defined()) x = add(x, slice(time_embed, 0, t, t + 1));       // + tau[t]
    ColumnBlock& block = *blocks[recurrent ? 0 : size_t(t)];
    x = block.forward(x);
    attention_maps_.push_back(block.attention_map());
    step_outputs_.push_back(x);
  }
  return x;
}

void ColumnEncoder::set_attention_bias(const Tensor& bias) {
  NoGradGuard no_grad;
  for (auto& block : blocks) {
    Tensor& target = block->attn->attn_bias;
    CF_CHECK(target.defined() && target.shape() == bias.shape(),
             "ColumnEncoder: local attention init needs an attention bias of shape "
                 << shape_str(bias.shape()) << " (set attn_bias)");
    std::copy(bias.data(), bias.data() + bias.numel(), target.data());
  }
}

}  // namespace cf
