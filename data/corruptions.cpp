#include "data/corruptions.h"

#include <algorithm>
#include <iterator>
#include <sstream>

#include "autograd/error.h"
#include "autograd/kernels/threads.h"
#include "autograd/random.h"
#include "data/corruption_ops.h"

namespace cf::data {
namespace {

struct Entry {
  const char* name;
  corruption::CorruptionFn fn;
};

// The benchmark's 15 in the paper's order, then the 4 extras.
constexpr Entry kCorruptions[] = {
    {"gaussian_noise", corruption::gaussian_noise},
    {"shot_noise", corruption::shot_noise},
    {"impulse_noise", corruption::impulse_noise},
    {"defocus_blur", corruption::defocus_blur},
    {"glass_blur", corruption::glass_blur},
    {"motion_blur", corruption::motion_blur},
    {"zoom_blur", corruption::zoom_blur},
    {"snow", corruption::snow},
    {"frost", corruption::frost},
    {"fog", corruption::fog},
    {"brightness", corruption::brightness},
    {"contrast", corruption::contrast},
    {"elastic_transform", corruption::elastic_transform},
    {"pixelate", corruption::pixelate},
    {"jpeg_compression", corruption::jpeg_compression},
    {"speckle_noise", corruption::speckle_noise},
    {"gaussian_blur", corruption::gaussian_blur},
    {"spatter", corruption::spatter},
    {"saturate", corruption::saturate},
};
constexpr size_t kBenchmarkCount = 15;

std::vector<std::string> names(size_t begin, size_t end) {
  std::vector<std::string> out;
  for (size_t i = begin; i < end; ++i) out.push_back(kCorruptions[i].name);
  return out;
}

corruption::CorruptionFn find(const std::string& name) {
  for (const Entry& e : kCorruptions)
    if (name == e.name) return e.fn;
  std::ostringstream known;
  for (const Entry& e : kCorruptions) known << " " << e.name;
  CF_CHECK(false, "unknown corruption '" << name << "'; known:" << known.str());
  return nullptr;
}

}  // namespace

const std::vector<std::string>& benchmark_corruptions() {
  static const std::vector<std::string> list = names(0, kBenchmarkCount);
  return list;
}

const std::vector<std::string>& extra_corruptions() {
  static const std::vector<std::string> list = names(kBenchmarkCount, std::size(kCorruptions));
  return list;
}

std::vector<std::string> all_corruptions() { return names(0, std::size(kCorruptions)); }

Image corrupt(const Image& image, const std::string& name, int severity, uint64_t seed,
              int64_t index) {
  const corruption::CorruptionFn fn = find(name);
  CF_CHECK(severity >= 1 && severity <= 5,
           "corrupt: severity " << severity << " of '" << name << "' must be 1..5");
  CF_CHECK(image.c == 3 && image.h >= 4 && image.w >= 4,
           "corrupt: '" << name << "' needs an RGB image of at least 4x4, got " << image.h << "x"
                        << image.w << "x" << image.c);
  CF_CHECK(index >= 0 && index < (int64_t(1) << 32), "corrupt: index " << index << " out of range");
  // One stream per (corruption, severity, image).
  const Rng rng(seed, stream_id(name.c_str(), (uint64_t(severity) << 32) | uint64_t(index)));
  corruption::Draws draws(rng);
  corruption::FloatImage x = corruption::to_float(image);
  fn(x, severity, draws);
  return corruption::to_bytes(x);  // clips to [0, 1]
}

ImageSet corrupt_set(const ImageSet& set, const std::string& name, int severity, uint64_t seed) {
  find(name);  // fail before starting threads
  ImageSet out = set;
  kernels::parallel_for(set.n, 4, [&](int64_t b, int64_t e) {
    Image image;
    image.h = set.h;
    image.w = set.w;
    image.c = set.c;
    for (int64_t i = b; i < e; ++i) {
      image.pixels.assign(set.image(i), set.image(i) + set.image_bytes());
      const Image result = corrupt(image, name, severity, seed, i);
      std::copy(result.pixels.begin(), result.pixels.end(), out.image(i));
    }
  });
  return out;
}

}  // namespace cf::data
