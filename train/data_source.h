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
#include <utility>

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
// Image folders are read at image_size x image_size, the model's input; a
// file of another size is an error unless the `resize` key resamples it, as
// it then does every CIFAR or synthetic image (32 x 32) when image_size
// differs. Without `resize`, a CIFAR set keeps its size, and the model's
// check (fit_model_to_data in train/trainer.h) names the mismatch.
DataSplits load_data(const Config& train, int64_t image_size, std::ostream& note);

// What `dataset` and `data` resolve to, in words ("CIFAR-10 from DIR", "the
// built-in synthetic set"), without reading an image: a missing folder or
// one of another layout is the error load_data would raise.
std::string describe_data(const Config& train);

// The `dataset` and `data` values a run of this config records (DataSplits::
// dataset and dir), without reading an image: how a run's data is compared.
std::pair<std::string, std::string> recorded_data(const Config& train);

// Only the test split (cf eval, inspect and corrupt), which must have
// image_size, as read or resampled (resize = true): these commands take the
// model as it was trained.
std::shared_ptr<const data::ImageSet> load_test_data(const Config& train, int64_t image_size,
                                                     std::ostream& note);

}  // namespace cf
