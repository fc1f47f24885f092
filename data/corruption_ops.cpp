#include "data/corruption_ops.h"

#include <algorithm>
#include <cmath>

namespace cf::data::corruption {

FloatImage to_float(const Image& image) {
  FloatImage f(image.h, image.w, image.c);
  for (size_t i = 0; i < f.v.size(); ++i) f.v[i] = float(image.pixels[i]) / 255.0f;
  return f;
}

Image to_bytes(const FloatImage& image) {
  Image out;
  out.h = image.h;
  out.w = image.w;
  out.c = image.c;
  out.pixels.resize(image.v.size());
  // np.uint8(x * 255) truncates, as the script does; the 1e-3 keeps a value
  // that was exactly a byte (k / 255 * 255) from dropping to k - 1.
  for (size_t i = 0; i < image.v.size(); ++i)
    out.pixels[i] = uint8_t(std::floor(std::clamp(image.v[i], 0.0f, 1.0f) * 255.0f + 1e-3f));
  return out;
}

void clip01(FloatImage& image) {
  for (float& v : image.v) v = std::clamp(v, 0.0f, 1.0f);
}

int64_t border_index(int64_t i, int64_t n, Border border) {
  if (n == 1) return 0;
  while (i < 0 || i >= n) {
    switch (border) {
      case Border::reflect101:
        i = i < 0 ? -i : 2 * n - 2 - i;
        break;
      case Border::reflect:
        i = i < 0 ? -i - 1 : 2 * n - 1 - i;
        break;
      case Border::nearest:
        i = std::clamp<int64_t>(i, 0, n - 1);
        break;
    }
  }
  return i;
}

int64_t scipy_radius(float sigma, float truncate) { return int64_t(truncate * sigma + 0.5f); }

void gaussian_filter(FloatImage& image, float sigma, int64_t radius, Border border) {
  if (sigma <= 0.0f || radius <= 0) return;
  std::vector<float> taps(size_t(2 * radius + 1));
  float sum = 0.0f;
  for (int64_t i = -radius; i <= radius; ++i)
    sum += taps[size_t(i + radius)] = std::exp(-float(i * i) / (2.0f * sigma * sigma));
  for (float& t : taps) t /= sum;
  // Rows, then columns: two 1-D passes equal the 2-D Gaussian.
  for (int pass = 0; pass < 2; ++pass) {
    FloatImage out(image.h, image.w, image.c);
    for (int64_t y = 0; y < image.h; ++y)
      for (int64_t x = 0; x < image.w; ++x)
        for (int64_t k = 0; k < image.c; ++k) {
          float acc = 0.0f;
          for (int64_t i = -radius; i <= radius; ++i) {
            const float t = taps[size_t(i + radius)];
            acc += pass == 0 ? t * image.at(y, border_index(x + i, image.w, border), k)
                             : t * image.at(border_index(y + i, image.h, border), x, k);
          }
          out.at(y, x, k) = acc;
        }
    image = std::move(out);
  }
}

FloatImage filter2d(const FloatImage& image, const std::vector<float>& kernel, int64_t r,
                    Border border) {
  struct Tap {
    int64_t dy, dx;
    float weight;
  };
  std::vector<Tap> taps;
  for (int64_t dy = -r; dy <= r; ++dy)
    for (int64_t dx = -r; dx <= r; ++dx)
      if (const float wgt = kernel[size_t((dy + r) * (2 * r + 1) + dx + r)]; wgt != 0.0f)
        taps.push_back({dy, dx, wgt});
  FloatImage out(image.h, image.w, image.c);
  for (int64_t y = 0; y < image.h; ++y)
    for (int64_t x = 0; x < image.w; ++x)
      for (const Tap& t : taps) {
        const int64_t sy = border_index(y + t.dy, image.h, border);
        const int64_t sx = border_index(x + t.dx, image.w, border);
        for (int64_t k = 0; k < image.c; ++k) out.at(y, x, k) += t.weight * image.at(sy, sx, k);
      }
  return out;
}

float sample_bilinear(const FloatImage& image, float y, float x, int64_t k, Border border) {
  const float fy = std::floor(y), fx = std::floor(x);
  const int64_t y0 = int64_t(fy), x0 = int64_t(fx);
  const float ay = y - fy, ax = x - fx;
  auto px = [&](int64_t yy, int64_t xx) {
    return image.at(border_index(yy, image.h, border), border_index(xx, image.w, border), k);
  };
  const float top = px(y0, x0) + (px(y0, x0 + 1) - px(y0, x0)) * ax;
  const float bottom = px(y0 + 1, x0) + (px(y0 + 1, x0 + 1) - px(y0 + 1, x0)) * ax;
  return top + (bottom - top) * ay;
}

FloatImage zoom_center(const FloatImage& image, float factor) {
  FloatImage out(image.h, image.w, image.c);
  const float cy = 0.5f * float(image.h - 1), cx = 0.5f * float(image.w - 1);
  for (int64_t y = 0; y < image.h; ++y)
    for (int64_t x = 0; x < image.w; ++x)
      for (int64_t k = 0; k < image.c; ++k)
        out.at(y, x, k) = sample_bilinear(image, cy + (float(y) - cy) / factor,
                                          cx + (float(x) - cx) / factor, k, Border::nearest);
  return out;
}

FloatImage motion_filter(const FloatImage& image, float radius, float sigma, float angle_deg) {
  // ImageMagick (MotionBlurImage): width 2 ceil(radius) + 1, weights
  // exp(-i^2 / 2 sigma^2) for i = 0..width-1, offsets rounded to whole
  // pixels along the angle, edge pixels repeated beyond the border.
  const int64_t width = 2 * int64_t(std::ceil(radius)) + 1;
  const double a = double(angle_deg) * 3.14159265358979323846 / 180.0;
  std::vector<float> weight(static_cast<size_t>(width));
  std::vector<int64_t> oy(static_cast<size_t>(width)), ox(static_cast<size_t>(width));
  float sum = 0.0f;
  for (int64_t i = 0; i < width; ++i) {
    sum += weight[size_t(i)] = std::exp(-float(i * i) / (2.0f * sigma * sigma));
    ox[size_t(i)] = int64_t(std::ceil(double(i) * std::cos(a) - 0.5));
    oy[size_t(i)] = int64_t(std::ceil(double(i) * std::sin(a) - 0.5));
  }
  FloatImage out(image.h, image.w, image.c);
  for (int64_t y = 0; y < image.h; ++y)
    for (int64_t x = 0; x < image.w; ++x)
      for (int64_t i = 0; i < width; ++i) {
        const int64_t sy = border_index(y + oy[size_t(i)], image.h, Border::nearest);
        const int64_t sx = border_index(x + ox[size_t(i)], image.w, Border::nearest);
        for (int64_t k = 0; k < image.c; ++k)
          out.at(y, x, k) += weight[size_t(i)] / sum * image.at(sy, sx, k);
      }
  return out;
}

std::vector<float> plasma_fractal(int64_t mapsize, float wibbledecay, Draws& draws) {
  // The script's diamond-square algorithm, np.roll's wrap-around included.
  const int64_t n = mapsize;
  std::vector<double> map(size_t(n * n), 0.0);
  auto at = [&](int64_t y, int64_t x) -> double& {
    return map[size_t(((y % n + n) % n) * n + (x % n + n) % n)];
  };
  double wibble = 100.0;
  auto wibbled_mean = [&](double sum4) {
    return sum4 / 4.0 + wibble * double(draws.uniform(-float(wibble), float(wibble)));
  };
  for (int64_t step = n; step >= 2; step /= 2) {
    const int64_t half = step / 2;
    // Squares: each centre gets the mean of its 4 corners plus noise.
    for (int64_t y = 0; y < n; y += step)
      for (int64_t x = 0; x < n; x += step)
        at(y + half, x + half) =
            wibbled_mean(at(y, x) + at(y + step, x) + at(y, x + step) + at(y + step, x + step));
    // Diamonds: each edge midpoint gets the mean of its 4 neighbours.
    for (int64_t y = 0; y < n; y += step)
      for (int64_t x = 0; x < n; x += step)
        at(y, x + half) = wibbled_mean(at(y + half, x + half) + at(y - half, x + half) + at(y, x) +
                                       at(y, x + step));
    for (int64_t y = 0; y < n; y += step)
      for (int64_t x = 0; x < n; x += step)
        at(y + half, x) = wibbled_mean(at(y + half, x + half) + at(y + half, x - half) + at(y, x) +
                                       at(y + step, x));
    wibble /= double(wibbledecay);
  }
  const auto [lo, hi] = std::minmax_element(map.begin(), map.end());
  const double min = *lo, range = *hi - *lo;
  std::vector<float> out(map.size());
  for (size_t i = 0; i < map.size(); ++i) out[i] = range > 0 ? float((map[i] - min) / range) : 0.0f;
  return out;
}

void rgb_to_hsv(FloatImage& image) {
  for (size_t p = 0; p < image.v.size(); p += 3) {
    const float r = image.v[p], g = image.v[p + 1], b = image.v[p + 2];
    const float v = std::max({r, g, b}), delta = v - std::min({r, g, b});
    float h = 0.0f;
    if (delta > 0.0f) {
      if (r == v)
        h = (g - b) / delta;
      else if (g == v)
        h = 2.0f + (b - r) / delta;
      else
        h = 4.0f + (r - g) / delta;
      h = h / 6.0f - std::floor(h / 6.0f);  // (h / 6) mod 1
    }
    image.v[p] = h;
    image.v[p + 1] = v > 0.0f ? delta / v : 0.0f;
    image.v[p + 2] = v;
  }
}

void hsv_to_rgb(FloatImage& image) {
  for (size_t p = 0; p < image.v.size(); p += 3) {
    const float h = image.v[p], s = image.v[p + 1], v = image.v[p + 2];
    const float sector = std::floor(h * 6.0f), f = h * 6.0f - sector;
    const float pp = v * (1 - s), q = v * (1 - f * s), t = v * (1 - (1 - f) * s);
    const float rgb[6][3] = {{v, t, pp}, {q, v, pp}, {pp, v, t},
                             {pp, q, v}, {t, pp, v}, {v, pp, q}};
    const int i = ((int(sector) % 6) + 6) % 6;
    for (int k = 0; k < 3; ++k) image.v[p + size_t(k)] = rgb[i][k];
  }
}

}  // namespace cf::data::corruption
