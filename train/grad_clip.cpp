#include "train/grad_clip.h"

#include <cmath>

#include "autograd/error.h"

namespace cf {

double clip_grad_norm(const std::vector<Tensor>& parameters, double max_norm) {
  CF_CHECK(max_norm > 0.0, "clip_grad_norm: max_norm " << max_norm << " must be positive");
  double squares = 0.0;
  for (const Tensor& p : parameters) {
    Tensor g = p.grad();
    if (!g.defined()) continue;
    const float* pg = g.data();
    const int64_t n = g.numel();
    for (int64_t i = 0; i < n; ++i) squares += double(pg[i]) * pg[i];
  }
  const double norm = std::sqrt(squares);
  if (norm > max_norm) {
    const float scale = float(max_norm / (norm + 1e-6));
    for (const Tensor& p : parameters) {
      Tensor g = p.grad();
      if (!g.defined()) continue;
      float* pg = g.data();
      const int64_t n = g.numel();
      for (int64_t i = 0; i < n; ++i) pg[i] *= scale;
    }
  }
  return norm;
}

}  // namespace cf
