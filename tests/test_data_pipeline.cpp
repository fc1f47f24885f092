// The synthetic data set, the per-image transforms, mixup/cutmix and the
// loader: determinism from (seed, epoch, index), coverage, drop_last, and
// prefetching that changes nothing but timing.
#include <algorithm>
#include <cmath>
#include <set>
#include <stdexcept>

#include "data/loader.h"
#include "data/mixing.h"
#include "data/synthetic.h"
#include "data/transforms.h"
#include "tests/helpers.h"
#include "tests/test_data_util.h"

using namespace cf;
using namespace cf::data;
using Catch::Matchers::Contains;
using cf::test::error_of;

namespace {

Image image_of(const ImageSet& set, int64_t i) {
  Image image;
  image.h = set.h;
  image.w = set.w;
  image.c = set.c;
  image.pixels.assign(set.image(i), set.image(i) + set.image_bytes());
  return image;
}

bool same_batch(const Batch& a, const Batch& b) {
  return a.indices == b.indices && a.labels == b.labels && a.images.shape() == b.images.shape() &&
         a.images.to_vector() == b.images.to_vector();
}

}  // namespace

TEST_CASE("synthetic data set is deterministic, balanced and index-addressable",
          "[data][synthetic]") {
  const ImageSet a = synthetic_dataset(40, 7), b = synthetic_dataset(40, 7);
  CHECK(a.pixels == b.pixels);
  CHECK(synthetic_dataset(40, 8).pixels != a.pixels);
  CHECK((a.n == 40 && a.h == 32 && a.w == 32 && a.c == 3));
  CHECK(a.classes == synthetic_class_names());
  REQUIRE(a.classes.size() == 10);
  for (int64_t i = 0; i < a.n; ++i) CHECK(a.labels[size_t(i)] == i % 10);
  check_image_set(a, "synthetic");
  // Image i depends on (seed, i) only, not on how many are generated.
  const ImageSet small = synthetic_dataset(12, 7);
  CHECK(std::equal(small.pixels.begin(), small.pixels.end(), a.pixels.begin()));
  // Images are not flat: the shapes and textures show.
  for (int64_t i = 0; i < 10; ++i) {
    const auto [lo, hi] = std::minmax_element(a.image(i), a.image(i) + a.image_bytes());
    CHECK(int(*hi) - int(*lo) > 60);
  }
}

TEST_CASE("random crop pads with zeros and shifts, the same crop for the same key",
          "[data][transforms]") {
  const ImageSet set = cf::test::pattern_set(1, 8, 8, 1);
  int shifted = 0;
  std::set<std::vector<uint8_t>> distinct;
  for (int64_t index = 0; index < 30; ++index) {
    Image a = image_of(set, 0), b = image_of(set, 0);
    random_crop(a, 2, {5, 3, index});
    random_crop(b, 2, {5, 3, index});
    CHECK(a.pixels == b.pixels);
    distinct.insert(a.pixels);
    // Every output pixel is black padding or the source pixel at one common shift.
    bool found = false;
    for (int dy = -2; dy <= 2 && !found; ++dy)
      for (int dx = -2; dx <= 2 && !found; ++dx) {
        bool ok = true;
        for (int y = 0; y < 8 && ok; ++y)
          for (int x = 0; x < 8 && ok; ++x)
            for (int k = 0; k < 3 && ok; ++k) {
              const int sy = y + dy, sx = x + dx;
              const bool inside = sy >= 0 && sy < 8 && sx >= 0 && sx < 8;
              const uint8_t want = inside ? set.image(0)[(sy * 8 + sx) * 3 + k] : 0;
              ok = a.pixels[size_t((y * 8 + x) * 3 + k)] == want;
            }
        found = ok;
        shifted += ok && (dy != 0 || dx != 0);
      }
    CHECK(found);
  }
  CHECK(shifted > 20);
  CHECK(distinct.size() > 10);
}

