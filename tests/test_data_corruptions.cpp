// The CIFAR-10-C corruptions and the CIFAR-10-C file layout: every corruption
// at every severity changes the image, by more at higher severity where the
// published parameters say so; results are deterministic and independent of
// the thread count; generated files read back in the official layout.
#include <algorithm>
#include <cmath>

#include "autograd/kernels/threads.h"
#include "data/cifar10c.h"
#include "data/corruptions.h"
#include "data/npy.h"
#include "data/synthetic.h"
#include "tests/helpers.h"
#include "tests/test_data_util.h"

using namespace cf;
using namespace cf::data;
using Catch::Matchers::Contains;
using cf::test::error_of;

namespace {

double mean_abs_diff(const ImageSet& a, const ImageSet& b) {
  double d = 0;
  for (size_t i = 0; i < a.pixels.size(); ++i) d += std::abs(int(a.pixels[i]) - int(b.pixels[i]));
  return d / double(a.pixels.size());
}

ImageSet flat_set(int64_t n, uint8_t value) {
  ImageSet set = cf::test::pattern_set(n, 32, 32, 1);
  std::fill(set.pixels.begin(), set.pixels.end(), value);
  return set;
}

}  // namespace

TEST_CASE("the 15 benchmark and 4 extra corruptions", "[data][corruptions]") {
  CHECK(benchmark_corruptions() ==
        std::vector<std::string>{"gaussian_noise", "shot_noise", "impulse_noise", "defocus_blur",
                                 "glass_blur", "motion_blur", "zoom_blur", "snow", "frost", "fog",
                                 "brightness", "contrast", "elastic_transform", "pixelate",
                                 "jpeg_compression"});
  CHECK(extra_corruptions() ==
        std::vector<std::string>{"speckle_noise", "gaussian_blur", "spatter", "saturate"});
  CHECK(all_corruptions().size() == 19);
}

TEST_CASE("every corruption changes images more as severity grows", "[data][corruptions]") {
  const ImageSet clean = synthetic_dataset(8, 3);
  // In the published parameter tables these are not monotone in pixel
  // change: glass_blur's sigma goes .05 .25 .4 .25 .4; frost lowers the
  // image weight while raising the frost weight; elastic_transform trades
  // the affine jitter (largest at severity 1) for local displacement;
  // spatter switches from water to mud at 4; saturate first desaturates
  // (0.3, 0.1) then oversaturates (1.5, 2, 2.5).
  const std::vector<std::string> not_monotone = {"glass_blur", "frost", "elastic_transform",
                                                 "spatter", "saturate"};
  for (const std::string& name : all_corruptions()) {
    INFO(name);
    std::vector<double> d;
    for (int severity = 1; severity <= 5; ++severity) {
      const ImageSet c = corrupt_set(clean, name, severity, 1);
      CHECK((c.n == clean.n && c.h == 32 && c.w == 32 && c.c == 3 && c.labels == clean.labels));
      d.push_back(mean_abs_diff(c, clean));
      INFO("severity " << severity << ": mean |change| " << d.back());
      CHECK(d.back() > 0.5);
    }
    const bool monotone =
        std::find(not_monotone.begin(), not_monotone.end(), name) == not_monotone.end();
    if (monotone) {
      for (int s = 1; s < 5; ++s) CHECK(d[size_t(s)] + 0.5 >= d[size_t(s - 1)]);
      CHECK(d[4] > d[0] + 1.0);
    }
  }
}

TEST_CASE("corruptions clip instead of wrapping around", "[data][corruptions]") {
  const ImageSet white = flat_set(2, 255), black = flat_set(2, 0);
  for (const char* name : {"gaussian_noise", "shot_noise", "speckle_noise", "brightness", "snow"}) {
    INFO(name);
    const ImageSet w = corrupt_set(white, name, 5, 2);
    CHECK(mean_abs_diff(w, white) < 40.0);  // values above 255 clip to 255, not to small bytes
  }
  for (const char* name : {"gaussian_noise", "contrast", "fog", "elastic_transform"}) {
    INFO(name);
    CHECK(mean_abs_diff(corrupt_set(black, name, 5, 2), black) < 40.0);
  }
}

TEST_CASE("corruptions are deterministic and independent of the thread count",
          "[data][corruptions]") {
  const ImageSet clean = synthetic_dataset(6, 5);
  const int saved = kernels::num_threads();
  for (const std::string& name : {std::string("shot_noise"), std::string("glass_blur"),
                                  std::string("frost"), std::string("elastic_transform")}) {
    INFO(name);
    kernels::set_num_threads(1);
    const ImageSet one = corrupt_set(clean, name, 3, 9);
    kernels::set_num_threads(2);
    const ImageSet two = corrupt_set(clean, name, 3, 9);
    CHECK(one.pixels == two.pixels);
    CHECK(corrupt_set(clean, name, 3, 10).pixels != one.pixels);
    // Image i depends on (seed, i), not on its neighbours in the set.
    Image image;
    image.h = image.w = 32;
    image.c = 3;
    image.pixels.assign(clean.image(4), clean.image(4) + 3072);
    const Image alone = corrupt(image, name, 3, 9, 4);
    CHECK(std::equal(alone.pixels.begin(), alone.pixels.end(), one.image(4)));
  }
  kernels::set_num_threads(saved);
}

