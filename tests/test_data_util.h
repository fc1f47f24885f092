// Shared by the data tests: a private temporary folder, removed afterwards,
// and small deterministic images. The data tests read no data set from outside: every
// file they read they first write here.
#pragma once
#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

#include "data/dataset.h"
#include "tests/temp_dir.h"

namespace cf::test {

inline void write_bytes(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
}

// n images h x w x 3 whose bytes are a simple function of (image, position),
// labels i % classes.
inline data::ImageSet pattern_set(int64_t n, int64_t h, int64_t w, int64_t classes) {
  data::ImageSet set;
  set.n = n;
  set.h = h;
  set.w = w;
  set.c = 3;
  for (int64_t k = 0; k < classes; ++k) set.classes.push_back("class" + std::to_string(k));
  set.pixels.resize(size_t(n * h * w * 3));
  for (size_t i = 0; i < set.pixels.size(); ++i) set.pixels[i] = uint8_t((i * 7 + i / 97) % 251);
  for (int64_t i = 0; i < n; ++i) set.labels.push_back(i % classes);
  return set;
}

}  // namespace cf::test
