#include "nn/linear.h"

#include "autograd/error.h"

namespace cf {

Linear::Linear(int64_t in, int64_t out, bool with_bias, Init weight_init)
    : in_features(in), out_features(out) {
  CF_CHECK(in > 0 && out > 0, "Linear: sizes in " << in << ", out " << out << " must be positive");
  register_parameter("weight", &weight, {out, in}, weight_init);
  if (with_bias) register_parameter("bias", &bias, {out}, Init::zeros());
}

}  // namespace cf