TEST_CASE("corruption errors name the problem", "[data][corruptions]") {
  Image image;
  image.h = image.w = 8;
  image.c = 3;
  image.pixels.assign(8 * 8 * 3, 100);
  CHECK_THAT(
      error_of([&] { corrupt(image, "rain", 1, 0, 0); }),
      Contains("unknown corruption 'rain'") && Contains("gaussian_noise") && Contains("saturate"));
  CHECK_THAT(error_of([&] { corrupt(image, "fog", 6, 0, 0); }),
             Contains("severity 6") && Contains("1..5"));
  image.c = 1;
  CHECK_THAT(error_of([&] { corrupt(image, "fog", 1, 0, 0); }), Contains("RGB"));
}

TEST_CASE("CIFAR-10-C files: write in the official layout, read back", "[data][cifar10c]") {
  cf::test::TempDir dir;
  const ImageSet clean = synthetic_dataset(3, 8);
  std::vector<std::string> done;
  write_cifar10c(clean, dir.file("CIFAR-10-C"), 4, {"fog", "pixelate"},
                 [&](const std::string& name) { done.push_back(name); });
  CHECK(done == std::vector<std::string>{"fog", "pixelate"});
  const NpyHeader h = read_npy_header(dir.file("CIFAR-10-C/fog.npy"));
  CHECK(h.dtype == NpyDtype::uint8);
  CHECK(h.shape == std::vector<int64_t>{15, 32, 32, 3});
  const NpyArray labels = read_npy(dir.file("CIFAR-10-C/labels.npy"));
  CHECK(labels.header.dtype == NpyDtype::uint8);
  CHECK(labels.to_int64() == std::vector<int64_t>{0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2});
  for (int severity = 1; severity <= 5; ++severity) {
    const ImageSet s = read_cifar10c(dir.file("CIFAR-10-C"), "fog", severity);
    CHECK(s.n == 3);
    CHECK(s.labels == clean.labels);
    CHECK(s.classes.size() == 10);
    CHECK(s.pixels == corrupt_set(clean, "fog", severity, 4).pixels);
  }
}

TEST_CASE("CIFAR-10-C bad files: dtype, shape, labels, missing", "[data][cifar10c]") {
  cf::test::TempDir dir;
  const std::vector<uint8_t> images(10 * 4 * 4 * 3, 7);
  const std::vector<uint8_t> labels(10, 1);
  write_npy(dir.file("fog.npy"), images.data(), {10, 4, 4, 3});
  write_npy(dir.file("labels.npy"), labels.data(), {10});
  CHECK(read_cifar10c(dir.path().string(), "fog", 2).n == 2);

  const std::vector<float> floats(10 * 4 * 4 * 3, 0.5f);
  write_npy(dir.file("snow.npy"), floats.data(), {10, 4, 4, 3});
  CHECK_THAT(error_of([&] { read_cifar10c(dir.path().string(), "snow", 1); }),
             Contains("snow.npy") &&
                 Contains("expected a uint8 array of shape [any, any, any, 3]") &&
                 Contains("found float32 [10, 4, 4, 3]"));
  write_npy(dir.file("frost.npy"), images.data(), {10, 16, 3});
  CHECK_THAT(error_of([&] { read_cifar10c(dir.path().string(), "frost", 1); }),
             Contains("frost.npy") && Contains("found uint8 [10, 16, 3]"));
  write_npy(dir.file("contrast.npy"), images.data(), {7, 4, 4, 3});
  CHECK_THAT(error_of([&] { read_cifar10c(dir.path().string(), "contrast", 1); }),
             Contains("contrast.npy") && Contains("not 5 blocks"));
  write_npy(dir.file("labels.npy"), labels.data(), {5});
  CHECK_THAT(error_of([&] { read_cifar10c(dir.path().string(), "fog", 1); }),
             Contains(dir.file("labels.npy") + " holds 5 labels, " + dir.file("fog.npy") +
                      " 10 images: written by different runs?"));
  write_npy(dir.file("labels.npy"), labels.data(), {2, 5});
  CHECK_THAT(error_of([&] { read_cifar10c(dir.path().string(), "fog", 1); }),
             Contains("labels.npy") && Contains("shape [10]") && Contains("found uint8 [2, 5]"));
  write_npy(dir.file("labels.npy"), floats.data(), {10});
  CHECK_THAT(error_of([&] { read_cifar10c(dir.path().string(), "fog", 1); }),
             Contains("labels.npy") && Contains("float32"));
  CHECK_THAT(error_of([&] { read_cifar10c(dir.path().string(), "rain", 1); }),
             Contains("rain.npy") && Contains("cannot open"));
  CHECK_THAT(error_of([&] { read_cifar10c(dir.path().string(), "fog", 0); }),
             Contains("severity 0"));
}
