// Weather corruptions. Parameters are the CIFAR rows of make_cifar_c.py
// (Hendrycks & Dietterich 2019), severity 1..5 top to bottom. Two parts of
// the original need assets or libraries not available here and are replaced
// by procedural stand-ins, documented in docs/DATA.md: frost's photographs of
// frost (frost_texture below) and the Canny / distance-transform shading of
// spatter's water drops (water_shading below).
#include <algorithm>
#include <cmath>

#include "data/corruption_ops.h"

namespace cf::data::corruption {
namespace {

int64_t next_pow2(int64_t n) {
  int64_t p = 1;
  while (p < n) p *= 2;
  return p;
}

// The top-left h x w of a plasma fractal at least that large.
FloatImage plasma_layer(int64_t h, int64_t w, float wibbledecay, Draws& draws) {
  const int64_t n = next_pow2(std::max(h, w));
  const std::vector<float> map = plasma_fractal(n, wibbledecay, draws);
  FloatImage layer(h, w, 1);
  for (int64_t y = 0; y < h; ++y)
    for (int64_t x = 0; x < w; ++x) layer.at(y, x, 0) = map[size_t(y * n + x)];
  return layer;
}

// Stand-in for a random 32x32 crop of one of the script's six frost photos
// (resized by 0.2): a faint cloudy veil (plasma fractal) crossed by bright,
// thin ice needles with side branches at +-60 degrees, tinted pale blue.
FloatImage frost_texture(int64_t h, int64_t w, Draws& draws) {
  FloatImage ice = plasma_layer(h, w, 2.0f, draws);
  for (float& v : ice.v) v = 0.25f + 0.35f * v;
  // Draws a line of brightness fading from `bright` to bright / 2.
  auto needle = [&](float y, float x, float angle, float length, float bright) {
    for (float s = 0.0f; s <= length; s += 0.5f) {
      const int64_t py = int64_t(std::floor(y + s * std::sin(angle)));
      const int64_t px = int64_t(std::floor(x + s * std::cos(angle)));
      if (py < 0 || py >= h || px < 0 || px >= w) return;
      float& v = ice.at(py, px, 0);
      v = std::max(v, bright * (1.0f - 0.5f * s / length));
    }
  };
  const int64_t count = h * w / 24;
  for (int64_t i = 0; i < count; ++i) {
    const float y = draws.uniform(0, float(h)), x = draws.uniform(0, float(w));
    const float angle = draws.uniform(0, 6.2831853f), length = draws.uniform(3, 10);
    const float bright = draws.uniform(0.5f, 1.0f);
    needle(y, x, angle, length, bright);
    const float my = y + 0.5f * length * std::sin(angle), mx = x + 0.5f * length * std::cos(angle);
    needle(my, mx, angle + 1.0472f, 0.4f * length, 0.8f * bright);
    needle(my, mx, angle - 1.0472f, 0.4f * length, 0.8f * bright);
  }
  constexpr float kTint[3] = {0.82f, 0.9f, 1.0f};
  FloatImage frost(h, w, 3);
  for (int64_t y = 0; y < h; ++y)
    for (int64_t x = 0; x < w; ++x)
      for (int64_t k = 0; k < 3; ++k) frost.at(y, x, k) = kTint[k] * ice.at(y, x, 0);
  return frost;
}

// Stand-in for the script's water-drop shading (Canny edges -> distance
// transform -> histogram equalisation -> emboss -> blur): the same emboss
// kernel applied directly to the smooth liquid layer gives each drop a lit
// and a shaded side; negative light is dropped and a 3x3 box blur smooths it.
FloatImage water_shading(const FloatImage& liquid) {
  const std::vector<float> emboss = {-2, -1, 0, -1, 1, 1, 0, 1, 2};
  FloatImage shade = filter2d(liquid, emboss, 1, Border::reflect101);
  for (float& v : shade.v) v = std::max(v, 0.0f);
  return filter2d(shade, std::vector<float>(9, 1.0f / 9.0f), 1, Border::reflect101);
}

}  // namespace

void snow(FloatImage& x, int severity, Draws& draws) {
  // A layer of Gaussian flakes, zoomed, thresholded, streaked by motion blur
  // (ImageMagick in the script; motion_filter here), added twice (also
  // rotated by 180 degrees) to an image whitened towards its grey level.
  struct Row {
    float loc, scale, zoom, threshold, blur_radius, blur_sigma, blend;
  };
  constexpr Row kC[5] = {{0.1f, 0.2f, 1.0f, 0.6f, 8, 3, 0.95f},
                         {0.1f, 0.2f, 1.0f, 0.5f, 10, 4, 0.9f},
                         {0.15f, 0.3f, 1.75f, 0.55f, 10, 4, 0.9f},
                         {0.25f, 0.3f, 2.25f, 0.6f, 12, 6, 0.85f},
                         {0.3f, 0.3f, 1.25f, 0.65f, 14, 12, 0.8f}};
  const Row c = kC[severity - 1];
  FloatImage flakes(x.h, x.w, 1);
  for (float& v : flakes.v) v = c.loc + c.scale * draws.normal();
  flakes = zoom_center(flakes, c.zoom);
  // Below threshold: no snow. The layer goes through an 8-bit image.
  for (float& v : flakes.v)
    v = v < c.threshold ? 0.0f : std::floor(std::clamp(v, 0.0f, 1.0f) * 255.0f) / 255.0f;
  flakes = motion_filter(flakes, c.blur_radius, c.blur_sigma, draws.uniform(-135.0f, -45.0f));
  for (int64_t y = 0; y < x.h; ++y)
    for (int64_t px = 0; px < x.w; ++px) {
      const float grey =
          0.299f * x.at(y, px, 0) + 0.587f * x.at(y, px, 1) + 0.114f * x.at(y, px, 2);
      const float s = flakes.at(y, px, 0) + flakes.at(x.h - 1 - y, x.w - 1 - px, 0);
      for (int64_t k = 0; k < x.c; ++k) {
        float& v = x.at(y, px, k);
        v = c.blend * v + (1.0f - c.blend) * std::max(v, grey * 1.5f + 0.5f) + s;
      }
    }
}

void frost(FloatImage& x, int severity, Draws& draws) {
  struct Row {
    float image, frost;
  };
  constexpr Row kC[5] = {{1.0f, 0.2f}, {1.0f, 0.3f}, {0.9f, 0.4f}, {0.85f, 0.4f}, {0.75f, 0.45f}};
  const Row c = kC[severity - 1];
  const FloatImage ice = frost_texture(x.h, x.w, draws);
  for (size_t i = 0; i < x.v.size(); ++i) x.v[i] = c.image * x.v[i] + c.frost * ice.v[i];
}

void fog(FloatImage& x, int severity, Draws& draws) {
  // Plasma-fractal haze added, then rescaled to keep the image's maximum.
  struct Row {
    float amount, wibbledecay;
  };
  constexpr Row kC[5] = {{0.2f, 3.0f}, {0.5f, 3.0f}, {0.75f, 2.5f}, {1.0f, 2.0f}, {1.5f, 1.75f}};
  const Row c = kC[severity - 1];
  const float max_val = *std::max_element(x.v.begin(), x.v.end());
  const FloatImage haze = plasma_layer(x.h, x.w, c.wibbledecay, draws);
  for (int64_t y = 0; y < x.h; ++y)
    for (int64_t px = 0; px < x.w; ++px)
      for (int64_t k = 0; k < x.c; ++k) {
        float& v = x.at(y, px, k);
        v = (v + c.amount * haze.at(y, px, 0)) * max_val / (max_val + c.amount);
      }
}

void spatter(FloatImage& x, int severity, Draws& draws) {
  // A smoothed Gaussian "liquid" layer, thresholded into drops: pale
  // turquoise water (severities 1-3) or opaque brown mud (4-5).
  struct Row {
    float loc, scale, sigma, threshold;
    float spread;  // water: peak opacity of the drops; mud: blur sigma of the drop mask
    bool mud;
  };
  constexpr Row kC[5] = {{0.62f, 0.1f, 0.7f, 0.7f, 0.5f, false},
                         {0.65f, 0.1f, 0.8f, 0.7f, 0.5f, false},
                         {0.65f, 0.3f, 1.0f, 0.69f, 0.5f, false},
                         {0.65f, 0.1f, 0.7f, 0.69f, 0.6f, true},
                         {0.65f, 0.1f, 0.5f, 0.68f, 0.6f, true}};
  const Row c = kC[severity - 1];
  FloatImage liquid(x.h, x.w, 1);
  for (float& v : liquid.v) v = c.loc + c.scale * draws.normal();
  gaussian_filter(liquid, c.sigma, scipy_radius(c.sigma), Border::nearest);
  for (float& v : liquid.v)
    if (v < c.threshold) v = 0.0f;

  FloatImage mask(x.h, x.w, 1);
  if (!c.mud) {
    const FloatImage shade = water_shading(liquid);
    for (size_t i = 0; i < mask.v.size(); ++i) mask.v[i] = liquid.v[i] * shade.v[i];
    const float peak = *std::max_element(mask.v.begin(), mask.v.end());
    for (float& v : mask.v) v = peak > 0.0f ? v / peak * c.spread : 0.0f;
    constexpr float kWater[3] = {175 / 255.0f, 238 / 255.0f, 238 / 255.0f};
    for (int64_t p = 0; p < x.h * x.w; ++p)
      for (int64_t k = 0; k < 3; ++k) x.v[size_t(p * 3 + k)] += mask.v[size_t(p)] * kWater[k];
    return;
  }
  // Mud: the drop mask, blurred; only its solid core (>= 0.8) covers.
  for (size_t i = 0; i < mask.v.size(); ++i) mask.v[i] = liquid.v[i] > c.threshold ? 1.0f : 0.0f;
  gaussian_filter(mask, c.spread, scipy_radius(c.spread), Border::nearest);
  constexpr float kMud[3] = {63 / 255.0f, 42 / 255.0f, 20 / 255.0f};
  for (int64_t p = 0; p < x.h * x.w; ++p) {
    const float m = mask.v[size_t(p)] < 0.8f ? 0.0f : mask.v[size_t(p)];
    for (int64_t k = 0; k < 3; ++k) {
      float& v = x.v[size_t(p * 3 + k)];
      v = v * (1.0f - m) + kMud[k] * m;
    }
  }
}

}  // namespace cf::data::corruption
