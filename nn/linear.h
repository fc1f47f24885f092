// Linear: y = x W^T + b (ARCHITECTURES.md section 0), W stored [out, in] as in
// PyTorch so that state dicts map one to one.
#pragma once
#include <cstdint>

#include "autograd/ops.h"
#include "nn/module.h"

namespace cf {

// forward is the op linear (autograd/ops/matmul.cpp).

class Linear : public Module {
 public:
  // Init per section 0: W ~ trunc_normal(0.02), b = 0.
  Linear(int64_t in_features, int64_t out_features, bool bias = true,
         Init weight_init = Init::trunc_normal(0.02f));
  Tensor forward(const Tensor& x) const { return linear(x, weight, bias); }

  const int64_t in_features, out_features;
  Tensor weight;  // [out, in]
  Tensor bias;    // [out], undefined without bias
};

}  // namespace cf
