#include "nn/layer_scale.h"

#include "autograd/ops.h"

namespace cf {

LayerScale::LayerScale(int64_t dim, float init_value) {
  register_parameter("gamma", &gamma, {dim}, Init::constant(init_value));
}

Tensor LayerScale::forward(const Tensor& x) const { return mul(x, gamma); }

}  // namespace cf
