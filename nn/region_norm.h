// RegionNorm (ARCHITECTURES.md 7.3, paper eq. 7): z = gamma (x - mu) / sigma + beta
// on the cortical latent, with the axes of the statistics (mu, sigma) chosen
// independently of the shape of the affine gain and bias (gamma, beta).
//
// The latent is region-major, (R, B, N, D) (see nn/cortical_block.h). eps 1e-5
// and the biased variance, as LayerNorm (section 0); gamma starts at 1, beta at 0.
#pragma once
#include <cstdint>

#include "nn/module.h"

namespace cf {

enum class NormStats {
  token,   // per region and token, over D: LayerNorm of each region (default)
  global,  // per token, over D and all R regions: couples the regions
};

enum class NormAffine {
  region,        // (R, D): each region its own LayerNorm affine (default)
  shared,        // (D): one affine for every region
  region_token,  // (R, N, D): elementwise over regions and tokens (the paper's runs)
};

class RegionNorm : public Module {
 public:
  RegionNorm(int64_t regions, int64_t tokens, int64_t dim, NormStats stats, NormAffine affine,
             float eps = 1e-5f);
  Tensor forward(const Tensor& z) const;  // (R, B, N, D) -> (R, B, N, D)

  const int64_t regions, tokens, dim;
  const NormStats stats;
  const NormAffine affine;
  const float eps;
  Tensor weight, bias;  // gamma, beta: (R, D), (D) or (R, N, D)
};

}  // namespace cf
