// MLP (ARCHITECTURES.md 2.2): Linear(D, D_ff) -> act -> Linear(D_ff, D),
// biases on, D_ff = floor(mlp_ratio * D). Params 2 D D_ff + D_ff + D.
#pragma once
#include <cstdint>
#include <string>

#include "nn/activation.h"
#include "nn/dropout.h"
#include "nn/linear.h"

namespace cf {

// floor(mlp_ratio * dim), the hidden width of 2.2.
int64_t mlp_hidden(int64_t dim, double mlp_ratio);

class MLP : public Module {
 public:
  MLP(int64_t dim, int64_t hidden, const std::string& act = "gelu", float dropout = 0.0f);
  Tensor forward(const Tensor& x);

  Linear fc1, fc2;  // timm's names
  Activation act;
  Dropout drop;
};

}  // namespace cf
