// The Cortical Transformer (ARCHITECTURES.md section 7; Robinson & Drenkow
// 2022): the CCT pipeline of section 1 with the transformer encoder replaced
// by one cortical block run for T timesteps on a latent of R regions:
//
//   logits = Head(SeqPool(LN(CorticalBlock(ConvTokenizer(image) + pos))))
//
// Macro connectivity (patterns, drop-off, token interactions) lives in
// nn/cortical_routing.h, micro and meso in nn/cortical_attention.h, the
// block and its recurrence in nn/cortical_block.h, RegionNorm in
// nn/region_norm.h. The registered configurations are those of 7.8.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "nn/cortical_block.h"
#include "nn/linear.h"
#include "nn/model.h"
#include "nn/norm.h"
#include "nn/pooling.h"
#include "nn/position.h"
#include "nn/registry.h"
#include "nn/tokenizer.h"

namespace cf {

class CorticalTransformer : public Model {
 public:
  // Every key with its default (cortical_baseline) and doc.
  static Config defaults();
  // The block's options from a config holding every key of defaults(); a bad
  // value is a cf::Error naming the key and the value.
  static CorticalOptions block_options(const Config& config);
  // The registry's factory.
  static std::unique_ptr<Model> create(const Config& config);

  explicit CorticalTransformer(const Config& config);
  Tensor forward(const Tensor& images) override;
  // Index t R + r: region r at step t (see CorticalBlock).
  std::vector<Tensor> attention_maps() const override { return cortex.attention_maps(); }
  std::vector<Tensor> block_outputs() const override { return cortex.region_outputs(); }

  // Learnable scalars, counting only the kept entries of masked weights
  // (section 0); num_parameters() counts whole tensors.
  int64_t learnable_parameters() const override;
  // The learnable attention parameters W^Q, W^K, W^V, W^0 of all regions (7.7).
  int64_t attention_parameters() const override { return cortex.attention_parameters(); }

  const int64_t image_size, in_channels, num_classes, dim;
  ConvTokenizer tokenizer;
  std::unique_ptr<PositionEmbedding> pos_embed;  // absent with pos = none
  CorticalBlock cortex;
  LayerNorm norm;
  SeqPool attention_pool;
  Linear head;
};

// The cortical configurations of 7.8, the naive-compression controls and
// smaller CPU-budget versions, as registry entries (nn/registry.cpp).
std::vector<ModelInfo> cortical_models();

// A markdown table, one row per configuration of cortical_models() at its
// defaults: heads, d_qk, d_v, D_s, density, learnable attention parameters
// (total and per region), the compression factor relative to
// cortical_baseline, and all learnable parameters.
std::string cortical_attention_table();

}  // namespace cf
