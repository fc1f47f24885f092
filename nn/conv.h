// Conv2d with a PyTorch-layout weight [out, in, k, k] and optional bias [out],
// for the tokenizers (ARCHITECTURES.md 1.1, 1.2).
#pragma once
#include <cstdint>

#include "nn/module.h"

namespace cf {

class Conv2d : public Module {
 public:
  Conv2d(int64_t in_channels, int64_t out_channels, int64_t kernel, int64_t stride,
         int64_t padding, bool bias, Init weight_init);
  Tensor forward(const Tensor& x) const;  // [B, C, H, W] -> [B, O, Ho, Wo]

  const int64_t in_channels, out_channels, kernel, stride, padding;
  Tensor weight;  // [out, in, k, k]
  Tensor bias;    // [out], undefined without bias
};

}  // namespace cf
