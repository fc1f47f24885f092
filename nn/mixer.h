// MLP-Mixer (ARCHITECTURES.md section 4): token mixing by an MLP across
// positions, shared over channels, and channel mixing by an MLP across
// channels, shared over positions. Layer l, input X (B, N, D):
//
//   U = X + ( W2 GELU( W1 LN(X)^T + b1 ) + b2 )^T     W1 (D_S, N), W2 (N, D_S)   (M1)
//   Y = U + W4 GELU( W3 LN(U) + b3 ) + b4            W3 (D_C, D), W4 (D, D_C)    (M2)
//
// Both are the MLP of 2.2: the token MLP is MLP(N, D_S) on LN(X) transposed
// to (B, D, N). Names follow timm (norm1, mlp_tokens, norm2, mlp_channels).
// Params per layer: 2 N D_S + D_S + N + 2 D D_C + D_C + D + 4 D.
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "nn/mixer_vision.h"
#include "nn/mlp.h"
#include "nn/norm.h"
#include "nn/registry.h"

namespace cf {

class MixerBlock : public Module {
 public:
  MixerBlock(int64_t tokens, int64_t dim, int64_t token_hidden, int64_t channel_hidden);
  Tensor forward(const Tensor& x);  // (B, N, D) -> (B, N, D)

  LayerNorm norm1;
  MLP mlp_tokens;
  LayerNorm norm2;
  MLP mlp_channels;
};

// PatchEmbed, `depth` MixerBlocks, LayerNorm, global average pooling and a
// head whose weight starts at zero, as in the paper (section 4). No position
// embedding: the token MLP sees positions by their index.
class MlpMixer : public PatchModel {
 public:
  static Config defaults();
  // The paper's Mixer-S/16 and Mixer-B/16 (ImageNet: 224 x 224, 1000 classes).
  static Config paper_config(int64_t depth, int64_t dim, int64_t token_hidden, int64_t channel_hidden);
  static std::unique_ptr<Model> create(const Config& config);
  explicit MlpMixer(const Config& config);

  std::vector<std::unique_ptr<MixerBlock>> blocks;

 private:
  Tensor encode(const Tensor& x) override;
};

// mixer_s16, mixer_b16, mixer_cifar (section 4).
std::vector<ModelInfo> mixer_models();

}  // namespace cf
