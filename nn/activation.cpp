#include "nn/activation.h"

#include <sstream>

#include "autograd/error.h"
#include "autograd/ops.h"

namespace cf {

namespace {
Tensor gelu_fn(const Tensor& x) { return gelu(x); }
Tensor relu_fn(const Tensor& x) { return relu(x); }
Tensor squared_relu_fn(const Tensor& x) { return squared_relu(x); }

const std::vector<std::pair<std::string, ActivationFn>>& table() {
  static const std::vector<std::pair<std::string, ActivationFn>> t = {
      {"gelu", gelu_fn}, {"relu", relu_fn}, {"squared_relu", squared_relu_fn}};
  return t;
}
}  // namespace

std::vector<std::string> activation_names() {
  std::vector<std::string> names;
  for (const auto& [name, fn] : table()) names.push_back(name);
  return names;
}

ActivationFn activation_by_name(const std::string& name) {
  for (const auto& [n, fn] : table())
    if (n == name) return fn;
  std::ostringstream known;
  for (const std::string& n : activation_names()) known << (known.tellp() ? ", " : "") << n;
  throw Error("activation: unknown name \"" + name + "\" (known: " + known.str() + ")");
}

}  // namespace cf
