// The in-memory form of an image data set, shared by every reader, the
// synthetic generator, the transforms and the loader.
//
// Pixels stay uint8 (60,000 CIFAR images are 184 MB as bytes, four times that
// as floats); the loader converts to float tensors one batch at a time.
// Layout is HWC ("channels last"), image after image: the byte of channel k at
// row y, column x of image i is pixels[((i * h + y) * w + x) * c + k]. That is
// how PNG/JPEG decoders and NumPy (CIFAR-10-C's .npy files) lay images out.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace cf::data {

// One decoded image, HWC uint8.
struct Image {
  std::vector<uint8_t> pixels;  // h * w * c bytes
  int64_t h = 0, w = 0, c = 0;
};

struct ImageSet {
  std::vector<uint8_t> pixels;  // n * h * w * c bytes, HWC per image
  std::vector<int64_t> labels;  // n labels, each in [0, classes.size())
  int64_t n = 0, h = 0, w = 0, c = 0;
  std::vector<std::string> classes;  // class names, index = label

  int64_t image_bytes() const { return h * w * c; }
  int64_t num_classes() const { return int64_t(classes.size()); }
  const uint8_t* image(int64_t i) const { return pixels.data() + i * image_bytes(); }
  uint8_t* image(int64_t i) { return pixels.data() + i * image_bytes(); }
};

// Throws cf::Error (naming `what`) unless the sizes agree with n, h, w, c and
// every label is in [0, num_classes()).
void check_image_set(const ImageSet& set, const std::string& what);

// The images at `indices`, in that order (a split, or a small subset).
ImageSet subset(const ImageSet& set, const std::vector<int64_t>& indices);

// The whole file as bytes; cf::Error naming the file if it cannot be read.
std::vector<uint8_t> read_file_bytes(const std::string& path);

}  // namespace cf::data