TEST_CASE("flip and cutout are deterministic per (seed, epoch, index)", "[data][transforms]") {
  const ImageSet set = cf::test::pattern_set(1, 6, 6, 1);
  const Image original = image_of(set, 0);
  int flipped = 0;
  for (int64_t index = 0; index < 200; ++index) {
    Image a = original;
    random_horizontal_flip(a, {1, 0, index});
    if (a.pixels != original.pixels) {
      ++flipped;
      CHECK(a.pixels[0] == original.pixels[5 * 3]);  // (0, 0) came from (0, 5)
    }
    random_horizontal_flip(a, {1, 0, index});  // the same coin again: back to the original
    CHECK(a.pixels == original.pixels);
  }
  CHECK((flipped > 70 && flipped < 130));

  const uint8_t fill[3] = {1, 2, 3};
  auto cut = [&](AugmentKey key) {
    Image a = original;
    cutout(a, 3, fill, key);
    return a.pixels;
  };
  CHECK(cut({1, 0, 4}) == cut({1, 0, 4}));
  int differ_epoch = 0, differ_seed = 0, differ_index = 0;
  for (int64_t i = 0; i < 20; ++i) {
    differ_epoch += cut({1, 0, i}) != cut({1, 1, i});
    differ_seed += cut({1, 0, i}) != cut({2, 0, i});
    differ_index += cut({1, 0, i}) != cut({1, 0, i + 1});
  }
  CHECK(differ_epoch > 10);
  CHECK(differ_seed > 10);
  CHECK(differ_index > 10);
  const std::vector<uint8_t> c = cut({1, 0, 0});
  int filled = 0;
  for (size_t p = 0; p < c.size(); p += 3) filled += c[p] == 1 && c[p + 1] == 2 && c[p + 2] == 3;
  CHECK((filled >= 1 && filled <= 9));

  uint8_t mean_fill[3];
  cutout_fill(kCifar10Normalization, mean_fill);
  CHECK(int(mean_fill[0]) == 125);
}

TEST_CASE("normalisation maps bytes to (v / 255 - mean) / std in CHW order", "[data][transforms]") {
  Image image;
  image.h = 1;
  image.w = 2;
  image.c = 3;
  image.pixels = {0, 128, 255, 10, 20, 30};
  float chw[6];
  normalize_to_chw(image, kCifar10Normalization, chw);
  CHECK(chw[0] == Approx((0 / 255.0 - 0.4914) / 0.2470).epsilon(1e-5));
  CHECK(chw[1] == Approx((10 / 255.0 - 0.4914) / 0.2470).epsilon(1e-5));
  CHECK(chw[2] == Approx((128 / 255.0 - 0.4822) / 0.2435).epsilon(1e-5));
  CHECK(chw[5] == Approx((30 / 255.0 - 0.4465) / 0.2616).epsilon(1e-5));
  normalize_to_chw(image, kUnitNormalization, chw);
  CHECK(chw[4] == Approx(255 / 255.0));
}

