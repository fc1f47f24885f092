// The batching loader: shuffles an ImageSet per epoch, augments and
// normalises each image, and packs batches into float tensors [B, 3, H, W].
//
//   auto data = std::make_shared<const ImageSet>(read_cifar10(dir, Split::train));
//   LoaderOptions opt;
//   opt.batch_size = 128;
//   opt.augment = kCifarAugment;
//   Loader loader(data, opt);
//   for (int64_t epoch = 0; epoch < epochs; ++epoch) {
//     loader.start_epoch(epoch);
//     Batch batch;
//     while (loader.next(batch)) train_step(batch.images, batch.labels);
//   }
//
// Determinism: the order of epoch e is a Fisher-Yates shuffle drawn from
// (seed, e), and image i's augmentation in epoch e from (seed, e, i). Batches
// are therefore the same bit for bit for the same seed, with or without
// prefetching and whatever the thread count.
//
// Prefetching: a background thread prepares the next batch (one ahead) while
// the caller trains on the current one. The destructor stops and joins it;
// an exception thrown while preparing a batch is rethrown by next().
#pragma once
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "autograd/tensor.h"
#include "data/dataset.h"
#include "data/transforms.h"

namespace cf::data {

struct Batch {
  Tensor images;                 // [B, 3, H, W], normalised float32
  std::vector<int64_t> labels;   // B labels
  std::vector<int64_t> indices;  // which images of the set, in batch order
};

struct LoaderOptions {
  int64_t batch_size = 128;
  bool shuffle = true;     // false: images in set order every epoch
  bool drop_last = false;  // drop a last batch smaller than batch_size
  bool prefetch = true;    // prepare the next batch on a background thread
  uint64_t seed = 0;
  AugmentOptions augment;  // none by default (evaluation)
  Normalization normalization = kCifar10Normalization;
  // Optional: runs on each image after `augment`, before normalisation
  // (e.g. a corruption as augmentation). Must be a pure function of its
  // arguments to keep batches deterministic; may run on the background thread.
  std::function<void(Image&, const AugmentKey&)> extra_transform;
};

// The order of the images in epoch `epoch`: a permutation of 0..n-1.
std::vector<int64_t> epoch_order(int64_t n, bool shuffle, uint64_t seed, int64_t epoch);

// The batch of images `indices` as the loader makes it (epoch sets the
// augmentation key). Converts images in parallel.
Batch make_batch(const ImageSet& set, const std::vector<int64_t>& indices,
                 const LoaderOptions& options, int64_t epoch);

class Loader {
 public:
  Loader(std::shared_ptr<const ImageSet> data, LoaderOptions options);
  ~Loader();
  Loader(const Loader&) = delete;
  Loader& operator=(const Loader&) = delete;

  int64_t batches_per_epoch() const;
  const ImageSet& data() const { return *data_; }

  // Begins epoch `epoch` (any order: epochs can be repeated or skipped) at
  // batch `first_batch` (a resumed run skips the batches it trained on).
  // With prefetching, the first batch starts in the background at once.
  void start_epoch(int64_t epoch, int64_t first_batch = 0);
  // The next batch of the epoch; false when the epoch is over.
  bool next(Batch& batch);

 private:
  std::vector<int64_t> batch_indices(int64_t b) const;  // under the lock
  void worker_loop();

  std::shared_ptr<const ImageSet> data_;
  LoaderOptions options_;
  int64_t batches_ = 0;

  // State shared with the worker, guarded by mutex_.
  std::mutex mutex_;
  std::condition_variable changed_;
  int64_t epoch_ = -1;          // -1: start_epoch not called yet
  uint64_t generation_ = 0;     // bumped by start_epoch: stale work is dropped
  std::vector<int64_t> order_;  // this epoch's order
  int64_t next_to_make_ = 0;    // the worker's next batch number
  int64_t next_to_take_ = 0;    // the caller's next batch number
  std::optional<Batch> ready_;  // the prepared batch next_to_take_
  std::exception_ptr error_;    // what preparing it threw
  bool stop_ = false;
  std::thread worker_;  // last: started after everything above
};

}  // namespace cf::data
