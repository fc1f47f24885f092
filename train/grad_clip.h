// Gradient clipping by global norm: if ||g|| over every parameter exceeds
// max_norm, every gradient is scaled by max_norm / ||g||.
#pragma once
#include <vector>

#include "autograd/tensor.h"

namespace cf {

// Returns the norm before clipping. Parameters without a gradient are skipped.
// The squares are summed in double, parameter by parameter in the given order,
// so the result does not depend on the thread count.
double clip_grad_norm(const std::vector<Tensor>& parameters, double max_norm);

}  // namespace cf
