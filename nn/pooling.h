// Pooling tokens to one vector per image (ARCHITECTURES.md 1.4).
#pragma once
#include <cstdint>

#include "nn/module.h"

namespace cf {

// Average over tokens: (B, N, D) -> (B, D).
Tensor mean_pool(const Tensor& x);

// SeqPool (CCT): a = softmax_n(x g + c), z = sum_n a_n x_n, with (g, c) a
// Linear(D, 1) stored as weight [1, D] and bias [1]. Params D + 1.
class SeqPool : public Module {
 public:
  explicit SeqPool(int64_t dim);
  Tensor forward(const Tensor& x) const;  // (B, N, D) -> (B, D)
  Tensor weight, bias;
};

}  // namespace cf
