// Model: what every registered architecture is. Images in, logits out, plus
// what training and inspection read after a forward pass (ARCHITECTURES.md
// section 0, "Exposed state" and "Auxiliary losses").
#pragma once
#include <string>
#include <utility>
#include <vector>

#include "nn/config.h"
#include "nn/module.h"

namespace cf {

class Model : public Module {
 public:
  // images [B, C, H, W] -> logits [B, K].
  virtual Tensor forward(const Tensor& images) = 0;
  // Losses the model adds to the task loss, by name, from the last forward
  // pass (each is logged separately). None for ViT and CCT.
  virtual std::vector<std::pair<std::string, Tensor>> aux_losses() const { return {}; }
  // The attention map (B, H, N, N) of each block, by block index, and each
  // block's output features (B, N, D), from the last forward pass. Models
  // built on nn/attention.h keep their maps only after keep_attention_maps
  // (their fused attention forms none); the others always keep them.
  virtual std::vector<Tensor> attention_maps() const { return {}; }
  virtual std::vector<Tensor> block_outputs() const { return {}; }
  // Figures of the last forward pass worth logging, by name (the Universal
  // Transformer's mean number of ACT steps); averaged per epoch in the logs.
  virtual std::vector<std::pair<std::string, double>> diagnostics() const { return {}; }

  // Learnable scalars: num_parameters() less entries a fixed mask keeps at
  // zero (ARCHITECTURES.md section 0). Models with masked weights override.
  virtual int64_t learnable_parameters() const { return num_parameters(); }
  // The learnable scalars of the token mixers (the Cortical Transformer
  // paper's count): by default every parameter under a module named "attn",
  // "aft" or "mlp_tokens" (model.cpp).
  virtual int64_t attention_parameters() const;

  // The registered name and the full config it was built from (set by
  // build_model), so a checkpoint can rebuild it.
  const std::string& name() const { return name_; }
  const Config& config() const { return config_; }
  void set_identity(const std::string& name, const Config& config) {
    name_ = name;
    config_ = config;
  }

 private:
  std::string name_;
  Config config_;
};

}  // namespace cf
