// CIFAR-10-C on disk, in the official layout (Hendrycks & Dietterich 2019,
// zenodo.org/record/2535967), so that files made here and there are
// interchangeable:
//
//   CIFAR-10-C/<corruption>.npy   uint8 [5 n, 32, 32, 3]: n test images at
//                                 severity 1, then n at severity 2, ..., 5
//   CIFAR-10-C/labels.npy         uint8 [5 n]: the n labels, five times
//
// (n = 10,000 for the official files.)
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "data/dataset.h"

namespace cf::data {

// The n images of one corruption at one severity (1..5), with their labels.
// Class names are CIFAR-10's when all labels are below 10, else "0", "1", ...
// cf::Error naming the file for a missing file, another dtype or shape, or
// labels that do not match.
ImageSet read_cifar10c(const std::string& dir, const std::string& corruption, int severity);

// Writes `clean` (the test set) corrupted by each of `corruptions` at the five
// severities into `dir` (created if needed), plus labels.npy. Deterministic
// in `seed`; parallel over images. `progress`, if set, is called after each
// corruption file with its name.
void write_cifar10c(const ImageSet& clean, const std::string& dir, uint64_t seed,
                    const std::vector<std::string>& corruptions,
                    const std::function<void(const std::string&)>& progress = {});

}  // namespace cf::data
