// Digital corruptions. Parameters are the CIFAR rows of make_cifar_c.py
// (Hendrycks & Dietterich 2019), severity 1..5 top to bottom.
#include <algorithm>
#include <cmath>

#include "data/corruption_ops.h"
#include "data/image_io.h"

namespace cf::data::corruption {
namespace {

// Adds `delta` to HSV channel `channel` after scaling it by `scale`, clipped
// to [0, 1] (skimage's rgb2hsv / hsv2rgb round trip, as the script).
void adjust_hsv(FloatImage& x, int channel, float scale, float delta) {
  rgb_to_hsv(x);
  for (size_t p = 0; p < x.v.size(); p += 3) {
    float& v = x.v[p + size_t(channel)];
    v = std::clamp(v * scale + delta, 0.0f, 1.0f);
  }
  hsv_to_rgb(x);
}

// Pillow's Image.resize(..., BOX) along one axis: output pixel i averages
// the input pixels whose centres fall in its footprint
// [(i + 0.5) s - max(s, 1) / 2, (i + 0.5) s + max(s, 1) / 2), s = n_in / n_out.
// Pillow works on 8-bit images, so each pass rounds to bytes.
FloatImage box_resize_axis(const FloatImage& x, int64_t n_out, bool rows) {
  const int64_t n_in = rows ? x.h : x.w;
  const double scale = double(n_in) / double(n_out), fs = std::max(scale, 1.0);
  FloatImage out(rows ? n_out : x.h, rows ? x.w : n_out, x.c);
  for (int64_t i = 0; i < n_out; ++i) {
    const double centre = (double(i) + 0.5) * scale;
    const int64_t lo = std::max<int64_t>(int64_t(centre - 0.5 * fs + 0.5), 0);
    const int64_t hi = std::min<int64_t>(int64_t(centre + 0.5 * fs + 0.5), n_in);
    std::vector<int64_t> taps;
    for (int64_t j = lo; j < hi; ++j) {
      const double t = (double(j) - centre + 0.5) / fs;  // Pillow's box: -0.5 < t <= 0.5
      if (t > -0.5 && t <= 0.5) taps.push_back(j);
    }
    const float wgt = 1.0f / float(std::max<size_t>(taps.size(), 1));
    const int64_t across = rows ? x.w : x.h;
    for (int64_t a = 0; a < across; ++a)
      for (int64_t k = 0; k < x.c; ++k) {
        float sum = 0.0f;
        for (int64_t j : taps) sum += rows ? x.at(j, a, k) : x.at(a, j, k);
        (rows ? out.at(i, a, k) : out.at(a, i, k)) = std::round(sum * wgt * 255.0f) / 255.0f;
      }
  }
  return out;
}

FloatImage box_resize(const FloatImage& x, int64_t h, int64_t w) {
  return box_resize_axis(box_resize_axis(x, w, false), h, true);
}

// The affine map sending each of the 3 points `from` to `to`
// (cv2.getAffineTransform): m[0..2] gives x', m[3..5] gives y'.
void affine_from_points(const float from[3][2], const float to[3][2], double m[6]) {
  // Solve [x y 1] (a b c)^T = target by Cramer's rule, once per output axis.
  auto det3 = [](double a, double b, double c, double d, double e, double f, double g, double h,
                 double i) {
    return a * (e * i - f * h) - b * (d * i - f * g) + c * (d * h - e * g);
  };
  const double x0 = from[0][0], y0 = from[0][1], x1 = from[1][0], y1 = from[1][1];
  const double x2 = from[2][0], y2 = from[2][1];
  const double d = det3(x0, y0, 1, x1, y1, 1, x2, y2, 1);
  for (int axis = 0; axis < 2; ++axis) {
    const double t0 = to[0][axis], t1 = to[1][axis], t2 = to[2][axis];
    m[axis * 3 + 0] = det3(t0, y0, 1, t1, y1, 1, t2, y2, 1) / d;
    m[axis * 3 + 1] = det3(x0, t0, 1, x1, t1, 1, x2, t2, 1) / d;
    m[axis * 3 + 2] = det3(x0, y0, t0, x1, y1, t1, x2, y2, t2) / d;
  }
}

}  // namespace

void brightness(FloatImage& x, int severity, Draws&) {
  constexpr float kC[5] = {0.05f, 0.1f, 0.15f, 0.2f, 0.3f};
  adjust_hsv(x, 2, 1.0f, kC[severity - 1]);
}

void saturate(FloatImage& x, int severity, Draws&) {
  struct Row {
    float scale, delta;
  };
  constexpr Row kC[5] = {{0.3f, 0.0f}, {0.1f, 0.0f}, {1.5f, 0.0f}, {2.0f, 0.1f}, {2.5f, 0.2f}};
  adjust_hsv(x, 1, kC[severity - 1].scale, kC[severity - 1].delta);
}

void contrast(FloatImage& x, int severity, Draws&) {
  // Pull each channel towards its mean over the image.
  constexpr float kC[5] = {0.75f, 0.5f, 0.4f, 0.3f, 0.15f};
  const float c = kC[severity - 1];
  for (int64_t k = 0; k < x.c; ++k) {
    double sum = 0.0;
    for (int64_t p = 0; p < x.h * x.w; ++p) sum += x.v[size_t(p * x.c + k)];
    const float mean = float(sum / double(x.h * x.w));
    for (int64_t p = 0; p < x.h * x.w; ++p) {
      float& v = x.v[size_t(p * x.c + k)];
      v = (v - mean) * c + mean;
    }
  }
}

void pixelate(FloatImage& x, int severity, Draws&) {
  // Box-downscale to int(side c), box-upscale back.
  constexpr float kC[5] = {0.95f, 0.9f, 0.85f, 0.75f, 0.65f};
  const float c = kC[severity - 1];
  const int64_t h = x.h, w = x.w;
  x = box_resize(box_resize(x, int64_t(float(h) * c), int64_t(float(w) * c)), h, w);
}

void jpeg_compression(FloatImage& x, int severity, Draws&) {
  // PIL's JPEG encoder in the script; stb_image_write here (baseline, 4:2:0
  // chroma, the IJG quality scaling of the quantisation tables, as libjpeg).
  constexpr int kQuality[5] = {80, 65, 58, 50, 40};
  const Image bytes = to_bytes(x);
  const std::vector<uint8_t> jpeg =
      encode_jpeg(bytes.pixels.data(), bytes.h, bytes.w, bytes.c, kQuality[severity - 1]);
  x = to_float(decode_image_memory(jpeg.data(), jpeg.size(), "jpeg_compression"));
}

void elastic_transform(FloatImage& x, int severity, Draws& draws) {
  // A random affine warp (corners of a centred square moved by up to
  // `affine` pixels), then a smooth random displacement field: uniform noise
  // blurred by sigma (truncate 3), scaled by alpha. The script writes the
  // rows as fractions of IMSIZE = 32.
  struct Row {
    float alpha, sigma, affine;
  };
  constexpr float S = 32.0f;
  constexpr Row kC[5] = {{S * 0.0f, S * 0.0f, S * 0.08f},
                         {S * 0.05f, S * 0.2f, S * 0.07f},
                         {S * 0.08f, S * 0.06f, S * 0.06f},
                         {S * 0.1f, S * 0.04f, S * 0.05f},
                         {S * 0.1f, S * 0.03f, S * 0.03f}};
  const Row c = kC[severity - 1];
  const float cx = float(x.w / 2), cy = float(x.h / 2), sq = float(std::min(x.h, x.w) / 3);
  const float from[3][2] = {{cx + sq, cy + sq}, {cx + sq, cy - sq}, {cx - sq, cy - sq}};
  float to[3][2];
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 2; ++j) to[i][j] = from[i][j] + draws.uniform(-c.affine, c.affine);
  // cv2.warpAffine samples the source at the inverse map of each pixel.
  double inv[6];
  affine_from_points(to, from, inv);
  FloatImage warped(x.h, x.w, x.c);
  for (int64_t y = 0; y < x.h; ++y)
    for (int64_t px = 0; px < x.w; ++px) {
      const float sx = float(inv[0] * double(px) + inv[1] * double(y) + inv[2]);
      const float sy = float(inv[3] * double(px) + inv[4] * double(y) + inv[5]);
      for (int64_t k = 0; k < x.c; ++k)
        warped.at(y, px, k) = sample_bilinear(x, sy, sx, k, Border::reflect101);
    }
  FloatImage dx(x.h, x.w, 1), dy(x.h, x.w, 1);
  for (FloatImage* field : {&dx, &dy}) {
    for (float& v : field->v) v = draws.uniform(-1.0f, 1.0f);
    gaussian_filter(*field, c.sigma, scipy_radius(c.sigma, 3.0f), Border::reflect);
    for (float& v : field->v) v *= c.alpha;
  }
  for (int64_t y = 0; y < x.h; ++y)
    for (int64_t px = 0; px < x.w; ++px)
      for (int64_t k = 0; k < x.c; ++k)
        x.at(y, px, k) = sample_bilinear(warped, float(y) + dy.at(y, px, 0),
                                         float(px) + dx.at(y, px, 0), k, Border::reflect);
}

}  // namespace cf::data::corruption
