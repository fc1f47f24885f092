// The Universal Transformer (ARCHITECTURES.md section 6) for images: one
// pre-norm block (2.3, with every attention option of nn/attention.h)
// shared across depth, applied T times, with a coordinate embedding of
// position and step added before every application:
//
//   P^t[i, 2j]   = sin(i / 10000^(2j/D)) + sin(t / 10000^(2j/D))
//   P^t[i, 2j+1] = cos(i / 10000^(2j/D)) + cos(t / 10000^(2j/D))          (U1)
//   h^t = Block(h^{t-1} + P^t),  t = 1, 2, ...                            (U2)
//
// The block is pre-norm, or post-norm (the original) with post_norm.
// halting = fixed: T = `steps` applications, the output is h^T.
// halting = act: Adaptive Computation Time (nn/act.h) with the halting unit
// p^t_i = sigmoid(h^t_i . w_h + b_h) (w_h "halt_weight" (1, D),
// trunc_normal(0.02); b_h "halt_bias", init from the key halt_bias), at most max_steps steps; the output is the ACT state (U3) and
// tau rho is returned as the auxiliary loss "ponder_cost".
// The tokens come from PatchEmbed (no learned positions: (U1) places them),
// and the output is pooled as in section 1.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "nn/block.h"
#include "nn/mixer_vision.h"
#include "nn/registry.h"

namespace cf {

class UniversalTransformer : public PatchModel {
 public:
  static Config defaults();
  static Config cifar_config(bool act);
  static std::unique_ptr<Model> create(const Config& config);
  explicit UniversalTransformer(const Config& config);

  std::vector<std::pair<std::string, Tensor>> aux_losses() const override;
  // One map per step of the last forward pass.
  std::vector<Tensor> attention_maps() const override { return attention_maps_; }
  // The number of steps each position took in the last forward pass, (B, N);
  // every entry is `steps` in fixed mode.
  const Tensor& steps_taken() const { return steps_taken_; }
  double mean_steps() const;
  // {"act_steps", mean_steps()}: logged by the training loop.
  std::vector<std::pair<std::string, double>> diagnostics() const override {
    return {{"act_steps", mean_steps()}};
  }
  // P^t of (U1), (1, N, D), for t = 1 .. max steps.
  const Tensor& coordinates(int64_t t) const;

  const bool act;
  const int64_t max_steps;  // T in fixed mode, T_max with ACT
  const float epsilon, ponder_weight;
  Block block;
  Tensor halt_weight, halt_bias;  // with ACT: (1, D) and (1)

 private:
  Tensor encode(const Tensor& x) override;
  std::vector<Tensor> coordinates_;
  std::vector<Tensor> attention_maps_;
  Tensor steps_taken_, ponder_cost_;
};

// ut_cifar (fixed 6 steps) and ut_act_cifar (ACT, at most 8 steps) (section 6).
std::vector<ModelInfo> universal_models();

}  // namespace cf
