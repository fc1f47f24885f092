// The cortical block (ARCHITECTURES.md 7.1, 7.4; paper eq. 1, 2, 6), run for
// T timesteps with the same parameters on a latent of R regions:
//
//   z'_t = MRSA(RN1(z_{t-1})) + z_{t-1}                                    (K1)
//   z_t  = sum_r [ U(z'_{t,r} B_r) + U(W^{M,r} GELU(RN2(z'_t)_r W^{1,r}) W^{2,r}) ]  (K2)
//
// or, without token interactions (eq. 6), the MLP's second layer routed
// per output region instead of W^{M,r} W^{2,r}:
//
//   z_t  = sum_r [ U(z'_{t,r} B_r) + U(GELU(RN2(z'_t)_r W^{1,r}) W~^{2,r}) ] + b^2
//
// The MLPs have biases (7.1): b^{1,r}, and b^{2,r} inside W^{M,r}'s
// argument, or, without token interactions, one b^2 per output port.
// Residuals are routed un-normalised (7.1, Decision (residual source)).
//
// z_0 holds the tokens in region 1 and zeros elsewhere (7.4); with reinject
// the tokens are added to region 1 again before every later step. The output
// is the readout port after step T: region R's own block output,
// z'_{T,R} + MLP_R(RN2(z'_T)_R) (7.4, Decision (readout)).
//
// The latent is region-major, (R, B, N, D), so that each region's weights
// multiply one contiguous (B N, D) matrix and a region is a cheap slice.
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "nn/cortical_attention.h"
#include "nn/cortical_routing.h"
#include "nn/region_norm.h"

namespace cf {

struct CorticalOptions {
  int64_t regions = 4;     // R
  int64_t timesteps = 4;   // T
  int64_t tokens = 0;      // N
  int64_t dim = 0;         // D, per region
  int64_t mlp_hidden = 0;  // D_ff
  ConnectivityPattern pattern = ConnectivityPattern::feedforward;
  bool token_interactions = true;  // false: the variant of eq. 6
  double dropoff_lambda = 0.0;     // 0: no drop-off masks
  NormStats norm_stats = NormStats::token;
  NormAffine norm_affine = NormAffine::region;
  bool reinject = false;
  RegionAttentionOptions attention;  // its regions and dim equal the above
  uint64_t seed = 0;                 // for the drop-off and sparsity masks
};

// R linear maps side by side: x (R, M, in) -> x W_r + b_r, W (R, in, out), b (R, out).
// One op: the R products run as one batched GEMM that adds b_r as it stores
// them (its addend, one row repeated), not in a pass of its own; the bits of
// add(matmul(x, W), b).
Tensor region_linear(const Tensor& x, const Tensor& weight, const Tensor& bias);

class RegionLinear : public Module {
 public:
  RegionLinear(int64_t regions, int64_t in, int64_t out);
  Tensor forward(const Tensor& x) const;
  Tensor weight, bias;
};

class CorticalBlock : public Module {
 public:
  explicit CorticalBlock(const CorticalOptions& options);
  // tokens (B, N, D) -> the readout (B, N, D) after T steps.
  Tensor forward(const Tensor& tokens);

  // From the last forward pass, index t R + r: the attention map (B, H, N, N)
  // of region r at step t, and region r's latent (B, N, D) after step t
  // (the readout stands for region R after the last step).
  std::vector<Tensor> attention_maps() const;
  std::vector<Tensor> region_outputs() const;

  // Learnable scalars, masked entries excluded; of which attention.
  int64_t learnable_parameters() const;
  int64_t attention_parameters() const { return attn.learnable_parameters(); }

  const CorticalOptions options;
  RegionNorm norm1;
  MultiRegionAttention attn;
  RegionNorm norm2;
  RegionLinear fc1;
  std::unique_ptr<RegionLinear> fc2;              // with token interactions
  std::unique_ptr<RegionRouting> token_routing;   // W^{M,r}, with token interactions
  std::unique_ptr<RegionRouting> second_layer;    // W~^{2,r}, without
  Tensor out_bias;                                // b^2 (R + 1, D), without
  RegionRouting residual_routing;                 // B_r

 private:
  struct Routes {
    std::vector<Tensor> residual, mlp;
  };
  // One application of (K1)-(K2) to z (R, B, N, D); returns the output ports
  // first..last-1 stacked, (last - first, B, N, D).
  Tensor step(const Tensor& z, const Routes& routes, int64_t first, int64_t last);

  std::vector<Tensor> attention_, latents_;
};

}  // namespace cf
