#include "train/evaluate.h"

#include <cmath>
#include <cstdio>
#include <memory>

#include "autograd/graph.h"
#include "autograd/ops.h"
#include "data/loader.h"

namespace cf {

EvalResult evaluate(Model& model, const data::ImageSet& set, int64_t batch_size,
                    const data::Normalization& norm) {
  NoGradGuard no_grad;
  const bool was_training = model.is_training();
  model.eval();
  data::LoaderOptions options;
  options.batch_size = batch_size;
  options.shuffle = false;
  options.normalization = norm;
  // The loader shares the set; aliasing it avoids copying 150 MB of pixels.
  data::Loader loader(std::shared_ptr<const data::ImageSet>(&set, [](const data::ImageSet*) {}),
                      options);
  loader.start_epoch(0);

  const int64_t K = set.num_classes();
  EvalResult r;
  std::vector<int64_t> correct(size_t(K), 0);
  r.class_count.assign(size_t(K), 0);
  double loss_sum = 0;
  data::Batch batch;
  while (loader.next(batch)) {
    Tensor logits = model.forward(batch.images);
    const int64_t B = logits.size(0);
    loss_sum += double(cross_entropy(logits, batch.labels).item()) * double(B);
    for (int64_t b = 0; b < B; ++b) {
      const float* row = logits.data() + b * logits.size(1);
      int64_t best = 0;
      for (int64_t k = 1; k < logits.size(1); ++k)
        if (row[k] > row[best]) best = k;
      const int64_t label = batch.labels[size_t(b)];
      r.class_count[size_t(label)] += 1;
      correct[size_t(label)] += best == label;
    }
    r.images += B;
  }
  int64_t total_correct = 0;
  for (int64_t k = 0; k < K; ++k) {
    total_correct += correct[size_t(k)];
    r.class_accuracy.push_back(r.class_count[size_t(k)] > 0
                                   ? double(correct[size_t(k)]) / double(r.class_count[size_t(k)])
                                   : NAN);
  }
  r.loss = r.images > 0 ? loss_sum / double(r.images) : NAN;
  r.accuracy = r.images > 0 ? double(total_correct) / double(r.images) : NAN;
  model.train(was_training);
  return r;
}

std::string class_accuracy_table(const EvalResult& result, const std::vector<std::string>& classes) {
  std::string table = "class                accuracy   images\n";
  char line[128];
  for (size_t k = 0; k < result.class_accuracy.size(); ++k) {
    std::snprintf(line, sizeof line, "%-20s %7.2f%%  %7lld\n",
                  k < classes.size() ? classes[k].c_str() : std::to_string(k).c_str(),
                  100.0 * result.class_accuracy[k], (long long)result.class_count[k]);
    table += line;
  }
  return table;
}

}  // namespace cf
