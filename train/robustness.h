// Robustness on CIFAR-10-C: accuracy per corruption and severity, the mean
// corruption accuracy, and accuracy grouped by difficulty as the Cortical
// Transformer paper reports it: the (corruption, severity) pairs are sorted
// by a baseline model's accuracy on them and cut into equal-sized bins
// (deciles), hardest first, and each bin's mean accuracy is compared with
// the baseline's.
#pragma once
#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

#include "nn/model.h"

namespace cf {

struct CorruptionResult {
  std::string corruption;
  int severity = 0;
  double accuracy = 0;
  int64_t images = 0;
};

// Every <corruption>.npy in `dir` (official layout, data/cifar10c.h), at
// severities 1..5, for a model of image_size x image_size images and
// num_classes classes (a label beyond them is an error naming labels.npy):
// arrays of
// another size are resampled with `resize` (cf eval --resize, or a run
// trained with resize = true) and an error naming the file otherwise. `progress` gets a line per
// corruption.
std::vector<CorruptionResult> evaluate_corruptions(Model& model, const std::string& dir,
                                                   int64_t batch_size, int64_t image_size,
                                                   int64_t num_classes, bool resize,
                                                   std::ostream& progress);

double mean_accuracy(const std::vector<CorruptionResult>& results);

// Corruptions as rows, severities as columns, plus the mean.
std::string robustness_table(const std::vector<CorruptionResult>& results);

// corruption,severity,accuracy,images: written by `cf eval`, read back as a
// baseline. Errors name the file and line.
void write_robustness_csv(const std::string& path, const std::vector<CorruptionResult>& results);
std::vector<CorruptionResult> read_robustness_csv(const std::string& path);

// The difficulty bins: bin, baseline accuracy, this model's, and their ratio.
// A pair missing from either side, or twice on one, is an error naming it.
std::string difficulty_table(const std::vector<CorruptionResult>& results,
                             const std::vector<CorruptionResult>& baseline, int bins = 10);

}  // namespace cf
