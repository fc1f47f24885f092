#include "data/loader.h"

#include <algorithm>
#include <cstring>
#include <numeric>

#include "autograd/error.h"
#include "autograd/kernels/threads.h"
#include "autograd/random.h"

namespace cf::data {

std::vector<int64_t> epoch_order(int64_t n, bool shuffle, uint64_t seed, int64_t epoch) {
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  if (!shuffle) return order;
  // Fisher-Yates: position i swaps with a uniform j in [0, i]. The modulo
  // bias is below n / 2^64.
  const Rng rng(seed, stream_id("shuffle", uint64_t(epoch)));
  for (int64_t i = n - 1; i > 0; --i)
    std::swap(order[size_t(i)], order[size_t(rng.bits(uint64_t(i)) % uint64_t(i + 1))]);
  return order;
}

Batch make_batch(const ImageSet& set, const std::vector<int64_t>& indices,
                 const LoaderOptions& options, int64_t epoch) {
  CF_CHECK(set.c == 3, "make_batch: images have " << set.c << " channels, the loader needs 3");
  const int64_t B = int64_t(indices.size()), plane = set.h * set.w;
  Batch batch;
  batch.indices = indices;
  batch.labels.resize(size_t(B));
  batch.images = Tensor::empty({B, 3, set.h, set.w});
  float* out = batch.images.data();
  // Each image writes its own slice, so the batch is the same for any
  // thread count.
  kernels::parallel_for(B, 8, [&](int64_t b, int64_t e) {
    Image image;
    image.h = set.h;
    image.w = set.w;
    image.c = 3;
    for (int64_t j = b; j < e; ++j) {
      const int64_t i = indices[size_t(j)];
      CF_CHECK(i >= 0 && i < set.n, "make_batch: index " << i << " outside [0, " << set.n << ")");
      image.pixels.assign(set.image(i), set.image(i) + set.image_bytes());
      const AugmentKey key{options.seed, epoch, i};
      augment(image, options.augment, options.normalization, key);
      if (options.extra_transform) options.extra_transform(image, key);
      CF_CHECK(image.h == set.h && image.w == set.w && image.c == 3 &&
                   int64_t(image.pixels.size()) == set.image_bytes(),
               "make_batch: extra_transform changed image " << i << " to " << image.h << "x"
                                                            << image.w << "x" << image.c);
      normalize_to_chw(image, options.normalization, out + j * 3 * plane);
      batch.labels[size_t(j)] = set.labels[size_t(i)];
    }
  });
  return batch;
}

Loader::Loader(std::shared_ptr<const ImageSet> data, LoaderOptions options)
    : data_(std::move(data)), options_(std::move(options)) {
  CF_CHECK(data_ != nullptr, "Loader: no data set");
  CF_CHECK(options_.batch_size >= 1,
           "Loader: batch_size " << options_.batch_size << " must be >= 1");
  check_image_set(*data_, "Loader");
  CF_CHECK(data_->c == 3, "Loader: images have " << data_->c << " channels, the loader needs 3");
  batches_ = options_.drop_last ? data_->n / options_.batch_size
                                : (data_->n + options_.batch_size - 1) / options_.batch_size;
  if (options_.prefetch) worker_ = std::thread([this] { worker_loop(); });
}

Loader::~Loader() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  changed_.notify_all();
  if (worker_.joinable()) worker_.join();
}

int64_t Loader::batches_per_epoch() const { return batches_; }

std::vector<int64_t> Loader::batch_indices(int64_t b) const {
  const int64_t begin = b * options_.batch_size;
  const int64_t end = std::min(begin + options_.batch_size, data_->n);
  return std::vector<int64_t>(order_.begin() + begin, order_.begin() + end);
}

void Loader::start_epoch(int64_t epoch, int64_t first_batch) {
  CF_CHECK(epoch >= 0, "Loader::start_epoch: epoch " << epoch << " must be >= 0");
  CF_CHECK(first_batch >= 0 && first_batch <= batches_, "Loader::start_epoch: first batch "
                                                            << first_batch << " is not in [0, "
                                                            << batches_ << "]");
  std::vector<int64_t> order = epoch_order(data_->n, options_.shuffle, options_.seed, epoch);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    ++generation_;
    epoch_ = epoch;
    order_ = std::move(order);
    next_to_make_ = next_to_take_ = first_batch;
    ready_.reset();
    error_ = nullptr;
  }
  changed_.notify_all();
}

bool Loader::next(Batch& batch) {
  std::unique_lock<std::mutex> lock(mutex_);
  CF_CHECK(epoch_ >= 0, "Loader::next: call start_epoch(epoch) first");
  if (next_to_take_ >= batches_) return false;
  if (!options_.prefetch) {
    try {
      batch = make_batch(*data_, batch_indices(next_to_take_), options_, epoch_);
    } catch (...) {
      next_to_take_ = batches_;  // as with prefetching: an error ends the epoch
      throw;
    }
    ++next_to_take_;
    return true;
  }
  changed_.wait(lock, [&] { return ready_.has_value() || error_ != nullptr; });
  if (error_) {
    // The epoch cannot go on: end it, so that later calls return false.
    std::exception_ptr error = error_;
    error_ = nullptr;
    next_to_take_ = next_to_make_ = batches_;
    std::rethrow_exception(error);
  }
  batch = std::move(*ready_);
  ready_.reset();
  ++next_to_take_;
  lock.unlock();
  changed_.notify_all();  // the worker may start on the batch after this one
  return true;
}

void Loader::worker_loop() {
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    changed_.wait(lock, [&] {
      return stop_ || (!ready_ && !error_ && epoch_ >= 0 && next_to_make_ < batches_);
    });
    if (stop_) return;
    const uint64_t generation = generation_;
    const int64_t epoch = epoch_;
    const std::vector<int64_t> indices = batch_indices(next_to_make_++);
    lock.unlock();
    std::optional<Batch> batch;
    std::exception_ptr error;
    try {
      batch = make_batch(*data_, indices, options_, epoch);
    } catch (...) {
      error = std::current_exception();
    }
    lock.lock();
    if (generation != generation_) continue;  // start_epoch came meanwhile: drop it
    ready_ = std::move(batch);
    error_ = error;
    changed_.notify_all();
  }
}

}  // namespace cf::data