TEST_CASE("mixup and cutmix: lambda, partner labels, pixels, determinism", "[data][mixing]") {
  const int64_t B = 6;
  Tensor images = Tensor::rand({B, 3, 8, 8}, 3);
  const std::vector<int64_t> labels = {0, 1, 2, 3, 4, 5};
  const MixedBatch m = mixup(images, labels, 0.4f, 11, 2);
  CHECK((m.lambda >= 0.0f && m.lambda <= 1.0f));
  CHECK(m.labels_a == labels);
  std::vector<int64_t> sorted_b = m.labels_b;
  std::sort(sorted_b.begin(), sorted_b.end());
  CHECK(sorted_b == labels);  // a permutation of the batch
  const int64_t partner0 = m.labels_b[0];
  CHECK(m.images.at({0, 1, 2, 3}) == Approx(m.lambda * images.at({0, 1, 2, 3}) +
                                            (1 - m.lambda) * images.at({partner0, 1, 2, 3})));
  const MixedBatch again = mixup(images, labels, 0.4f, 11, 2);
  CHECK(again.images.to_vector() == m.images.to_vector());
  CHECK(again.labels_b == m.labels_b);
  CHECK(mixup(images, labels, 0.4f, 11, 3).lambda != m.lambda);

  const MixedBatch c = cutmix(images, labels, 1.0f, 5, 0);
  // The box's area, counted on an image whose partner is another image
  // (labels are the indices): lambda is corrected to it exactly.
  int64_t b = 0;
  while (b < B && c.labels_b[size_t(b)] == b) ++b;
  REQUIRE(b < B);
  int64_t pasted = 0;
  for (int64_t y = 0; y < 8; ++y)
    for (int64_t x = 0; x < 8; ++x) pasted += c.images.at({b, 0, y, x}) != images.at({b, 0, y, x});
  CHECK(pasted > 0);
  CHECK(c.lambda == Approx(1.0 - double(pasted) / 64.0));
  CHECK(cutmix(images, labels, 1.0f, 5, 0).images.to_vector() == c.images.to_vector());

  // Beta(alpha, alpha) has mean 1/2.
  double mean = 0;
  for (uint64_t s = 0; s < 400; ++s) mean += sample_beta(0.3f, 9, s) / 400.0;
  CHECK(mean == Approx(0.5).margin(0.06));
  // A tiny alpha puts lambda near 0 or 1, half the time each. Its gamma
  // draws underflow to 0 outside logs, and lambda was then 0/0 (NaN) in
  // about 1 draw of 20 at 0.002.
  int64_t high = 0;
  for (uint64_t s = 0; s < 400; ++s) {
    const float lambda = sample_beta(0.002f, 9, s);
    REQUIRE((lambda >= 0.0f && lambda <= 1.0f));
    high += lambda > 0.5f;
  }
  CHECK(high > 140);
  CHECK(high < 260);
  for (int64_t step = 0; step < 40; ++step)
    CHECK(std::isfinite(cutmix(images, labels, 0.002f, 5, step).lambda));
  CHECK_THAT(error_of([&] {
               mixup(images, {1, 2}, 0.4f, 1, 0);
             }),
             Contains("mixup") && Contains("[6, 3, 8, 8]") && Contains("2 labels"));
  CHECK_THAT(error_of([&] { cutmix(images, labels, 0.0f, 1, 0); }), Contains("alpha"));
}

TEST_CASE("epoch order is a permutation from (seed, epoch)", "[data][loader]") {
  const std::vector<int64_t> a = epoch_order(100, true, 1, 0);
  std::vector<int64_t> sorted = a;
  std::sort(sorted.begin(), sorted.end());
  for (int64_t i = 0; i < 100; ++i) CHECK(sorted[size_t(i)] == i);
  CHECK(epoch_order(100, true, 1, 0) == a);
  CHECK(epoch_order(100, true, 1, 1) != a);
  CHECK(epoch_order(100, true, 2, 0) != a);
  CHECK(epoch_order(5, false, 1, 3) == std::vector<int64_t>{0, 1, 2, 3, 4});
}

TEST_CASE("loader covers every image once per epoch, with and without drop_last",
          "[data][loader]") {
  auto data = std::make_shared<const ImageSet>(cf::test::pattern_set(10, 4, 4, 3));
  for (bool drop_last : {false, true}) {
    LoaderOptions opt;
    opt.batch_size = 4;
    opt.drop_last = drop_last;
    opt.augment = kCifarAugment;
    Loader loader(data, opt);
    CHECK(loader.batches_per_epoch() == (drop_last ? 2 : 3));
    for (int64_t epoch = 0; epoch < 2; ++epoch) {
      loader.start_epoch(epoch);
      Batch batch;
      std::vector<int64_t> seen, sizes;
      while (loader.next(batch)) {
        CHECK(batch.images.shape() == Shape{int64_t(batch.indices.size()), 3, 4, 4});
        for (size_t j = 0; j < batch.indices.size(); ++j)
          CHECK(batch.labels[j] == data->labels[size_t(batch.indices[j])]);
        seen.insert(seen.end(), batch.indices.begin(), batch.indices.end());
        sizes.push_back(int64_t(batch.indices.size()));
      }
      CHECK(!loader.next(batch));  // stays over
      CHECK(sizes == (drop_last ? std::vector<int64_t>{4, 4} : std::vector<int64_t>{4, 4, 2}));
      std::sort(seen.begin(), seen.end());
      CHECK(std::adjacent_find(seen.begin(), seen.end()) == seen.end());  // no repeats
      if (!drop_last) CHECK(seen.size() == 10);
    }
  }
}

