#include "nn/mlp.h"

#include <cmath>

#include "autograd/error.h"

namespace cf {

int64_t mlp_hidden(int64_t dim, double mlp_ratio) {
  // Checked before the cast: a NaN or huge ratio would make it undefined.
  CF_CHECK(mlp_ratio * double(dim) < 0x1p40,
           "MLP: mlp_ratio " << mlp_ratio << " times dim " << dim << " is not a hidden width");
  // A small epsilon so that 2.0 * 128 is 256 even if the ratio came from text.
  int64_t hidden = int64_t(std::floor(mlp_ratio * double(dim) + 1e-9));
  CF_CHECK(hidden > 0, "MLP: mlp_ratio " << mlp_ratio << " times dim " << dim
                                          << " gives no hidden units");
  return hidden;
}

MLP::MLP(int64_t dim, int64_t hidden, const std::string& act_name, float dropout)
    : fc1(dim, hidden), fc2(hidden, dim), act(act_name), drop(dropout) {
  register_module("fc1", fc1);
  register_module("act", act);
  register_module("fc2", fc2);
  register_module("drop", drop);
}

Tensor MLP::forward(const Tensor& x) { return drop.forward(fc2.forward(act.forward(fc1.forward(x)))); }

}  // namespace cf
