#include "data/transforms.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "autograd/error.h"
#include "autograd/random.h"

namespace cf::data {
namespace {

// Draw number `k` of transform `purpose` for the keyed image: 64 bits.
uint64_t draw(const char* purpose, const AugmentKey& key, uint64_t k) {
  return Rng(key.seed, stream_id(purpose, uint64_t(key.epoch))).bits(uint64_t(key.index), k);
}

// Uniform in [0, n). The modulo bias is below n / 2^64: negligible.
int64_t draw_below(const char* purpose, const AugmentKey& key, uint64_t k, int64_t n) {
  return int64_t(draw(purpose, key, k) % uint64_t(n));
}

}  // namespace

void random_crop(Image& image, int64_t padding, const AugmentKey& key) {
  CF_CHECK(padding >= 0, "random_crop: padding " << padding << " must be >= 0");
  if (padding == 0) return;
  // Window origin in padded coordinates; (dy, dx) = (padding, padding) is
  // the identity.
  const int64_t dy = draw_below("random_crop", key, 0, 2 * padding + 1) - padding;
  const int64_t dx = draw_below("random_crop", key, 1, 2 * padding + 1) - padding;
  const int64_t h = image.h, w = image.w, c = image.c;
  std::vector<uint8_t> out(image.pixels.size(), 0);
  for (int64_t y = 0; y < h; ++y) {
    const int64_t sy = y + dy;
    if (sy < 0 || sy >= h) continue;
    // The columns of this row that land inside the source image.
    const int64_t x0 = std::max<int64_t>(0, -dx), x1 = std::min(w, w - dx);
    if (x0 >= x1) continue;
    std::copy_n(image.pixels.begin() + ((sy * w + x0 + dx) * c), (x1 - x0) * c,
                out.begin() + ((y * w + x0) * c));
  }
  image.pixels = std::move(out);
}

void random_horizontal_flip(Image& image, const AugmentKey& key) {
  if (draw("random_horizontal_flip", key, 0) >> 63) return;  // the top bit: a fair coin
  const int64_t w = image.w, c = image.c;
  for (int64_t y = 0; y < image.h; ++y) {
    uint8_t* row = image.pixels.data() + y * w * c;
    for (int64_t x = 0; x < w / 2; ++x)
      std::swap_ranges(row + x * c, row + (x + 1) * c, row + (w - 1 - x) * c);
  }
}

void cutout(Image& image, int64_t size, const uint8_t fill[3], const AugmentKey& key) {
  CF_CHECK(size >= 0, "cutout: size " << size << " must be >= 0");
  CF_CHECK(image.c == 3, "cutout: needs 3 channels, the image has " << image.c);
  if (size == 0) return;
  const int64_t cy = draw_below("cutout", key, 0, image.h);
  const int64_t cx = draw_below("cutout", key, 1, image.w);
  const int64_t y0 = std::max<int64_t>(0, cy - size / 2),
                y1 = std::min(image.h, cy - size / 2 + size);
  const int64_t x0 = std::max<int64_t>(0, cx - size / 2),
                x1 = std::min(image.w, cx - size / 2 + size);
  for (int64_t y = y0; y < y1; ++y)
    for (int64_t x = x0; x < x1; ++x)
      std::copy_n(fill, 3, image.pixels.begin() + (y * image.w + x) * 3);
}

void cutout_fill(const Normalization& norm, uint8_t fill[3]) {
  for (int k = 0; k < 3; ++k)
    fill[k] = uint8_t(std::lround(std::clamp(norm.mean[k], 0.0f, 1.0f) * 255.0f));
}

void normalize_to_chw(const Image& image, const Normalization& norm, float* chw) {
  CF_CHECK(image.c == 3, "normalize_to_chw: needs 3 channels, the image has " << image.c);
  const int64_t plane = image.h * image.w;
  for (int64_t k = 0; k < 3; ++k) {
    CF_CHECK(norm.std[k] > 0.0f,
             "normalize_to_chw: std[" << k << "] = " << norm.std[k] << " must be positive");
    // (v / 255 - mean) / std as one multiply-add per pixel.
    const float scale = 1.0f / (255.0f * norm.std[k]), shift = -norm.mean[k] / norm.std[k];
    for (int64_t p = 0; p < plane; ++p)
      chw[k * plane + p] = float(image.pixels[size_t(p * 3 + k)]) * scale + shift;
  }
}

void augment(Image& image, const AugmentOptions& options, const Normalization& norm,
             const AugmentKey& key) {
  if (options.crop_padding > 0) random_crop(image, options.crop_padding, key);
  if (options.horizontal_flip) random_horizontal_flip(image, key);
  if (options.cutout_size > 0) {
    uint8_t fill[3];
    cutout_fill(norm, fill);
    cutout(image, options.cutout_size, fill, key);
  }
}

}  // namespace cf::data