TEST_CASE("loader: prefetching gives the same batches bit for bit", "[data][loader]") {
  auto data = std::make_shared<const ImageSet>(synthetic_dataset(50, 4));
  LoaderOptions opt;
  opt.batch_size = 16;
  opt.seed = 99;
  opt.augment = {4, true, 8};
  opt.prefetch = true;
  Loader with(data, opt);
  opt.prefetch = false;
  Loader without(data, opt);
  Loader again(data, opt);
  for (int64_t epoch : {0, 1, 1, 5}) {
    with.start_epoch(epoch);
    without.start_epoch(epoch);
    again.start_epoch(epoch);
    Batch a, b, c;
    int64_t batches = 0;
    while (with.next(a)) {
      REQUIRE(without.next(b));
      REQUIRE(again.next(c));
      CHECK(same_batch(a, b));
      CHECK(same_batch(b, c));
      // Matches make_batch, which applies (seed, epoch, index) augmentation.
      CHECK(same_batch(a, make_batch(*data, a.indices, opt, epoch)));
      ++batches;
    }
    CHECK(batches == 4);
    CHECK(!without.next(b));
  }
  // Resuming mid-epoch gives the rest of the same epoch.
  for (Loader* l : {&with, &without}) {
    l->start_epoch(3);
    std::vector<Batch> full(4);
    for (Batch& f : full) REQUIRE(l->next(f));
    l->start_epoch(3, 2);
    Batch rest;
    REQUIRE(l->next(rest));
    CHECK(same_batch(rest, full[2]));
    REQUIRE(l->next(rest));
    CHECK(same_batch(rest, full[3]));
    CHECK(!l->next(rest));
  }
  CHECK_THAT(error_of([&] { with.start_epoch(0, 5); }), Contains("first batch 5"));
  // A different epoch or seed gives different batches.
  Batch e0, e1;
  with.start_epoch(0);
  with.next(e0);
  with.start_epoch(1);
  with.next(e1);
  CHECK(e0.indices != e1.indices);
}

TEST_CASE("loader: background errors reach the caller, restart and shutdown are clean",
          "[data][loader]") {
  auto data = std::make_shared<const ImageSet>(cf::test::pattern_set(12, 4, 4, 2));
  LoaderOptions opt;
  opt.batch_size = 4;
  opt.shuffle = false;
  opt.extra_transform = [](Image&, const AugmentKey& key) {
    if (key.index == 5) throw cf::Error("bad image 5");
  };
  Loader loader(data, opt);
  CHECK_THAT(error_of([&] {
               Batch b;
               loader.next(b);
             }),
             Contains("start_epoch"));
  loader.start_epoch(0);
  Batch batch;
  CHECK(loader.next(batch));  // images 0..3
  CHECK(error_of([&] { loader.next(batch); }) == "bad image 5");
  CHECK(!loader.next(batch));  // the epoch ended with the error
  loader.start_epoch(1);       // a new epoch starts over
  CHECK(loader.next(batch));
  CHECK(batch.indices == std::vector<int64_t>{0, 1, 2, 3});

  // Destroyed mid-epoch, with a batch being prepared: the destructor joins.
  opt.extra_transform = nullptr;
  for (int k = 0; k < 5; ++k) {
    Loader short_lived(data, opt);
    short_lived.start_epoch(k);
    if (k % 2) short_lived.next(batch);
  }
  CHECK_THAT(error_of([&] {
               Loader l(data, [] {
                 LoaderOptions o;
                 o.batch_size = 0;
                 return o;
               }());
             }),
             Contains("batch_size 0"));
}
