// The common corruptions of CIFAR-10-C (Hendrycks & Dietterich 2019,
// "Benchmarking Neural Network Robustness to Common Corruptions and
// Perturbations"), each at severities 1..5, reimplemented from the CIFAR
// script of the paper's repository (make_cifar_c.py) with its parameter
// tables. Where the script needs something unavailable here (frost
// photographs, ImageMagick's motion blur, OpenCV's Canny and distance
// transform, PIL's JPEG encoder) a documented stand-in is used: see
// docs/DATA.md and the comments in corruptions_*.cpp.
//
// Every random choice is drawn from the counter-based Rng keyed by
// (seed, corruption, severity, image index), so results do not depend on the
// thread count or on which images are corrupted together.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "data/dataset.h"

namespace cf::data {

// The 15 corruptions of the benchmark: noise (gaussian_noise, shot_noise,
// impulse_noise), blur (defocus_blur, glass_blur, motion_blur, zoom_blur),
// weather (snow, frost, fog), digital (brightness, contrast,
// elastic_transform, pixelate, jpeg_compression).
const std::vector<std::string>& benchmark_corruptions();
// The 4 held-out extras: speckle_noise, gaussian_blur, spatter, saturate.
const std::vector<std::string>& extra_corruptions();
// The 15 then the 4.
std::vector<std::string> all_corruptions();

// `image` (3-channel, any size; parameters are CIFAR's, meant for 32x32)
// corrupted by `name` at `severity` (1..5). cf::Error for an unknown name
// (listing the known ones) or a severity outside 1..5.
Image corrupt(const Image& image, const std::string& name, int severity, uint64_t seed,
              int64_t index);

// Every image of `set` corrupted, in parallel; image i uses index i.
ImageSet corrupt_set(const ImageSet& set, const std::string& name, int severity, uint64_t seed);

}  // namespace cf::data
