// A built-in synthetic data set, so that training runs on a fresh machine with
// no download. Ten classes of procedurally drawn colour images:
//
//   disc, square, triangle, ring, cross      (a filled shape)
//   horizontal_stripes, vertical_stripes,    (a textured patch)
//   diagonal_stripes, checkerboard, dots
//
// Each image has a random two-colour gradient background, a random
// foreground colour, the shape or patch at a random position, scale and (for
// shapes) rotation, and Gaussian pixel noise. Textures have a random spatial
// frequency. Learnable (a small CNN gets most of it right) but not trivial: a
// linear classifier on the pixels stays far from 100%.
//
// Image i is a pure function of (seed, i), drawn with the counter-based Rng,
// so any subset can be generated in any order on any number of threads.
// Labels are i % 10, so every class has n/10 images (up to rounding).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "data/dataset.h"

namespace cf::data {

const std::vector<std::string>& synthetic_class_names();

// n images of size x size x 3 (size >= 8; 32 to stand in for CIFAR-10).
ImageSet synthetic_dataset(int64_t n, uint64_t seed, int64_t size = 32);

}  // namespace cf::data
