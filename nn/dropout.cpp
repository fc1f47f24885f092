#include "nn/dropout.h"

#include "autograd/error.h"
#include "autograd/ops.h"
#include "autograd/random.h"

namespace cf {

Dropout::Dropout(float prob) : p(prob) {
  CF_CHECK(p >= 0.0f && p < 1.0f, "Dropout: probability " << p << " is not in [0, 1)");
}

Tensor Dropout::forward(const Tensor& x) {
  if (!is_training() || p == 0.0f) return x;
  return dropout(x, p, true, next_random_seed());
}

DropPath::DropPath(float prob) : p(prob) {
  CF_CHECK(p >= 0.0f && p < 1.0f, "DropPath: probability " << p << " is not in [0, 1)");
}

Tensor DropPath::forward(const Tensor& x) {
  if (!is_training() || p == 0.0f) return x;
  CF_CHECK(x.dim() >= 1, "DropPath: input of shape " << shape_str(x.shape()) << " has no batch axis");
  // One keep/drop draw per sample, broadcast over the sample's other axes.
  Shape mask_shape(size_t(x.dim()), 1);
  mask_shape[0] = x.size(0);
  Tensor mask = Tensor::empty(mask_shape);
  Rng rng(next_random_seed(), stream_id("drop_path"));
  for (int64_t b = 0; b < x.size(0); ++b)
    mask.data()[b] = rng.uniform(uint64_t(b)) >= p ? 1.0f / (1.0f - p) : 0.0f;
  return mul(x, mask);
}

}  // namespace cf
