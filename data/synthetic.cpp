#include "data/synthetic.h"

#include <algorithm>
#include <cmath>

#include "autograd/error.h"
#include "autograd/kernels/threads.h"
#include "autograd/random.h"

namespace cf::data {
namespace {

constexpr float kPi = 3.14159265358979f;

enum Kind { disc, square, triangle, ring, cross, h_stripes, v_stripes, d_stripes, checker, dots };

// Whether shape coordinates (u, v) are foreground; the shape spans roughly
// [-1, 1] in both. `freq` is the texture's stripe count.
bool inside(int kind, float u, float v, float freq) {
  const float au = std::fabs(u), av = std::fabs(v);
  const bool in_patch = au <= 1.0f && av <= 1.0f;
  auto wave = [&](float t) { return std::sin(t * kPi * freq) > 0.0f; };
  switch (kind) {
    case disc:
      return u * u + v * v <= 1.0f;
    case square:
      return std::max(au, av) <= 0.8f;
    case triangle:
      return v <= 0.8f && v >= -0.9f && au <= 0.5f * (v + 0.9f);
    case ring: {
      const float r2 = u * u + v * v;
      return r2 <= 1.0f && r2 >= 0.36f;
    }
    case cross:
      return (au <= 0.3f && av <= 1.0f) || (av <= 0.3f && au <= 1.0f);
    case h_stripes:
      return in_patch && wave(v);
    case v_stripes:
      return in_patch && wave(u);
    case d_stripes:
      return in_patch && wave((u + v) * 0.7071f);
    case checker:
      return in_patch && (wave(u) == wave(v));
    case dots: {
      // A grid of small discs, one per cell of side 2 / freq.
      const float cu = u * freq * 0.5f - std::floor(u * freq * 0.5f) - 0.5f;
      const float cv = v * freq * 0.5f - std::floor(v * freq * 0.5f) - 0.5f;
      return in_patch && cu * cu + cv * cv <= 0.09f;
    }
  }
  return false;
}

void draw_image(uint8_t* out, int64_t size, int kind, const Rng& rng) {
  // Draw numbers 0..15 are the image's parameters; 16 onwards its pixel noise.
  auto u = [&](uint64_t k, float lo, float hi) { return lo + (hi - lo) * rng.uniform(k); };
  const float s = float(size);
  float bg0[3], bg1[3], fg[3];
  for (int k = 0; k < 3; ++k) {
    bg0[k] = u(k, 0, 255);
    bg1[k] = u(3 + k, 0, 255);
    fg[k] = u(6 + k, 0, 255);
  }
  // Keep the foreground visible: push it away from the mean background.
  float gap = 0;
  for (int k = 0; k < 3; ++k) gap += std::fabs(fg[k] - 0.5f * (bg0[k] + bg1[k]));
  if (gap < 120.0f)
    for (int k = 0; k < 3; ++k) fg[k] = 255.0f - fg[k];
  const float grad_angle = u(9, 0, 2 * kPi);
  const float cx = u(10, 0.3f, 0.7f) * s, cy = u(11, 0.3f, 0.7f) * s;
  const bool texture = kind >= h_stripes;
  const float scale = (texture ? u(12, 0.28f, 0.45f) : u(12, 0.2f, 0.35f)) * s;
  const float angle = texture ? 0.0f : u(13, -0.5f, 0.5f);
  const float freq = u(14, 2.0f, 4.0f);
  const float noise = u(15, 4.0f, 16.0f);
  const float ca = std::cos(angle), sa = std::sin(angle);
  const float gx = std::cos(grad_angle), gy = std::sin(grad_angle);
  for (int64_t y = 0; y < size; ++y)
    for (int64_t x = 0; x < size; ++x) {
      const float px = (float(x) + 0.5f - cx) / scale, py = (float(y) + 0.5f - cy) / scale;
      const float m = inside(kind, ca * px + sa * py, -sa * px + ca * py, freq);
      // Background position along the gradient direction, 0..1.
      const float t =
          std::clamp(0.5f + ((float(x) / s - 0.5f) * gx + (float(y) / s - 0.5f) * gy), 0.0f, 1.0f);
      for (int k = 0; k < 3; ++k) {
        const uint64_t draw = 16 + uint64_t((y * size + x) * 3 + k);
        const float bg = bg0[k] + (bg1[k] - bg0[k]) * t;
        const float v = bg + (fg[k] - bg) * m + noise * rng.normal(draw);
        out[(y * size + x) * 3 + k] = uint8_t(std::lround(std::clamp(v, 0.0f, 255.0f)));
      }
    }
}

}  // namespace

const std::vector<std::string>& synthetic_class_names() {
  static const std::vector<std::string> names = {"disc",
                                                 "square",
                                                 "triangle",
                                                 "ring",
                                                 "cross",
                                                 "horizontal_stripes",
                                                 "vertical_stripes",
                                                 "diagonal_stripes",
                                                 "checkerboard",
                                                 "dots"};
  return names;
}

ImageSet synthetic_dataset(int64_t n, uint64_t seed, int64_t size) {
  CF_CHECK(n >= 0 && size >= 8,
           "synthetic_dataset: n = " << n << ", size = " << size << "; need n >= 0 and size >= 8");
  ImageSet set;
  set.n = n;
  set.h = set.w = size;
  set.c = 3;
  set.classes = synthetic_class_names();
  set.pixels.resize(size_t(n * set.image_bytes()));
  set.labels.resize(size_t(n));
  kernels::parallel_for(n, 16, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      const int kind = int(i % 10);
      set.labels[size_t(i)] = kind;
      draw_image(set.image(i), size, kind, Rng(seed, stream_id("synthetic", uint64_t(i))));
    }
  });
  return set;
}

}  // namespace cf::data
