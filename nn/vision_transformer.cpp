#include "nn/vision_transformer.h"

#include <cmath>
#include <sstream>

#include "autograd/error.h"
#include "autograd/ops.h"

namespace cf {

Config VisionTransformer::defaults() {
  Config c;
  c.define("image_size", 32, "input height = width in pixels")
      .define("in_channels", 3, "input channels C_in")
      .define("num_classes", 10, "classes K")
      .define("tokenizer", "patch", "patch (PatchEmbed, 1.1) or conv (CCT tokenizer, 1.2)")
      .define("patch_size", 4, "patch size p of PatchEmbed")
      .define("conv_layers", 2, "n_conv of the CCT tokenizer")
      .define("conv_kernel", 3, "kernel k of the CCT tokenizer's convolutions")
      .define("conv_channels", 64, "intermediate channels of the CCT tokenizer")
      .define("dim", 128, "model width D")
      .define("depth", 6, "number of blocks L")
      .define("heads", 4, "attention heads H")
      .define("mlp_ratio", 2.0, "MLP hidden width D_ff = floor(mlp_ratio D)")
      .define("qk_dim", 0, "per-head query/key width d_qk (0: D / H)")
      .define("qkv_bias", false, "biases on the q, k, v projections")
      .define("attn_bias", false, "learned (N, N) attention bias")
      .define("head_bias", false, "learned (H, N, N) attention bias per head (needs attn_bias)")
      .define("no_vp", false, "no value and output projections (simplified block)")
      .define("skip_attn", true, "skip connection around attention (false: simplified block, 8)")
      .define("multi_query", false, "one key/value head shared by all query heads (8)")
      .define("qk_norm", false, "L2-normalised q and k with a learned scale (8)")
      .define("rel_pos_bias", false, "learned bias per head and relative 2-D offset (8)")
      .define("linear_attn", false, "linear attention with the elu+1 feature map (8)")
      .define("act", "gelu", "MLP activation: gelu, relu or squared_relu")
      .define("pos", "learned", "position embedding: learned, sinusoidal or none")
      .define("pool", "mean", "pooling: mean, seq (SeqPool) or cls (class token)")
      .define("layer_scale", 0.0, "LayerScale init value (0: off)")
      .define("dropout", 0.0, "dropout after positions, attention output and MLP")
      .define("attn_dropout", 0.0, "dropout on attention weights")
      .define("drop_path", 0.0, "stochastic depth, rising linearly to this in the last block")
      .define("seed", 0, "initialisation seed");
  return c;
}

Config VisionTransformer::vit_config(int64_t dim, int64_t depth, int64_t heads, double mlp_ratio) {
  return defaults()
      .set("dim", dim)
      .set("depth", depth)
      .set("heads", heads)
      .set("mlp_ratio", mlp_ratio);
}

Config VisionTransformer::cct_config(int64_t conv_layers, int64_t conv_kernel, int64_t dim,
                                     int64_t depth, int64_t heads, double mlp_ratio) {
  return vit_config(dim, depth, heads, mlp_ratio)
      .set("tokenizer", "conv")
      .set("conv_layers", conv_layers)
      .set("conv_kernel", conv_kernel)
      .set("pool", "seq");
}

std::unique_ptr<Model> VisionTransformer::create(const Config& config) {
  return std::make_unique<VisionTransformer>(config);
}

namespace {

// A string key's value, checked against its allowed values.
std::string choice(const Config& c, const std::string& key, const std::vector<std::string>& allowed) {
  const std::string& v = c.get_string(key);
  std::ostringstream list;
  for (const std::string& a : allowed) {
    if (a == v) return v;
    list << (list.tellp() ? ", " : "") << a;
  }
  throw Error("config: key \"" + key + "\" has value \"" + v + "\"; allowed: " + list.str());
}

int64_t token_count(const Config& c) {
  const int64_t image = c.get_int("image_size");
  const int64_t n = choice(c, "tokenizer", {"patch", "conv"}) == "patch"
                        ? PatchEmbed::tokens(image, c.get_int("patch_size"))
                        : ConvTokenizer::tokens(image, c.get_int("conv_layers"),
                                                c.get_int("conv_kernel"));
  return n + (choice(c, "pool", {"mean", "seq", "cls"}) == "cls" ? 1 : 0);
}

}  // namespace

VisionTransformer::VisionTransformer(const Config& c)
    : image_size(c.get_int("image_size")),
      in_channels(c.get_int("in_channels")),
      num_classes(c.get_int("num_classes")),
      dim(c.get_int("dim")),
      tokens(token_count(c)),
      pool(choice(c, "pool", {"mean", "seq", "cls"})),
      pos_drop(float(c.get_float("dropout"))),
      norm(dim),
      head(dim, num_classes) {
  if (c.get_string("tokenizer") == "patch") {
    patch_embed = std::make_unique<PatchEmbed>(image_size, c.get_int("patch_size"), in_channels, dim);
    register_module("patch_embed", *patch_embed);
  } else {
    tokenizer = std::make_unique<ConvTokenizer>(in_channels, dim, c.get_int("conv_layers"),
                                                c.get_int("conv_kernel"), c.get_int("conv_channels"));
    register_module("tokenizer", *tokenizer);
  }
  if (pool == "cls")
    register_parameter("cls_token", &cls_token, {1, 1, dim}, Init::trunc_normal(0.02f), Decay::no);
  const std::string pos = choice(c, "pos", {"learned", "sinusoidal", "none"});
  if (pos != "none") {
    pos_embed = std::make_unique<PositionEmbedding>(pos, tokens, dim);
    register_module("pos_embed", *pos_embed);
  }
  register_module("pos_drop", pos_drop);

  BlockOptions block;
  block.attention.dim = dim;
  block.attention.heads = c.get_int("heads");
  block.attention.qk_dim = c.get_int("qk_dim");
  block.attention.tokens = tokens;
  block.attention.qkv_bias = c.get_bool("qkv_bias");
  block.attention.attn_bias = c.get_bool("attn_bias");
  block.attention.head_bias = c.get_bool("head_bias");
  block.attention.no_vp = c.get_bool("no_vp");
  block.attention.multi_query = c.get_bool("multi_query");
  block.attention.qk_norm = c.get_bool("qk_norm");
  block.attention.rel_pos_bias = c.get_bool("rel_pos_bias");
  // Tokenizers give a square grid; a class token has no place on it, so
  // offsets are then taken along the sequence.
  block.attention.grid = pool == "cls" ? 0 : int64_t(std::lround(std::sqrt(double(tokens))));
  block.attention.linear = c.get_bool("linear_attn");
  block.attention.attn_dropout = float(c.get_float("attn_dropout"));
  block.attention.proj_dropout = float(c.get_float("dropout"));
  block.mlp_hidden = mlp_hidden(dim, c.get_float("mlp_ratio"));
  block.act = c.get_string("act");
  block.dropout = float(c.get_float("dropout"));
  block.layer_scale = float(c.get_float("layer_scale"));
  block.skip_attn = c.get_bool("skip_attn");
  const int64_t depth = c.get_int("depth");
  CF_CHECK(depth >= 1, "config: key \"depth\" has value \"" << depth << "\"; at least 1 block");
  for (int64_t i = 0; i < depth; ++i) {
    // Stochastic depth rises linearly from 0 in the first block (timm, CCT).
    block.drop_path = depth > 1 ? float(c.get_float("drop_path") * double(i) / double(depth - 1)) : 0.0f;
    blocks.push_back(std::make_unique<Block>(block));
    register_module("blocks." + std::to_string(i), *blocks.back());
  }
  register_module("norm", norm);
  if (pool == "seq") {
    attention_pool = std::make_unique<SeqPool>(dim);
    register_module("attention_pool", *attention_pool);
  }
  register_module("head", head);
  init_parameters(uint64_t(c.get_int("seed")));
}

Tensor VisionTransformer::forward(const Tensor& images) {
  CF_CHECK(images.defined() && images.dim() == 4 && images.size(1) == in_channels &&
               images.size(2) == image_size && images.size(3) == image_size,
           "VisionTransformer: images of shape "
               << (images.defined() ? shape_str(images.shape()) : "undefined") << ", expected [B, "
               << in_channels << ", " << image_size << ", " << image_size << "]");
  const int64_t B = images.size(0);
  Tensor x = patch_embed ? patch_embed->forward(images) : tokenizer->forward(images);
  if (pool == "cls")  // the class token goes first (timm)
    x = concat({mul(Tensor::ones({B, 1, 1}), cls_token), x}, 1);
  if (pos_embed) x = pos_embed->forward(x);
  x = pos_drop.forward(x);
  block_outputs_.clear();
  for (auto& block : blocks) {
    x = block->forward(x);
    block_outputs_.push_back(x);
  }
  x = norm.forward(x);
  Tensor pooled = pool == "mean"  ? mean_pool(x)
                  : pool == "seq" ? attention_pool->forward(x)
                                  : reshape(slice(x, 1, 0, 1), {B, dim});
  return head.forward(pooled);
}

std::vector<Tensor> VisionTransformer::attention_maps() const {
  std::vector<Tensor> maps;
  for (const auto& block : blocks)
    if (block->attention_map().defined()) maps.push_back(block->attention_map());
  return maps;
}

std::vector<Tensor> VisionTransformer::block_outputs() const { return block_outputs_; }

}  // namespace cf
