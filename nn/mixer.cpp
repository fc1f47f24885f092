#include "nn/mixer.h"

#include "autograd/error.h"
#include "autograd/ops.h"

namespace cf {

MixerBlock::MixerBlock(int64_t tokens, int64_t dim, int64_t token_hidden, int64_t channel_hidden)
    : norm1(dim), mlp_tokens(tokens, token_hidden), norm2(dim), mlp_channels(dim, channel_hidden) {
  register_module("norm1", norm1);
  register_module("mlp_tokens", mlp_tokens);
  register_module("norm2", norm2);
  register_module("mlp_channels", mlp_channels);
}

Tensor MixerBlock::forward(const Tensor& x) {
  // (M1): the token MLP runs along N, on LN(X) transposed to (B, D, N).
  Tensor u = add(x, transpose(mlp_tokens.forward(transpose(norm1.forward(x), 1, 2)), 1, 2));
  return add(u, mlp_channels.forward(norm2.forward(u)));  // (M2)
}

Config MlpMixer::defaults() {
  return PatchModel::defaults()
      .define("depth", 6, "number of Mixer layers L")
      .define("token_mlp_dim", 64, "token-mixing MLP width D_S")
      .define("channel_mlp_dim", 512, "channel-mixing MLP width D_C");
}

Config MlpMixer::paper_config(int64_t depth, int64_t dim, int64_t token_hidden, int64_t channel_hidden) {
  return defaults()
      .set("image_size", 224)
      .set("num_classes", 1000)
      .set("patch_size", 16)
      .set("depth", depth)
      .set("dim", dim)
      .set("token_mlp_dim", token_hidden)
      .set("channel_mlp_dim", channel_hidden);
}

std::unique_ptr<Model> MlpMixer::create(const Config& config) { return std::make_unique<MlpMixer>(config); }

MlpMixer::MlpMixer(const Config& c) : PatchModel(c, false, Init::zeros()) {
  const int64_t depth = c.get_int("depth"), token_hidden = c.get_int("token_mlp_dim"),
                channel_hidden = c.get_int("channel_mlp_dim");
  CF_CHECK(depth >= 1, "config: key \"depth\" has value \"" << depth << "\"; at least 1 layer");
  CF_CHECK(token_hidden >= 1, "config: key \"token_mlp_dim\" has value \"" << token_hidden << "\"; at least 1");
  CF_CHECK(channel_hidden >= 1,
           "config: key \"channel_mlp_dim\" has value \"" << channel_hidden << "\"; at least 1");
  for (int64_t i = 0; i < depth; ++i) {
    blocks.push_back(std::make_unique<MixerBlock>(tokens, dim, token_hidden, channel_hidden));
    register_module("blocks." + std::to_string(i), *blocks.back());
  }
  finish(c);
}

Tensor MlpMixer::encode(const Tensor& x) { return run_blocks(blocks, x); }

std::vector<ModelInfo> mixer_models() {
  return {
      {"mixer_s16", "Mixer-S/16, 8 layers, D 512, D_S 256, D_C 2048, ImageNet 224 (4)",
       MlpMixer::paper_config(8, 512, 256, 2048), MlpMixer::create},
      {"mixer_b16", "Mixer-B/16, 12 layers, D 768, D_S 384, D_C 3072, ImageNet 224 (4)",
       MlpMixer::paper_config(12, 768, 384, 3072), MlpMixer::create},
      {"mixer_cifar", "MLP-Mixer for CIFAR, patch 4, 6 layers, D 128, D_S 64, D_C 512 (4)",
       MlpMixer::defaults(), MlpMixer::create},
  };
}

}  // namespace cf
