#include "nn/norm.h"

#include "autograd/ops.h"

namespace cf {

LayerNorm::LayerNorm(int64_t d, float e) : dim(d), eps(e) {
  register_parameter("weight", &weight, {dim}, Init::ones());
  register_parameter("bias", &bias, {dim}, Init::zeros());
}

Tensor LayerNorm::forward(const Tensor& x) const { return layer_norm(x, weight, bias, eps); }

}  // namespace cf
