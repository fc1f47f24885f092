// The vision Columnformer (ARCHITECTURES.md 3.7):
//
//   PatchEmbed -> ColumnEncoder -> LayerNorm -> the last `output_len` columns
//   -> pool (avg, or spatial: a learned softmax pooling per class) -> head
//
// with the sheet geometry (3.6) giving the wiring cost on the attention maps
// and the TV loss on the mixture coefficients as auxiliary losses.
//
// For inspection (the `inspect` command): geometry() places each column on
// the sheet, attention_maps() gives each step's map and wiring_costs() each
// step's wiring cost (docs/COLUMNFORMER.md).
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "nn/columnformer_block.h"
#include "nn/geometry.h"
#include "nn/linear.h"
#include "nn/model.h"
#include "nn/norm.h"
#include "nn/registry.h"
#include "nn/tokenizer.h"

namespace cf {

// 1.4 SpatialPool: A = softmax over n of S (K, M); P = A x -> (B, K, D).
// Params K M.
class SpatialPool : public Module {
 public:
  SpatialPool(int64_t tokens, int64_t classes);
  Tensor forward(const Tensor& x) const;  // (B, M, D) -> (B, K, D)
  Tensor weight;                          // S (K, M), trunc_normal(0.2)
};

class VisionColumnformer : public Model {
 public:
  // Every key with its default and doc.
  static Config defaults();
  // The factory the registry calls: `config` holds every key of defaults().
  static std::unique_ptr<Model> create(const Config& config);
  // The encoder options a config describes; bad values are errors naming
  // the key and the value.
  static EncoderOptions encoder_options(const Config& config);

  explicit VisionColumnformer(const Config& config);
  Tensor forward(const Tensor& images) override;
  // "wiring_cost" (C9) when there is a geometry and wiring_lambda > 0;
  // "tv_loss" (C10) when a layer is moe and tv_lambda > 0.
  std::vector<std::pair<std::string, Tensor>> aux_losses() const override;
  // One per step (block in feed-forward mode, timestep in recurrent mode).
  std::vector<Tensor> attention_maps() const override;
  std::vector<Tensor> block_outputs() const override;

  // The columns on the sheet; null without geometry.
  const Geometry* geometry() const { return geometry_ ? geometry_.get() : nullptr; }
  // (C9) without lambda for each step's attention map of the last forward
  // pass: mean over (b, head, query) of sum over keys of |Wd A|. Empty
  // without geometry.
  std::vector<float> wiring_costs() const;

  const int64_t image_size, in_channels, num_classes, dim, patches, output_len;
  const std::string pool;
  const float wiring_lambda, tv_lambda;
  PatchEmbed patch_embed;
  ColumnEncoder encoder;
  LayerNorm norm;
  std::unique_ptr<SpatialPool> spatial_pool;  // pool = spatial
  Linear head;

 private:
  std::unique_ptr<Geometry> geometry_;
  Tensor wiring_weights_;  // Wd (N, N)
};

// The registered configurations of 3.7 and their CIFAR versions, for the
// registry's built-in list.
std::vector<ModelInfo> columnformer_models();

}  // namespace cf
