// LayerNorm over the last axis (ARCHITECTURES.md section 0): eps 1e-5,
// biased variance, affine weight ones and bias zeros at init.
#pragma once
#include <cstdint>

#include "nn/module.h"

namespace cf {

class LayerNorm : public Module {
 public:
  explicit LayerNorm(int64_t dim, float eps = 1e-5f);
  Tensor forward(const Tensor& x) const;

  const int64_t dim;
  const float eps;
  Tensor weight, bias;  // [dim]
};

}  // namespace cf
