#include "train/data_source.h"

#include <cstdlib>
#include <filesystem>
#include <iterator>
#include <numeric>
#include <ostream>
#include <sstream>

#include "autograd/error.h"
#include "data/cifar.h"
#include "data/image_folder.h"
#include "data/image_io.h"
#include "data/synthetic.h"
#include "train/run_config.h"

namespace cf {

namespace fs = std::filesystem;

namespace {

enum class Kind { cifar10, cifar100, folder, synthetic };
// Each kind's `dataset` value, in Kind's order.
constexpr const char* kKindNames[] = {"cifar10", "cifar100", "folder", "synthetic"};

struct Source {
  Kind kind;
  std::string dir;
};

// What the folder holds, from the files the formats always have.
Kind detect(const std::string& dir) {
  CF_CHECK(fs::is_directory(dir), "data: folder '" << dir << "' does not exist");
  if (fs::exists(fs::path(dir) / "data_batch_1.bin")) return Kind::cifar10;
  if (fs::exists(fs::path(dir) / "train.bin")) return Kind::cifar100;
  // A test split alone is enough to evaluate on.
  if (fs::is_directory(fs::path(dir) / "train") || fs::is_directory(fs::path(dir) / "test"))
    return Kind::folder;
  throw Error("data: '" + dir +
              "' holds neither CIFAR-10 (data_batch_1.bin), CIFAR-100 (train.bin) nor an "
              "image folder (train/<class>/... and test/<class>/...); set dataset = synthetic "
              "to train without data");
}

Source resolve(const Config& train, std::ostream& note) {
  check_choice(train, "dataset");
  const std::string dataset = train.get_string("dataset"), dir = train.get_string("data");
  if (dataset == "synthetic") {
    CF_CHECK(dir.empty(), "dataset synthetic takes no data folder, but data = '" << dir << "'");
    return {Kind::synthetic, ""};
  }
  CF_CHECK(dataset == "auto" || !dir.empty() || dataset == "cifar10",
           "dataset " << dataset << " needs a folder: --data DIR");
  if (!dir.empty()) {
    const Kind found = detect(dir);
    Kind wanted = found;  // dataset = auto takes what the folder holds
    for (size_t k = 0; k < std::size(kKindNames); ++k)
      if (dataset == kKindNames[k]) wanted = Kind(k);
    CF_CHECK(found == wanted, "data: '" << dir << "' does not hold the " << dataset << " layout");
    return {found, dir};
  }
  std::vector<std::string> places = {"data/cifar-10-batches-bin"};
  const char* env = std::getenv("CIFAR10_DIR");
  if (env && *env) places.push_back(env);
  for (const std::string& place : places)
    if (fs::exists(fs::path(place) / "data_batch_1.bin")) return {Kind::cifar10, place};
  // A $CIFAR10_DIR that holds no CIFAR-10 is a mistake to report, not a
  // reason to train on synthetic images.
  CF_CHECK(places.size() == 1, "data: $CIFAR10_DIR is '"
                                   << places[1] << "', which holds no CIFAR-10 (data_batch_1.bin)");
  CF_CHECK(dataset == "auto", "dataset cifar10: not found in data/cifar-10-batches-bin or "
                              "$CIFAR10_DIR; give --data DIR (scripts/get_cifar.sh downloads it)");
  note << "No data set given and none in data/cifar-10-batches-bin or $CIFAR10_DIR: "
          "training on the built-in synthetic set (10 procedurally drawn classes).\n";
  return {Kind::synthetic, ""};
}

std::shared_ptr<const data::ImageSet> limited(data::ImageSet set, int64_t limit) {
  if (limit > 0 && limit < set.n) {
    std::vector<int64_t> first(static_cast<size_t>(limit));
    std::iota(first.begin(), first.end(), 0);
    set = data::subset(set, first);
  }
  return std::make_shared<const data::ImageSet>(std::move(set));
}

std::shared_ptr<const data::ImageSet> read_images(const Source& s, const Config& train,
                                                  int64_t image_size, data::Split split) {
  const bool is_train = split == data::Split::train;
  const int64_t limit = train.get_int(is_train ? "train_limit" : "test_limit");
  switch (s.kind) {
    case Kind::synthetic: {
      // Disjoint seeds: test images are never training images.
      const uint64_t seed = uint64_t(train.get_int("seed")) * 2 + (is_train ? 0 : 1);
      return limited(data::synthetic_dataset(
                         train.get_int(is_train ? "synthetic_train" : "synthetic_test"), seed),
                     limit);
    }
    case Kind::cifar10:
      return limited(data::read_cifar10(s.dir, split), limit);
    case Kind::cifar100: {
      check_choice(train, "cifar100_labels");
      const std::string which = train.get_string("cifar100_labels");
      return limited(data::read_cifar100(s.dir, split,
                                         which == "fine" ? data::Cifar100Labels::fine
                                                         : data::Cifar100Labels::coarse),
                     limit);
    }
    case Kind::folder: {
      data::ImageFolderOptions options;
      options.height = options.width = image_size;
      if (train.get_bool("resize")) options.size_policy = data::SizePolicy::resize;
      if (train.get_bool("skip_bad_files")) options.bad_files = data::BadFilePolicy::skip_and_warn;
      options.limit = limit;  // only the files kept are decoded
      const fs::path root = fs::path(s.dir) / (is_train ? "train" : "test");
      return std::make_shared<const data::ImageSet>(
          data::read_image_folder(root.string(), options));
    }
  }
  return nullptr;
}

std::string describe(const Source& s) {
  switch (s.kind) {
    case Kind::synthetic: return "the built-in synthetic set";
    case Kind::cifar10: return "CIFAR-10 from " + s.dir;
    case Kind::cifar100: return "CIFAR-100 from " + s.dir;
    case Kind::folder: return "image folders in " + s.dir;
  }
  return "";
}

// A split with no image (an empty folder, a limit or size of 0) would train
// nothing and evaluate to NaN: an error. With resize = true, images of
// another size are resampled to image_size: a folder's file by file as it is
// read, CIFAR's and the synthetic set's here.
std::shared_ptr<const data::ImageSet> read_split(const Source& s, const Config& train,
                                                 int64_t image_size, data::Split split) {
  auto set = read_images(s, train, image_size, split);
  CF_CHECK(set->n > 0, "data: the " << (split == data::Split::train ? "training" : "test")
                                    << " set of " << describe(s) << " has no images");
  if (train.get_bool("resize") && (set->h != image_size || set->w != image_size))
    set = std::make_shared<const data::ImageSet>(data::resize_images(*set, image_size, image_size));
  return set;
}

std::pair<std::string, std::string> recorded(const Source& s) {
  return {kKindNames[int(s.kind)],
          s.dir.empty() ? "" : fs::absolute(s.dir).lexically_normal().string()};
}

}  // namespace

DataSplits load_data(const Config& train, int64_t image_size, std::ostream& note) {
  const Source s = resolve(train, note);
  const auto [dataset, dir] = recorded(s);
  DataSplits splits{read_split(s, train, image_size, data::Split::train),
                    read_split(s, train, image_size, data::Split::test), describe(s), dataset, dir};
  CF_CHECK(splits.train->classes == splits.test->classes,
           "data: the training and test sets of " << splits.description << " have different classes");
  return splits;
}

std::string describe_data(const Config& train) {
  std::ostringstream note;
  return describe(resolve(train, note));
}

std::pair<std::string, std::string> recorded_data(const Config& train) {
  std::ostringstream note;
  return recorded(resolve(train, note));
}

std::shared_ptr<const data::ImageSet> load_test_data(const Config& train, int64_t image_size,
                                                     std::ostream& note) {
  const Source s = resolve(train, note);
  auto set = read_split(s, train, image_size, data::Split::test);
  CF_CHECK(set->h == image_size && set->w == image_size,
           "data: the test set of " << describe(s) << " has " << set->h << "x" << set->w
                                    << " images, the model takes " << image_size << "x"
                                    << image_size << " (--resize resamples them)");
  return set;
}

}  // namespace cf
