#include "nn/linear.h"

#include "autograd/error.h"
#include "autograd/ops.h"

namespace cf {

Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  CF_CHECK(x.defined() && x.dim() >= 1 && x.shape().back() == weight.size(1),
           "linear: input of shape " << (x.defined() ? shape_str(x.shape()) : "undefined")
                                     << " for weight of shape " << shape_str(weight.shape())
                                     << " (last axis must be " << weight.size(1) << ")");
  // The weight is stored [out, in]; a transposed copy is D_in x D_out floats,
  // small next to the GEMM it feeds, and keeps the layout PyTorch's.
  Tensor y = matmul(x, transpose(weight, 0, 1));
  return bias.defined() ? add(y, bias) : y;
}

Linear::Linear(int64_t in, int64_t out, bool with_bias, Init weight_init)
    : in_features(in), out_features(out) {
  CF_CHECK(in > 0 && out > 0, "Linear: sizes in " << in << ", out " << out << " must be positive");
  register_parameter("weight", &weight, {out, in}, weight_init);
  if (with_bias) register_parameter("bias", &bias, {out}, Init::zeros());
}

}  // namespace cf
