// Per-image transforms for training: random crop with zero padding,
// horizontal flip, cutout, and per-channel normalisation to float CHW.
//
// Every random choice is a pure function of an AugmentKey (seed, epoch,
// index): image `index` in epoch `epoch` gets the same crop, flip and cutout
// whichever thread handles it, and changing any of the three changes them.
// Each transform has its own random stream (named after it), so enabling one
// does not alter the choices of another.
//
// The random transforms work on uint8 HWC images in place (data/dataset.h),
// before normalisation, as torchvision's do: zero padding means black.
#pragma once
#include <cstdint>

#include "data/dataset.h"

namespace cf::data {

struct AugmentKey {
  uint64_t seed = 0;
  int64_t epoch = 0;
  int64_t index = 0;  // the image's index in its data set
};

// Per-channel mean and standard deviation, in units of pixel / 255.
struct Normalization {
  float mean[3];
  float std[3];
};

// CIFAR-10's training-set statistics (per channel over all 50,000 images).
// Some code uses std (0.2023, 0.1994, 0.2010) instead: that is the mean of
// per-image stds, not the data set's std.
inline constexpr Normalization kCifar10Normalization = {{0.4914f, 0.4822f, 0.4465f},
                                                        {0.2470f, 0.2435f, 0.2616f}};
// Only divides by 255: values in [0, 1].
inline constexpr Normalization kUnitNormalization = {{0.0f, 0.0f, 0.0f}, {1.0f, 1.0f, 1.0f}};

// Pads `padding` black pixels on every side, then cuts a random window of
// the original size (both offsets uniform in [0, 2 padding]).
void random_crop(Image& image, int64_t padding, const AugmentKey& key);

// Mirrors left-right with probability 1/2.
void random_horizontal_flip(Image& image, const AugmentKey& key);

// Cutout (DeVries & Taylor 2017): a size x size square, centred at a uniform
// random pixel and clipped at the borders, is set to `fill` (3 bytes). With
// the normalisation's mean colour as fill (cutout_fill) the square becomes ~0
// after normalisation, as in the paper, which cuts after normalising.
void cutout(Image& image, int64_t size, const uint8_t fill[3], const AugmentKey& key);
void cutout_fill(const Normalization& norm, uint8_t fill[3]);

// (pixel / 255 - mean) / std, HWC uint8 -> CHW float (a [3, H, W] block).
void normalize_to_chw(const Image& image, const Normalization& norm, float* chw);

// Which random transforms a loader applies, in this order.
struct AugmentOptions {
  int64_t crop_padding = 0;  // 0: no random crop; 4 is the usual CIFAR value
  bool horizontal_flip = false;
  int64_t cutout_size = 0;  // 0: no cutout; 16 for CIFAR-10 in the paper
};

// The usual CIFAR training recipe: crop with padding 4, then flip.
inline constexpr AugmentOptions kCifarAugment = {4, true, 0};

// Applies the enabled transforms of `options` to `image` in place.
void augment(Image& image, const AugmentOptions& options, const Normalization& norm,
             const AugmentKey& key);

}  // namespace cf::data
