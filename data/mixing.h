// Mixup (Zhang et al. 2018) and CutMix (Yun et al. 2019): batch-level
// augmentations that blend pairs of images and ask the model for the blend
// of their labels. The training loop calls one on a batch and uses
//
//   loss = lambda * CE(logits, labels_a) + (1 - lambda) * CE(logits, labels_b)
//
// lambda ~ Beta(alpha, alpha) and the partner of image i (a permutation of
// the batch) are pure functions of (seed, step).
#pragma once
#include <cstdint>
#include <vector>

#include "autograd/tensor.h"

namespace cf::data {

struct MixedBatch {
  Tensor images;                  // [B, C, H, W], a new tensor
  std::vector<int64_t> labels_a;  // the batch's own labels
  std::vector<int64_t> labels_b;  // the partners' labels
  float lambda = 1.0f;            // weight of labels_a
};

// images [B, C, H, W]: every pixel becomes lambda x_i + (1 - lambda) x_partner(i).
MixedBatch mixup(const Tensor& images, const std::vector<int64_t>& labels, float alpha,
                 uint64_t seed, int64_t step);

// One random box (same for the whole batch) of area ~ (1 - lambda) H W is
// pasted from each partner; lambda is then corrected to the box's exact area.
MixedBatch cutmix(const Tensor& images, const std::vector<int64_t>& labels, float alpha,
                  uint64_t seed, int64_t step);

// A sample of Beta(alpha, alpha), alpha > 0, drawn from Rng(seed, stream).
float sample_beta(float alpha, uint64_t seed, uint64_t stream);

}  // namespace cf::data
