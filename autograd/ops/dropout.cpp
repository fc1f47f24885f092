// Inverted dropout: kept elements are scaled by 1/(1-p) at training time so
// that evaluation is the identity.
#include "autograd/error.h"
#include "autograd/graph.h"
#include "autograd/ops.h"
#include "autograd/ops/check.h"
#include "autograd/random.h"

namespace cf {

Tensor dropout(const Tensor& x, float p, bool training, uint64_t seed) {
  detail::check_input("dropout", x);
  CF_CHECK(p >= 0.0f && p < 1.0f, "dropout: probability " << p << " is not in [0, 1)");
  if (!training || p == 0.0f) return x;
  // mask_i = [u_i >= p] / (1 - p), u_i a pure function of (seed, i).
  Rng rng(seed, stream_id("dropout"));
  Tensor mask = Tensor::empty(x.shape());
  const float scale = 1.0f / (1.0f - p);
  for (int64_t i = 0, n = x.numel(); i < n; ++i)
    mask.data()[i] = rng.uniform(uint64_t(i)) >= p ? scale : 0.0f;
  return mul(x, mask);
}

}  // namespace cf
