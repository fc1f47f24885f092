// The vision pipeline of ARCHITECTURES.md section 1 around a token-mixing
// encoder other than the attention stack of the vision transformer: the
// MLP-Mixer (4), the AFT models (5) and the Universal Transformer (6).
//
//   logits = Head(mean_pool(Norm(Encoder(PatchEmbed(image) [+ pos]))))
//
// PatchEmbed 1.1, optional learned positions 1.3, mean pooling 1.4, final
// LayerNorm and Linear head 1.5. A model derives from PatchModel, registers
// its encoder's modules in its constructor and then calls finish(), so the
// parameter order is the pipeline's: patch_embed, pos_embed, blocks, norm,
// head.
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "nn/linear.h"
#include "nn/model.h"
#include "nn/norm.h"
#include "nn/position.h"
#include "nn/tokenizer.h"

namespace cf {

class PatchModel : public Model {
 public:
  // The keys every PatchModel reads: image_size, in_channels, num_classes,
  // patch_size, dim, seed.
  static Config defaults();

  Tensor forward(const Tensor& images) override;
  std::vector<Tensor> block_outputs() const override { return block_outputs_; }

  const int64_t image_size, in_channels, num_classes, dim;
  const int64_t tokens, grid;  // N = grid^2 patches
  PatchEmbed patch_embed;
  std::unique_ptr<PositionEmbedding> pos_embed;  // only with learned positions
  LayerNorm norm;
  Linear head;

 protected:
  PatchModel(const Config& config, bool learned_positions, Init head_init = Init::trunc_normal(0.02f));
  // Registers norm and head, then draws every parameter from the seed.
  void finish(const Config& config);
  // (B, N, D) -> (B, N, D); records each block's output in block_outputs_.
  virtual Tensor encode(const Tensor& x) = 0;

  // x through each block in turn, recording the outputs.
  template <class Blocks>
  Tensor run_blocks(Blocks& blocks, Tensor x) {
    for (auto& block : blocks) {
      x = block->forward(x);
      block_outputs_.push_back(x);
    }
    return x;
  }

  std::vector<Tensor> block_outputs_;
};

}  // namespace cf
