// Shared by the data tests: a private temporary folder, removed afterwards,
// and small deterministic images. The data tests read no data set from outside: every
// file they read they first write here.
#pragma once
#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "data/dataset.h"

namespace cf::test {

class TempDir {
 public:
  TempDir() {
    static std::atomic<int> counter{0};
    const auto now = std::chrono::steady_clock::now().time_since_epoch().count();
    path_ = std::filesystem::temp_directory_path() /
            ("cf_test_data_" + std::to_string(now) + "_" + std::to_string(counter++));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  // The path of `name` inside the folder, as a string.
  std::string file(const std::string& name) const { return (path_ / name).string(); }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

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
