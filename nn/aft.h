// AFT, the Attention Free Transformer (ARCHITECTURES.md section 5), and a
// vision model that uses it as its token mixer.
//
// Q = X Wq, K = X Wk, V = X Wv, each (B, N, D'); per channel,
//
//   Y_t = sigmoid(Q_t) ⊙ sum_t' exp(K_t' + w_tt') ⊙ V_t' / sum_t' exp(K_t' + w_tt')   (F1)
//
// then the output projection Wo. The variants differ only in the position
// bias w, so all of them share one core (aft_core): with E = exp(K - max K),
// Y = sigmoid(Q) ⊙ M(E ⊙ V) / M(E), where M applies w to a (B, N, C) tensor:
//
//   full    M z = exp(w - max w) @ z, w (N, N) free or factorised u v^T: O(N^2 D)
//   local   the same with w learned only inside a window (Chebyshev distance
//           < s on the grid) and 0, not -inf, outside: O(N^2 D)
//   simple  w = 0: M z = sum_t' z_t', the softmax over positions: O(N D);
//           run by the fused op aft_simple (autograd/ops.h)
//   conv    H heads split the channels, each with an s x s kernel w_h applied
//           depthwise: M z = conv_dw(z, exp(w_h) - 1) + sum_t' z: O(N s^2 D)
//
// Subtracting max K (per channel) and max w before exp keeps every exp <= 1;
// both cancel in the ratio (the spec's stability requirement). AFT-conv's
// kernel is reparameterised per head as gamma (w - mean w) / std w + beta.
//
// Params: 3 (D D' + [qkv_bias] D') + D' D + D, plus the bias: full N^2 (or
// 2 N r factorised), local the number of pairs inside the window, conv
// H s^2 + 2 H, simple none.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "nn/config.h"
#include "nn/linear.h"
#include "nn/mixer_vision.h"
#include "nn/mlp.h"
#include "nn/norm.h"
#include "nn/registry.h"

namespace cf {

// Y = sigmoid(q) ⊙ mix(E ⊙ v) / mix(E) with E = exp(k - max_t k) (F1): q, k,
// v (B, N, C); `mix` maps (B, N, 2C) to (B, N or 1, 2C), acting on positions
// only, so numerator and denominator go through it in one call.
using AftMix = std::function<Tensor(const Tensor&)>;
Tensor aft_core(const Tensor& q, const Tensor& k, const Tensor& v, const AftMix& mix);

struct AftOptions {
  std::string variant = "full";  // full, local, simple or conv
  int64_t dim = 0;               // D
  int64_t hidden = 0;            // D' (0: D)
  int64_t tokens = 0;            // N
  int64_t grid = 0;              // tokens form a grid x grid image; 0: a sequence (not conv)
  int64_t window = 3;            // s: local's window, conv's kernel size
  int64_t heads = 1;             // H of conv
  int64_t rank = 0;              // full: w = u v^T with u, v (N, rank); 0: w free
  bool qkv_bias = true;          // biases on Wq, Wk, Wv
};

class AFT : public Module {
 public:
  explicit AFT(const AftOptions& options);
  Tensor forward(const Tensor& x);  // (B, N, D) -> (B, N, D)
  // The bias w (N, N) of full and local (section 5), for inspection.
  Tensor position_bias() const;

  const AftOptions options;
  const int64_t hidden;
  Linear q, k, v, proj;
  Tensor pos_bias;      // full (N, N); local (pairs in the window); conv (H, s, s)
  Tensor pos_u, pos_v;  // full with rank > 0: (N, r) each
  Tensor gamma, beta;   // conv: (H) each

 private:
  Tensor mix(const Tensor& z) const;
  std::vector<int64_t> local_index_;    // local: (t, t') -> 0 outside, 1 + entry inside
  std::vector<int64_t> channel_head_;   // conv: head of each of the 2 D' mixed channels
};

// Pre-norm block (section 5): x = x + AFT(LN(x)); x = x + MLP(LN(x)).
class AftBlock : public Module {
 public:
  AftBlock(const AftOptions& options, int64_t mlp_hidden, const std::string& act = "gelu");
  Tensor forward(const Tensor& x);

  LayerNorm norm1;
  AFT aft;
  LayerNorm norm2;
  MLP mlp;
};

// PatchEmbed, learned positions, `depth` AftBlocks, LayerNorm, mean pooling,
// head (section 1 with AFT as the token mixer).
class AftModel : public PatchModel {
 public:
  static Config defaults();
  static Config cifar_config(const std::string& variant);
  static std::unique_ptr<Model> create(const Config& config);
  explicit AftModel(const Config& config);

  std::vector<std::unique_ptr<AftBlock>> blocks;

 private:
  Tensor encode(const Tensor& x) override;
};

// aft_full_cifar, aft_simple_cifar, aft_local_cifar, aft_conv_cifar (section 5).
std::vector<ModelInfo> aft_models();

}  // namespace cf
