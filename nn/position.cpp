#include "nn/position.h"

#include <cmath>

#include "autograd/error.h"
#include "autograd/ops.h"

namespace cf {

Tensor sinusoidal_positions(int64_t tokens, int64_t dim) {
  Tensor p = Tensor::empty({1, tokens, dim});
  for (int64_t n = 0; n < tokens; ++n)
    for (int64_t i = 0; i < dim; ++i) {
      const int64_t two_j = i - i % 2;
      const double angle = double(n) / std::pow(10000.0, double(two_j) / double(dim));
      p.data()[n * dim + i] = float(i % 2 == 0 ? std::sin(angle) : std::cos(angle));
    }
  return p;
}

PositionEmbedding::PositionEmbedding(const std::string& k, int64_t tokens, int64_t dim) : kind(k) {
  if (kind == "learned")
    register_parameter("weight", &weight, {1, tokens, dim}, Init::trunc_normal(0.02f), Decay::no);
  else if (kind == "sinusoidal")
    register_buffer("weight", &weight, sinusoidal_positions(tokens, dim), false);
  else
    throw Error("PositionEmbedding: unknown kind \"" + kind + "\" (known: learned, sinusoidal)");
}

Tensor PositionEmbedding::forward(const Tensor& x) const {
  CF_CHECK(x.dim() == 3 && x.size(1) == weight.size(1) && x.size(2) == weight.size(2),
           "PositionEmbedding: input of shape " << shape_str(x.shape()) << " for a table of shape "
                                                << shape_str(weight.shape()));
  return add(x, weight);
}

}  // namespace cf
