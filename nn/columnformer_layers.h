// Per-token layers whose weights are shared by every column, separate for
// every column, or mixed per column from a few experts (ARCHITECTURES.md
// 3.1, 3.2, 3.4). The Columnformer's block picks one of the three for its
// attention projections, its MLP and its norms (attn_mode, mlp_mode,
// norm_mode); everything above the layer only sees a TokenLayer.
#pragma once
#include <cstdint>
#include <memory>
#include <string>

#include "nn/activation.h"
#include "nn/module.h"

namespace cf {

// A layer applied to each token x[b, n] of a (B, N, D) sequence, with
// weights that may depend on the position n.
class TokenLayer : public Module {
 public:
  virtual Tensor forward(const Tensor& x) = 0;
};

// classic: one weight for all columns; untied: one per column (3.1); moe:
// per column, mixed from E experts by the block's coefficients (3.2).
enum class WeightMode { Classic, Untied, Moe };
// `key` (attn_mode, mlp_mode, norm_mode) names the setting in the error.
WeightMode parse_weight_mode(const std::string& key, const std::string& value);

class MixtureCoefficients;

// What a layer of any mode needs besides its sizes: the number of columns N
// (untied) or the block's coefficients (moe).
struct Sharing {
  WeightMode mode = WeightMode::Classic;
  int64_t tokens = 0;                           // N
  const MixtureCoefficients* coeffs = nullptr;  // moe only
};

std::unique_ptr<TokenLayer> make_linear(const Sharing& s, int64_t in, int64_t out, bool bias = true);
std::unique_ptr<TokenLayer> make_norm(const Sharing& s, int64_t dim);

// The classic layers of section 0 as TokenLayers (same names and init).
class SharedLinear : public TokenLayer {
 public:
  SharedLinear(int64_t in, int64_t out, bool bias);
  Tensor forward(const Tensor& x) override;
  Tensor weight, bias;  // [out, in], [out]
};

class SharedLayerNorm : public TokenLayer {
 public:
  explicit SharedLayerNorm(int64_t dim);
  Tensor forward(const Tensor& x) override;
  Tensor weight, bias;  // [dim]
};

// The MLP of 2.2 with both Linears in the block's mlp_mode (3.4).
class ColumnMLP : public Module {
 public:
  ColumnMLP(const Sharing& s, int64_t dim, int64_t hidden, const std::string& act);
  Tensor forward(const Tensor& x);

  std::unique_ptr<TokenLayer> fc1;
  Activation act;
  std::unique_ptr<TokenLayer> fc2;
};

}  // namespace cf
