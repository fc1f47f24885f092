// Image -> token sequence (ARCHITECTURES.md 1.1, 1.2). Both give (B, N, D)
// with tokens in row-major spatial order.
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "nn/conv.h"

namespace cf {

// 1.1: Conv2d with kernel = stride = p, C_in -> D, with bias; then
// (B, D, H/p, W/p) -> (B, (H/p)(W/p), D). Params p^2 C_in D + D.
class PatchEmbed : public Module {
 public:
  PatchEmbed(int64_t image_size, int64_t patch_size, int64_t in_channels, int64_t dim);
  Tensor forward(const Tensor& images) const;
  // The number of tokens for a square image (error if p does not divide it).
  static int64_t tokens(int64_t image_size, int64_t patch_size);

  const int64_t patch_size;
  Conv2d proj;  // timm's name
};

// 1.2: n_conv times Conv2d(k x k, stride 1, padding floor(k/2), no bias)
// -> ReLU -> MaxPool2d(3, stride 2, padding 1), computed with the pool
// first (the same values: ReLU commutes with max). Channels C_in -> c_1 -> ...
// -> D, intermediate ones `channels`. Kaiming normal init (fan_in, ReLU gain).
// Params sum_i k^2 c_{i-1} c_i.
class ConvTokenizer : public Module {
 public:
  ConvTokenizer(int64_t in_channels, int64_t dim, int64_t n_conv, int64_t kernel,
                int64_t channels = 64);
  Tensor forward(const Tensor& images) const;
  // The number of tokens for a square image of this size.
  static int64_t tokens(int64_t image_size, int64_t n_conv, int64_t kernel);

  std::vector<std::unique_ptr<Conv2d>> conv_layers;
};

}  // namespace cf
