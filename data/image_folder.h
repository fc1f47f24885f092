// Image folders: root/<class>/<image files>, the layout of torchvision's
// ImageFolder. The subfolders of root, sorted by name, are the classes
// (label = position in that order); each class folder's regular files, sorted
// by name, are its images. The set takes the classes in turn: the first image
// of every class, then the second, and so on (torchvision keeps each class
// together), so that its first N images, as a limit keeps, hold the classes in
// equal shares. Files whose names start with '.' (.DS_Store) and anything
// nested deeper are ignored. Files are decoded with stb_image (PNG, JPEG,
// BMP, GIF, TGA, PNM) as 3-channel RGB, in parallel.
#pragma once
#include <string>

#include "data/dataset.h"

namespace cf::data {

// What to do with an image whose size is not the requested one.
enum class SizePolicy {
  reject,  // cf::Error naming the file and both sizes
  resize,  // bilinear resampling (data/image_io.h: resize_bilinear)
};

// What to do with a file that cannot be read or decoded.
enum class BadFilePolicy {
  error,          // cf::Error naming the file and the decoder's reason
  skip_and_warn,  // leave it out and print a warning naming it to stderr
};

struct ImageFolderOptions {
  int64_t height = 32, width = 32;  // every image ends up this size
  SizePolicy size_policy = SizePolicy::reject;
  BadFilePolicy bad_files = BadFilePolicy::error;
  // At most this many images, the first in the set's order; only their files
  // are decoded (a file skipped as bad gives its place to the next). 0: all.
  int64_t limit = 0;
};

// cf::Error if root is not a folder or has no class subfolders.
ImageSet read_image_folder(const std::string& root, const ImageFolderOptions& options = {});

}  // namespace cf::data
