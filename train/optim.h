// Optimisers, named and behaving as PyTorch's: SGD (momentum, Nesterov,
// L2 weight decay added to the gradient) and AdamW (decoupled weight decay,
// Loshchilov & Hutter). Both take parameter groups, each with its own weight
// decay, so that biases, norm gains, position embeddings and attention
// biases are not decayed (weight_decay_groups). `lr` is public: a schedule
// (train/schedule.h) sets it before each step().
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "autograd/tensor.h"
#include "nn/module.h"

namespace cf {

struct ParamGroup {
  std::vector<Tensor> params;
  float weight_decay = 0.0f;
  std::string name;  // for logs: "decay", "no_decay"
};

// Two groups, "decay" with `weight_decay` and "no_decay" with 0: the model's
// no_weight_decay() parameters (biases, norm parameters, positions and
// attention biases, whatever their shape; nn/module.h) go to "no_decay";
// with `decay_all` every parameter is decayed. Empty groups are left out.
std::vector<ParamGroup> weight_decay_groups(const Module& model, float weight_decay,
                                            bool decay_all = false);

class Optimizer {
 public:
  Optimizer(std::vector<ParamGroup> groups, float lr);
  virtual ~Optimizer() = default;
  // Updates every parameter that has a gradient; parameters without one
  // (unused in the forward pass) are left alone, as in PyTorch.
  virtual void step() = 0;
  void zero_grad();  // drops every parameter's gradient
  const std::vector<ParamGroup>& param_groups() const { return groups_; }

  // The optimiser's state (moments, momentum buffers, step counts) as named
  // tensors "<group>.<index>.<what>", e.g. "0.3.exp_avg", for checkpoints;
  // load_state_dict restores it exactly (a resumed run continues bit for
  // bit). Parameters that have not been stepped yet have no entries.
  virtual NamedTensors state_dict() const = 0;
  virtual void load_state_dict(const NamedTensors& state) = 0;

  float lr;

 protected:
  std::vector<ParamGroup> groups_;
};

class SGD : public Optimizer {
 public:
  //   g = grad + weight_decay p
  //   buf = momentum buf + g  (buf = g at the first step)
  //   p -= lr (nesterov ? g + momentum buf : buf)    [momentum 0: p -= lr g]
  SGD(std::vector<ParamGroup> groups, float lr, float momentum = 0.0f, bool nesterov = false);
  void step() override;
  NamedTensors state_dict() const override;
  void load_state_dict(const NamedTensors& state) override;

  const float momentum;
  const bool nesterov;

 private:
  std::vector<std::vector<Tensor>> buffers_;  // per group, per parameter
};

class AdamW : public Optimizer {
 public:
  //   p -= lr weight_decay p
  //   m = beta1 m + (1 - beta1) g;   v = beta2 v + (1 - beta2) g^2
  //   p -= lr (m / (1 - beta1^t)) / (sqrt(v / (1 - beta2^t)) + eps)
  // with t the parameter's own step count, from 1.
  AdamW(std::vector<ParamGroup> groups, float lr = 1e-3f, float beta1 = 0.9f,
        float beta2 = 0.999f, float eps = 1e-8f);
  void step() override;
  NamedTensors state_dict() const override;
  void load_state_dict(const NamedTensors& state) override;

  const float beta1, beta2, eps;

 protected:
  // Adam's L2 form adds weight_decay * p to the gradient instead.
  bool decoupled_ = true;

 private:
  struct State {
    Tensor m, v;
    int64_t steps = 0;
  };
  std::vector<std::vector<State>> state_;  // per group, per parameter
};

// Adam (Kingma & Ba) with L2 weight decay folded into the gradient, as
// PyTorch's Adam: g = grad + weight_decay p, then the Adam update.
class Adam : public AdamW {
 public:
  Adam(std::vector<ParamGroup> groups, float lr = 1e-3f, float beta1 = 0.9f,
       float beta2 = 0.999f, float eps = 1e-8f);
};

}  // namespace cf
