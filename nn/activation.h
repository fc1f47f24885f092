// Activations selectable by name: "gelu" (exact erf form, section 0, the
// default), "relu", "squared_relu" (relu(u)^2, Primer; section 8).
#pragma once
#include <string>
#include <vector>

#include "nn/module.h"

namespace cf {

using ActivationFn = Tensor (*)(const Tensor&);

// The function for `name`; an unknown name is an error listing the known ones.
ActivationFn activation_by_name(const std::string& name);
std::vector<std::string> activation_names();

class Activation : public Module {
 public:
  explicit Activation(const std::string& name = "gelu")
      : name(name), fn_(activation_by_name(name)) {}
  Tensor forward(const Tensor& x) const { return fn_(x); }
  const std::string name;

 private:
  ActivationFn fn_;
};

}  // namespace cf
