#include "nn/conv.h"

#include "autograd/error.h"
#include "autograd/ops.h"

namespace cf {

Conv2d::Conv2d(int64_t in, int64_t out, int64_t k, int64_t s, int64_t p, bool with_bias,
               Init weight_init)
    : in_channels(in), out_channels(out), kernel(k), stride(s), padding(p) {
  CF_CHECK(in > 0 && out > 0 && k > 0 && s > 0 && p >= 0,
           "Conv2d: in " << in << ", out " << out << ", kernel " << k << ", stride " << s
                         << ", padding " << p << " must be positive (padding >= 0)");
  register_parameter("weight", &weight, {out, in, k, k}, weight_init);
  if (with_bias) register_parameter("bias", &bias, {out}, Init::zeros());
}

Tensor Conv2d::forward(const Tensor& x) const { return conv2d(x, weight, bias, stride, padding); }

}  // namespace cf
