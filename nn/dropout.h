// Stochastic regularisers. Both are the identity in eval mode and when p is
// 0 (section 0: dropout defaults to 0). Their masks come from the module's
// counter-based random stream (Module::next_random_seed), so a run is
// reproducible and set_step() makes repeated forwards draw the same masks.
#pragma once
#include "nn/module.h"

namespace cf {

// Zeroes each element with probability p, scales the rest by 1/(1-p).
class Dropout : public Module {
 public:
  explicit Dropout(float p = 0.0f);
  Tensor forward(const Tensor& x);
  const float p;
};

// Stochastic depth (section 2.3): drops the whole branch of a sample with
// probability p and rescales kept samples by 1/(1-p). x is [B, ...].
class DropPath : public Module {
 public:
  explicit DropPath(float p = 0.0f);
  Tensor forward(const Tensor& x);
  const float p;
};

}  // namespace cf
