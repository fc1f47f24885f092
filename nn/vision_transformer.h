// The vision transformer of ARCHITECTURES.md section 1, which ViT-lite (2.4)
// and CCT (2.5) are configurations of:
//
//   logits = Head(Pool(Norm(Encoder(Tokenizer(image) + pos))))
//
// Tokenizer: PatchEmbed (1.1) or the CCT convolutional tokenizer (1.2);
// pos: learned or sinusoidal (1.3); Encoder: `depth` pre-norm Blocks (2.3);
// Norm: the final LayerNorm; Pool: mean, SeqPool or a class token (1.4);
// Head: Linear(D, K) (1.5). Parameter names follow timm (docs/MODELS.md).
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "nn/block.h"
#include "nn/dropout.h"
#include "nn/model.h"
#include "nn/norm.h"
#include "nn/pooling.h"
#include "nn/position.h"
#include "nn/tokenizer.h"

namespace cf {

class VisionTransformer : public Model {
 public:
  // Every key with its default and doc; the registered variants override a
  // few of them (vit_config, cct_config).
  static Config defaults();
  static Config vit_config(int64_t dim, int64_t depth, int64_t heads, double mlp_ratio);
  static Config cct_config(int64_t conv_layers, int64_t conv_kernel, int64_t dim, int64_t depth,
                           int64_t heads, double mlp_ratio);
  // The registry's factory: `config` holds every key of defaults().
  static std::unique_ptr<Model> create(const Config& config);

  explicit VisionTransformer(const Config& config);
  Tensor forward(const Tensor& images) override;
  std::vector<Tensor> attention_maps() const override;
  std::vector<Tensor> block_outputs() const override;

  const int64_t image_size, in_channels, num_classes, dim, tokens;
  const std::string pool;
  std::unique_ptr<PatchEmbed> patch_embed;  // tokenizer = patch
  std::unique_ptr<ConvTokenizer> tokenizer;  // tokenizer = conv
  Tensor cls_token;                          // (1, 1, D) with pool = cls
  std::unique_ptr<PositionEmbedding> pos_embed;  // absent with pos = none
  Dropout pos_drop;
  std::vector<std::unique_ptr<Block>> blocks;
  LayerNorm norm;
  std::unique_ptr<SeqPool> attention_pool;  // pool = seq
  Linear head;

 private:
  std::vector<Tensor> block_outputs_;
};

}  // namespace cf
