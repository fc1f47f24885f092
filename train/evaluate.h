// Test-set evaluation: loss, accuracy and accuracy per class, in eval mode
// with no tape recorded.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "data/dataset.h"
#include "data/transforms.h"
#include "nn/model.h"

namespace cf {

struct EvalResult {
  double loss = 0;      // mean cross entropy (no label smoothing)
  double accuracy = 0;  // fraction of images classified right
  int64_t images = 0;
  std::vector<double> class_accuracy;  // per class, NaN for a class with no images
  std::vector<int64_t> class_count;
};

EvalResult evaluate(Model& model, const data::ImageSet& set, int64_t batch_size,
                    const data::Normalization& norm = data::kCifar10Normalization);

// Per-class accuracy as a small table, class names from the set.
std::string class_accuracy_table(const EvalResult& result, const std::vector<std::string>& classes);

}  // namespace cf
