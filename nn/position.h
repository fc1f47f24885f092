// Position embeddings (ARCHITECTURES.md 1.3), added once after the tokenizer.
#pragma once
#include <cstdint>
#include <string>

#include "nn/module.h"

namespace cf {

// (1, N, D): P[n, 2j] = sin(n / 10000^(2j/D)), P[n, 2j+1] = cos(n / 10000^(2j/D)).
Tensor sinusoidal_positions(int64_t tokens, int64_t dim);

// kind "learned": a parameter (1, N, D), trunc_normal(0.02);
// kind "sinusoidal": the fixed table above, a non-persistent buffer.
class PositionEmbedding : public Module {
 public:
  PositionEmbedding(const std::string& kind, int64_t tokens, int64_t dim);
  Tensor forward(const Tensor& x) const;  // x (B, N, D) + P

  const std::string kind;
  Tensor weight;  // the learned table, or the sinusoidal buffer
};

}  // namespace cf
