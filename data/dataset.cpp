#include "data/dataset.h"

#include <algorithm>
#include <cstdio>
#include <memory>

#include "autograd/error.h"

namespace cf::data {

void check_image_set(const ImageSet& set, const std::string& what) {
  CF_CHECK(
      set.n >= 0 && set.h >= 0 && set.w >= 0 && set.c >= 0,
      what << ": negative size n=" << set.n << " h=" << set.h << " w=" << set.w << " c=" << set.c);
  CF_CHECK(int64_t(set.pixels.size()) == set.n * set.image_bytes(),
           what << ": " << set.pixels.size()
                << " pixel bytes, expected n*h*w*c = " << set.n * set.image_bytes());
  CF_CHECK(int64_t(set.labels.size()) == set.n,
           what << ": " << set.labels.size() << " labels for " << set.n << " images");
  for (int64_t i = 0; i < set.n; ++i)
    CF_CHECK(set.labels[size_t(i)] >= 0 && set.labels[size_t(i)] < set.num_classes(),
             what << ": image " << i << " has label " << set.labels[size_t(i)] << ", outside [0, "
                  << set.num_classes() << ")");
}

ImageSet subset(const ImageSet& set, const std::vector<int64_t>& indices) {
  ImageSet out;
  out.n = int64_t(indices.size());
  out.h = set.h;
  out.w = set.w;
  out.c = set.c;
  out.classes = set.classes;
  out.pixels.resize(size_t(out.n * out.image_bytes()));
  out.labels.resize(indices.size());
  for (int64_t j = 0; j < out.n; ++j) {
    const int64_t i = indices[size_t(j)];
    CF_CHECK(i >= 0 && i < set.n, "subset: index " << i << " outside [0, " << set.n << ")");
    std::copy(set.image(i), set.image(i) + set.image_bytes(), out.image(j));
    out.labels[size_t(j)] = set.labels[size_t(i)];
  }
  return out;
}

std::vector<uint8_t> read_file_bytes(const std::string& path) {
  // C stdio: the image-folder reader opens tens of thousands of tiny files,
  // and fopen/fread is the cheapest way to do that portably.
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> f(std::fopen(path.c_str(), "rb"), &std::fclose);
  CF_CHECK(f != nullptr, path << ": cannot open for reading");
  std::vector<uint8_t> bytes;
  uint8_t buffer[1 << 16];
  size_t got = 0;
  while ((got = std::fread(buffer, 1, sizeof buffer, f.get())) > 0)
    bytes.insert(bytes.end(), buffer, buffer + got);
  CF_CHECK(!std::ferror(f.get()), path << ": read error after " << bytes.size() << " bytes");
  return bytes;
}

}  // namespace cf::data
