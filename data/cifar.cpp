#include "data/cifar.h"

#include <filesystem>
#include <fstream>

#include "autograd/error.h"
#include "autograd/tensor.h"

namespace cf::data {
namespace {

constexpr int64_t kSide = 32, kPlane = kSide * kSide, kImageBytes = 3 * kPlane;

// Official names if the file lists the right number of them, else fallback.
std::vector<std::string> class_names(const std::string& path, int64_t count,
                                     std::vector<std::string> fallback) {
  std::vector<std::string> names = read_class_names(path);
  CF_CHECK(names.empty() || int64_t(names.size()) == count,
           path << ": lists " << names.size() << " class names, expected " << count);
  return names.empty() ? fallback : names;
}

std::vector<std::string> numbered_names(int64_t count) {
  std::vector<std::string> names;
  for (int64_t i = 0; i < count; ++i) names.push_back(std::to_string(i));
  return names;
}

std::string join(const std::string& dir, const std::string& file) {
  return (std::filesystem::path(dir) / file).string();
}

}  // namespace

const std::vector<std::string>& cifar10_class_names() {
  static const std::vector<std::string> names = {
      "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"};
  return names;
}

std::vector<std::string> read_class_names(const std::string& path) {
  std::vector<std::string> names;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    const size_t b = line.find_first_not_of(" \t\r");
    if (b == std::string::npos) continue;
    names.push_back(line.substr(b, line.find_last_not_of(" \t\r") + 1 - b));
  }
  return names;
}

void append_cifar_batch_memory(const uint8_t* data, size_t size, const std::string& name,
                               int label_bytes, int label_index, int64_t num_classes,
                               ImageSet& set) {
  CF_CHECK(label_bytes >= 1 && label_index >= 0 && label_index < label_bytes,
           "append_cifar_batch: label byte " << label_index << " of " << label_bytes);
  CF_CHECK(set.n == 0 || (set.h == kSide && set.w == kSide && set.c == 3),
           "append_cifar_batch: the set holds " << set.h << "x" << set.w << "x" << set.c
                                                << " images, CIFAR's are 32x32x3");
  const int64_t record = label_bytes + kImageBytes;
  const int64_t bytes = int64_t(size), records = bytes / record;
  CF_CHECK(bytes % record == 0, name << ": " << bytes << " bytes is not a whole number of "
                                     << record << "-byte records; the partial record " << records
                                     << " starts at offset " << records * record
                                     << " (file truncated or not a CIFAR"
                                     << (label_bytes == 1 ? "-10" : "-100") << " batch)");
  // Every label is checked before `set` changes, so a bad file leaves it as it was.
  for (int64_t r = 0; r < records; ++r) {
    const int64_t label = data[r * record + label_index];
    CF_CHECK(label < num_classes, name << ": record " << r << " (offset "
                                       << r * record + label_index << ") has label " << label
                                       << ", but labels must be 0.." << num_classes - 1);
  }
  check_fits_in_memory((set.n + records) * kImageBytes,
                       name + ": " + std::to_string(set.n + records) + " CIFAR images");
  set.h = set.w = kSide;
  set.c = 3;
  const int64_t first = set.n;
  set.n += records;
  set.pixels.resize(size_t(set.n * kImageBytes));
  set.labels.resize(size_t(set.n));
  for (int64_t r = 0; r < records; ++r) {
    const uint8_t* rec = data + r * record;
    set.labels[size_t(first + r)] = rec[label_index];
    // Planes R, G, B -> interleaved RGB.
    const uint8_t* planes = rec + label_bytes;
    uint8_t* out = set.image(first + r);
    for (int64_t p = 0; p < kPlane; ++p)
      for (int64_t k = 0; k < 3; ++k) out[p * 3 + k] = planes[k * kPlane + p];
  }
}

void append_cifar_batch(const std::string& path, int label_bytes, int label_index,
                        int64_t num_classes, ImageSet& set) {
  std::error_code ec;
  const auto file_size = std::filesystem::file_size(path, ec);
  if (!ec) check_fits_in_memory(int64_t(file_size), path + ": reading the whole file");
  const std::vector<uint8_t> bytes = read_file_bytes(path);
  append_cifar_batch_memory(bytes.data(), bytes.size(), path, label_bytes, label_index,
                            num_classes, set);
}

ImageSet read_cifar10(const std::string& dir, Split split) {
  ImageSet set;
  const std::vector<std::string> files =
      split == Split::train
          ? std::vector<std::string>{"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin",
                                     "data_batch_4.bin", "data_batch_5.bin"}
          : std::vector<std::string>{"test_batch.bin"};
  for (const std::string& f : files) append_cifar_batch(join(dir, f), 1, 0, 10, set);
  set.classes = class_names(join(dir, "batches.meta.txt"), 10, cifar10_class_names());
  return set;
}

ImageSet read_cifar100(const std::string& dir, Split split, Cifar100Labels labels) {
  ImageSet set;
  const bool coarse = labels == Cifar100Labels::coarse;
  const int64_t count = coarse ? 20 : 100;
  append_cifar_batch(join(dir, split == Split::train ? "train.bin" : "test.bin"), 2, coarse ? 0 : 1,
                     count, set);
  set.classes = class_names(join(dir, coarse ? "coarse_label_names.txt" : "fine_label_names.txt"),
                            count, numbered_names(count));
  return set;
}

}  // namespace cf::data
