#include "data/cifar10c.h"

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "autograd/error.h"
#include "data/cifar.h"
#include "data/corruptions.h"
#include "data/npy.h"

namespace cf::data {
namespace fs = std::filesystem;

ImageSet read_cifar10c(const std::string& dir, const std::string& corruption, int severity) {
  CF_CHECK(severity >= 1 && severity <= 5,
           "read_cifar10c: severity " << severity << " must be 1..5");
  const std::string path = (fs::path(dir) / (corruption + ".npy")).string();
  const std::string labels_path = (fs::path(dir) / "labels.npy").string();
  const NpyHeader header = read_npy_header(path);
  require_npy(header, path, NpyDtype::uint8, {-1, -1, -1, 3});
  CF_CHECK(
      header.shape[0] % 5 == 0,
      path << ": " << header.shape[0] << " images is not 5 blocks (severities 1..5) of equal size");
  ImageSet set;
  set.n = header.shape[0] / 5;
  set.h = header.shape[1];
  set.w = header.shape[2];
  set.c = 3;
  set.pixels.resize(size_t(set.n * set.image_bytes()));
  std::ifstream in(path, std::ios::binary);
  in.seekg(header.data_offset + (severity - 1) * set.n * set.image_bytes());
  in.read(reinterpret_cast<char*>(set.pixels.data()), std::streamsize(set.pixels.size()));
  CF_CHECK(in, path << ": read error in severity " << severity << "'s block");

  const NpyArray labels = read_npy(labels_path);
  CF_CHECK(labels.header.dtype != NpyDtype::float32,
           labels_path << ": expected integer labels (uint8 or int64), found float32");
  // A count that differs: most likely arrays of two cf corrupt runs (another
  // --limit) in one folder, each file whole in itself.
  CF_CHECK(labels.header.shape.size() != 1 || labels.header.shape[0] == 5 * set.n,
           labels_path << " holds " << labels.header.shape[0] << " labels, " << path << " "
                       << 5 * set.n
                       << " images: written by different runs? (write them again into an empty "
                          "folder)");
  require_npy(labels.header, labels_path, labels.header.dtype, {5 * set.n});
  const std::vector<int64_t> all = labels.to_int64();
  set.labels.assign(all.begin() + (severity - 1) * set.n, all.begin() + severity * set.n);
  int64_t max_label = 0;
  for (int64_t i = 0; i < set.n; ++i) {
    const int64_t label = set.labels[size_t(i)];
    CF_CHECK(label >= 0, labels_path << ": record " << (severity - 1) * set.n + i
                                     << " has negative label " << label);
    max_label = std::max(max_label, label);
  }
  if (max_label < 10) {
    set.classes = cifar10_class_names();
  } else {
    for (int64_t k = 0; k <= max_label; ++k) set.classes.push_back(std::to_string(k));
  }
  return set;
}

void write_cifar10c(const ImageSet& clean, const std::string& dir, uint64_t seed,
                    const std::vector<std::string>& corruptions,
                    const std::function<void(const std::string&)>& progress) {
  check_image_set(clean, "write_cifar10c");
  CF_CHECK(clean.c == 3, "write_cifar10c: images have " << clean.c << " channels, need 3");
  std::error_code ec;
  fs::create_directories(dir, ec);
  CF_CHECK(fs::is_directory(dir),
           dir << ": cannot create the output folder (" << ec.message() << ")");

  std::vector<uint8_t> labels;
  for (int severity = 1; severity <= 5; ++severity)
    for (int64_t label : clean.labels) {
      CF_CHECK(label < 256,
               "write_cifar10c: label " << label << " does not fit labels.npy's uint8");
      labels.push_back(uint8_t(label));
    }
  write_npy((fs::path(dir) / "labels.npy").string(), labels.data(), {5 * clean.n});

  const int64_t block = clean.n * clean.image_bytes();
  std::vector<uint8_t> pixels(size_t(5 * block));
  for (const std::string& name : corruptions) {
    for (int severity = 1; severity <= 5; ++severity) {
      const ImageSet corrupted = corrupt_set(clean, name, severity, seed);
      std::copy(corrupted.pixels.begin(), corrupted.pixels.end(),
                pixels.begin() + (severity - 1) * block);
    }
    write_npy((fs::path(dir) / (name + ".npy")).string(), pixels.data(),
              {5 * clean.n, clean.h, clean.w, 3});
    if (progress) progress(name);
  }
}

}  // namespace cf::data
