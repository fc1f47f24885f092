// Module: the base of every layer and model, after PyTorch's nn.Module and its
// C++ frontend. A module owns its parameters (tensors that require grad) and
// buffers as ordinary members, and registers them, and its child modules,
// under local names. The registered tree gives every tensor a hierarchical
// name ("blocks.0.attn.q.weight"), which is what state_dict() and
// checkpoints use, so that a PyTorch state dict maps one to one
// (docs/MODELS.md).
//
//   class Linear : public Module {
//    public:
//     Linear(int64_t in, int64_t out) {
//       register_parameter("weight", &weight, {out, in}, Init::trunc_normal(0.02f));
//     }
//     Tensor weight;
//   };
//
// Registration stores the member's address, so a module never moves once
// built: modules are not copyable or movable; hold them by value as members
// or by std::unique_ptr.
//
// Initialisation is seeded by name: each parameter is drawn from
// Rng(seed, stream_id(full name)), so its values depend on the seed and its
// name only, never on construction order. A module initialises its
// parameters when they are registered as if it were the root with seed 0;
// init_parameters(seed) on the root draws them again under their full names
// (the model factories do this).
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "autograd/tensor.h"

namespace cf {

using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

// How a parameter is initialised (ARCHITECTURES.md section 0).
struct Init {
  enum class Kind { Constant, Normal, TruncNormal };
  Kind kind = Kind::Constant;
  float value = 0.0f;  // the constant, or the standard deviation

  static Init zeros() { return {Kind::Constant, 0.0f}; }
  static Init ones() { return {Kind::Constant, 1.0f}; }
  static Init constant(float v) { return {Kind::Constant, v}; }
  static Init normal(float std) { return {Kind::Normal, std}; }
  // Normal of std s truncated to [-2s, 2s] (the spec's trunc_normal(s)).
  static Init trunc_normal(float std) { return {Kind::TruncNormal, std}; }
  // He/Kaiming normal, fan-in mode, ReLU gain sqrt(2): std = sqrt(2 / fan_in).
  static Init kaiming_normal(int64_t fan_in);
};

// Whether weight decay applies to a parameter (train/optim.h). By shape:
// a parameter of two or more axes (a weight matrix, a kernel) is decayed,
// one of at most one axis (a bias, a norm's gain) is not. A module passes
// Decay::no for what is not a weight whatever its shape: the biases and norm
// parameters of untied and mixture layers, positions, attention biases.
enum class Decay { by_shape, no };

class Module {
 public:
  Module() = default;
  virtual ~Module() = default;
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  // Parameters in registration order, depth first (PyTorch's order).
  NamedTensors named_parameters() const;
  std::vector<Tensor> parameters() const;
  NamedTensors named_buffers() const;  // persistent buffers only
  // Parameters then persistent buffers of each module, depth first: what a
  // checkpoint holds.
  NamedTensors state_dict() const;
  // Copies values into the existing tensors (optimisers keep their handles).
  // The names and shapes must match exactly; otherwise nothing is copied and
  // the error lists every missing, unexpected and mismatched tensor.
  void load_state_dict(const NamedTensors& state);

  // The registered handle of a parameter by full name. Assigning to it
  // replaces the parameter (gradcheck of a model as a function of one).
  Tensor& parameter(const std::string& name);

  // Full names of the parameters that weight decay leaves alone (timm's
  // no_weight_decay()): those of at most one axis, and those registered with
  // Decay::no.
  std::vector<std::string> no_weight_decay() const;

  int64_t num_parameters() const;  // learnable scalars
  void zero_grad();

  // Calls fn on this module and every descendant, depth first (PyTorch's
  // Module.apply): e.g. to switch an option on every layer of one kind.
  void apply(const std::function<void(Module&)>& fn);

  void train(bool on = true);
  void eval() { train(false); }
  bool is_training() const { return training_; }

  // Draws every parameter again from Rng(seed, stream_id(full name)) and keys
  // the random streams of stochastic layers (dropout) by (seed, module path).
  void init_parameters(uint64_t seed);
  // Sets the training step that stochastic layers fold into their masks, and
  // restarts their count of calls: forward passes after set_step(s) draw the
  // same masks every time (reproducible runs, resumption, gradcheck).
  void set_step(uint64_t step);

  // A table of parameter name, shape and count, with the total (torchinfo).
  std::string summary() const;

 protected:
  // Creates `*slot` with `shape`, marks it as requiring grad, initialises it
  // and registers it under `name`.
  void register_parameter(const std::string& name, Tensor* slot, const Shape& shape, Init init,
                          Decay decay = Decay::by_shape);
  // A tensor that is state but not learned. Non-persistent buffers (tables
  // computed from the config) are left out of state_dict().
  void register_buffer(const std::string& name, Tensor* slot, Tensor value,
                       bool persistent = true);
  void register_module(const std::string& name, Module& child);

  // A fresh seed for one random draw of this module (a dropout mask): a pure
  // function of (init seed, module path, step, calls since set_step).
  uint64_t next_random_seed();

 private:
  struct ParameterSlot {
    std::string name;
    Tensor* tensor;
    Init init;
    bool decayed;
  };
  struct BufferSlot {
    std::string name;
    Tensor* tensor;
    bool persistent;
  };
  // Calls f(prefix, module) for this module and every descendant, depth first.
  template <class F>
  void visit(const std::string& prefix, F&& f);
  template <class F>
  void visit(const std::string& prefix, F&& f) const;
  // Keys this module's random streams and, from it, its descendants'.
  void set_random_key(uint64_t key);

  std::vector<ParameterSlot> parameters_;
  std::vector<BufferSlot> buffers_;
  std::vector<std::pair<std::string, Module*>> children_;
  bool training_ = true;
  uint64_t random_key_ = 0, step_ = 0, calls_ = 0;
};

// Fills `t` in place by `init`, from Rng(seed, stream_id(name)).
void initialise(Tensor& t, Init init, uint64_t seed, const std::string& name);

}  // namespace cf
