#include "data/image_folder.h"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <iostream>

#include "autograd/error.h"
#include "autograd/kernels/threads.h"
#include "data/image_io.h"

namespace cf::data {
namespace fs = std::filesystem;

namespace {

bool hidden(const fs::path& p) { return p.filename().string().rfind('.', 0) == 0; }

// Sorted names of the entries of `dir` that pass `keep`.
template <class Keep>
std::vector<fs::path> sorted_entries(const fs::path& dir, Keep keep) {
  std::vector<fs::path> out;
  try {
    for (const fs::directory_entry& e : fs::directory_iterator(dir))
      if (!hidden(e.path()) && keep(e)) out.push_back(e.path());
  } catch (const fs::filesystem_error& e) {
    throw Error(std::string("read_image_folder: ") + e.what());
  }
  std::sort(out.begin(), out.end());
  return out;
}

// Decodes `path` into `out` (height x width x 3 bytes), resizing if asked.
// Returns why it failed, or "" on success.
std::string decode_into(const std::string& path, const ImageFolderOptions& options, uint8_t* out) {
  try {
    Image image = decode_image_file(path);
    if (image.h != options.height || image.w != options.width) {
      CF_CHECK(options.size_policy == SizePolicy::resize,
               path << ": image is " << image.h << "x" << image.w << ", expected " << options.height
                    << "x" << options.width
                    << " (to resample it: SizePolicy::resize; resize = true in cf train, --resize "
                       "in cf eval, inspect and corrupt)");
      image = resize_bilinear(image, options.height, options.width);
    }
    std::memcpy(out, image.pixels.data(), image.pixels.size());
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

ImageSet read_image_folder(const std::string& root, const ImageFolderOptions& options) {
  CF_CHECK(options.height > 0 && options.width > 0, "read_image_folder: image size "
                                                        << options.height << "x" << options.width
                                                        << " must be positive");
  CF_CHECK(options.limit >= 0, "read_image_folder: limit " << options.limit << " must be >= 0");
  std::error_code ec;
  CF_CHECK(fs::is_directory(root, ec), root << ": not a folder (expected root/<class>/<images>)");
  const std::vector<fs::path> class_dirs =
      sorted_entries(root, [](const fs::directory_entry& e) { return e.is_directory(); });
  CF_CHECK(!class_dirs.empty(),
           root << ": no class subfolders; expected root/<class>/<image files>");

  // The classes take turns: the first file of every class, then the second,
  // and so on, so that the first N images (a limit) hold them in equal shares.
  ImageSet set;
  std::vector<std::vector<fs::path>> class_files;
  size_t longest = 0;
  for (const fs::path& d : class_dirs) {
    set.classes.push_back(d.filename().string());
    class_files.push_back(
        sorted_entries(d, [](const fs::directory_entry& e) { return e.is_regular_file(); }));
    longest = std::max(longest, class_files.back().size());
  }
  std::vector<std::string> files;
  std::vector<int64_t> file_labels;
  for (size_t turn = 0; turn < longest; ++turn)
    for (size_t k = 0; k < class_files.size(); ++k)
      if (turn < class_files[k].size()) {
        files.push_back(class_files[k][turn].string());
        file_labels.push_back(int64_t(k));
      }

  // Files decode in order until the set has its images; a file skipped as
  // bad makes room for the next one. Each file of a batch decodes into its
  // own slot, so the result does not depend on which thread took which chunk.
  const int64_t count = int64_t(files.size());
  const int64_t wanted = options.limit > 0 ? std::min(options.limit, count) : count;
  set.h = options.height;
  set.w = options.width;
  set.c = 3;
  const int64_t bytes = set.image_bytes();
  set.pixels.resize(size_t(wanted * bytes));
  for (int64_t next = 0; set.n < wanted && next < count;) {
    const int64_t first = set.n, batch = std::min(wanted - set.n, count - next);
    std::vector<std::string> errors(static_cast<size_t>(batch));
    kernels::parallel_for(batch, 64, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i)
        errors[size_t(i)] = decode_into(files[size_t(next + i)], options,
                                        set.pixels.data() + (first + i) * bytes);
    });
    // Keep the good images, in file order, sliding them over skipped slots.
    for (int64_t i = 0; i < batch; ++i) {
      const std::string& error = errors[size_t(i)];
      if (!error.empty()) {
        CF_CHECK(options.bad_files == BadFilePolicy::skip_and_warn,
                 error << " (to skip such files: BadFilePolicy::skip_and_warn; skip_bad_files = "
                          "true in cf train, --skip-bad-files in cf eval, inspect and corrupt)");
        std::cerr << "warning: skipping " << error << "\n";
        continue;
      }
      if (set.n != first + i)
        std::memmove(set.pixels.data() + set.n * bytes, set.pixels.data() + (first + i) * bytes,
                     size_t(bytes));
      set.labels.push_back(file_labels[size_t(next + i)]);
      ++set.n;
    }
    next += batch;
  }
  set.pixels.resize(size_t(set.n * bytes));
  return set;
}

}  // namespace cf::data
