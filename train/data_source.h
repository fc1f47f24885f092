// Where a run's images come from: the `dataset` and `data` keys of its config
// resolved to a training and a test set (train/run_config.h).
//
// dataset = auto looks at `data` to tell CIFAR-10, CIFAR-100 and an image
// folder apart; with no `data`, it tries the standard places
// (./data/cifar-10-batches-bin, then $CIFAR10_DIR) and otherwise uses the
// built-in synthetic set, and says so: the main job runs on a fresh machine.
#pragma once
#include <iosfwd>
#include <memory>
#include <string>

#include "data/dataset.h"
#include "nn/config.h"

namespace cf {

struct DataSplits {
  std::shared_ptr<const data::ImageSet> train, test;
  std::string description;  // "CIFAR-10 from data/cifar-10-batches-bin"
  // What `dataset` and `data` resolved to ("cifar10" and the folder's
  // absolute path; "synthetic" and ""): a run records them in its config, so
  // a resume or an evaluation finds the same images wherever it starts.
  std::string dataset, dir;
};

// Reads both splits; `note` receives one line on what was chosen and why.
DataSplits load_data(const Config& train, std::ostream& note);

// Only the test split (cf eval).
std::shared_ptr<const data::ImageSet> load_test_data(const Config& train, std::ostream& note);

}  // namespace cf
