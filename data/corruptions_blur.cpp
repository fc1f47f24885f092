// Blur corruptions. Parameters are the CIFAR rows of make_cifar_c.py
// (Hendrycks & Dietterich 2019), severity 1..5 top to bottom. skimage's
// gaussian (mode 'nearest', truncate 4) and OpenCV's filters (border
// reflect-101) are reproduced by gaussian_filter / filter2d.
#include <algorithm>
#include <cmath>
#include <utility>

#include "data/corruption_ops.h"

namespace cf::data::corruption {

void defocus_blur(FloatImage& x, int severity, Draws&) {
  // The script's disk(radius, alias_blur): a 17x17 aliased disk (radius <= 8),
  // normalised, softened by a 3x3 Gaussian of sigma alias_blur, then
  // cv2.filter2D on each channel.
  struct Row {
    float radius, alias_blur;
  };
  constexpr Row kC[5] = {{0.3f, 0.4f}, {0.4f, 0.5f}, {0.5f, 0.6f}, {1.0f, 0.2f}, {1.5f, 0.1f}};
  const Row c = kC[severity - 1];
  constexpr int64_t r = 8;
  FloatImage disk(2 * r + 1, 2 * r + 1, 1);
  float sum = 0.0f;
  for (int64_t y = -r; y <= r; ++y)
    for (int64_t x0 = -r; x0 <= r; ++x0)
      if (float(x0 * x0 + y * y) <= c.radius * c.radius) sum += disk.at(y + r, x0 + r, 0) = 1.0f;
  for (float& v : disk.v) v /= sum;
  gaussian_filter(disk, c.alias_blur, 1, Border::reflect101);
  x = filter2d(x, disk.v, r, Border::reflect101);
}

void glass_blur(FloatImage& x, int severity, Draws& draws) {
  // Blur, quantise to bytes, then locally shuffle pixels by swapping each
  // with a neighbour up to max_delta away (np.random.randint(-d, d): the
  // offset is in [-d, d)), `iterations` sweeps from the bottom-right, blur.
  struct Row {
    float sigma;
    int64_t max_delta, iterations;
  };
  constexpr Row kC[5] = {{0.05f, 1, 1}, {0.25f, 1, 1}, {0.4f, 1, 1}, {0.25f, 1, 2}, {0.4f, 1, 2}};
  const Row c = kC[severity - 1];
  gaussian_filter(x, c.sigma, scipy_radius(c.sigma), Border::nearest);
  for (float& v : x.v) v = std::floor(std::clamp(v, 0.0f, 1.0f) * 255.0f) / 255.0f;
  const int64_t d = c.max_delta;
  for (int64_t it = 0; it < c.iterations; ++it)
    for (int64_t h = x.h - d; h > d; --h)
      for (int64_t w = x.w - d; w > d; --w) {
        const int64_t dx = draws.below(2 * d) - d, dy = draws.below(2 * d) - d;
        // h + dy and w + dx stay inside: h <= x.h - d and dy < d.
        for (int64_t k = 0; k < x.c; ++k) std::swap(x.at(h, w, k), x.at(h + dy, w + dx, k));
      }
  gaussian_filter(x, c.sigma, scipy_radius(c.sigma), Border::nearest);
}

void motion_blur(FloatImage& x, int severity, Draws& draws) {
  // The script calls ImageMagick through Wand (motion_blur(radius, sigma,
  // angle)); motion_filter reimplements ImageMagick's kernel.
  struct Row {
    float radius, sigma;
  };
  constexpr Row kC[5] = {{10, 1.0f}, {10, 1.5f}, {10, 2.0f}, {10, 2.5f}, {12, 3.0f}};
  const Row c = kC[severity - 1];
  x = motion_filter(x, c.radius, c.sigma, draws.uniform(-45.0f, 45.0f));
}

void zoom_blur(FloatImage& x, int severity, Draws&) {
  // The mean of the image and its zooms by 1.00, 1.01, ... (np.arange(1,
  // 1.06 / 1.11 / 1.16 / 1.21 / 1.26, 0.01)).
  constexpr int kZooms[5] = {6, 11, 16, 21, 26};
  const int zooms = kZooms[severity - 1];
  FloatImage sum = x;
  for (int z = 0; z < zooms; ++z) {
    const FloatImage zoomed = zoom_center(x, 1.0f + 0.01f * float(z));
    for (size_t i = 0; i < sum.v.size(); ++i) sum.v[i] += zoomed.v[i];
  }
  for (float& v : sum.v) v /= float(zooms + 1);
  x = std::move(sum);
}

void gaussian_blur(FloatImage& x, int severity, Draws&) {
  constexpr float kC[5] = {0.4f, 0.6f, 0.7f, 0.8f, 1.0f};
  gaussian_filter(x, kC[severity - 1], scipy_radius(kC[severity - 1]), Border::nearest);
}

}  // namespace cf::data::corruption
