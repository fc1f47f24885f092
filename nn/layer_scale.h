// LayerScale (Touvron 2021; ARCHITECTURES.md 2.3 and 8): a learned
// per-channel gain gamma in R^D, init 1e-4 or a configured value, multiplying
// a residual branch so that deep models start close to the identity.
#pragma once
#include <cstdint>

#include "nn/module.h"

namespace cf {

class LayerScale : public Module {
 public:
  LayerScale(int64_t dim, float init_value = 1e-4f);
  Tensor forward(const Tensor& x) const;
  Tensor gamma;  // [dim], timm's name
};

}  // namespace cf
