// Internal to the corruption generator (data/corruptions.h): the float image
// the corruptions work on, the image operations several of them share, and
// one function per corruption, grouped by family in corruptions_noise.cpp,
// corruptions_blur.cpp, corruptions_weather.cpp and corruptions_digital.cpp.
//
// Conventions follow make_cifar_c.py (Hendrycks & Dietterich 2019): an image
// is float RGB in [0, 1] (the script's `np.array(x) / 255.`), each corruption
// takes a severity 1..5 that picks a row of its parameter table, and its
// result is clipped to [0, 1] by the caller before conversion back to bytes.
#pragma once
#include <cstdint>
#include <vector>

#include "autograd/random.h"
#include "data/dataset.h"

namespace cf::data::corruption {

// H x W x C floats, HWC like the uint8 images.
struct FloatImage {
  int64_t h = 0, w = 0, c = 0;
  std::vector<float> v;

  FloatImage() = default;
  FloatImage(int64_t h_, int64_t w_, int64_t c_, float fill = 0.0f)
      : h(h_), w(w_), c(c_), v(size_t(h_ * w_ * c_), fill) {}
  float& at(int64_t y, int64_t x, int64_t k) { return v[size_t((y * w + x) * c + k)]; }
  float at(int64_t y, int64_t x, int64_t k) const { return v[size_t((y * w + x) * c + k)]; }
};

FloatImage to_float(const Image& image);  // bytes / 255
Image to_bytes(const FloatImage& image);  // clip to [0, 1], * 255, truncate
void clip01(FloatImage& image);

// A stream of random numbers for one image: draw after draw of one Rng.
class Draws {
 public:
  explicit Draws(const Rng& rng) : rng_(rng) {}
  float uniform() { return rng_.uniform(next_++); }  // [0, 1)
  float uniform(float lo, float hi) { return lo + (hi - lo) * uniform(); }
  float normal() { return rng_.normal(next_++); }
  int64_t below(int64_t n) { return int64_t(rng_.bits(next_++) % uint64_t(n)); }  // [0, n)

 private:
  Rng rng_;
  uint64_t next_ = 0;
};

// How a filter reads outside the image, in the names of the libraries the
// original script calls.
enum class Border {
  reflect101,  // OpenCV's default: gfedcb|abcdefgh|gfedcba
  reflect,     // scipy/skimage 'reflect': dcba|abcd|dcba
  nearest,     // aaaa|abcd|dddd (skimage.filters.gaussian's default)
};
int64_t border_index(int64_t i, int64_t n, Border border);

// Separable Gaussian blur of every channel; taps -radius..radius. scipy's
// radius is int(truncate * sigma + 0.5) (truncate 4 by default); OpenCV's
// GaussianBlur with ksize k uses radius (k - 1) / 2. sigma <= 0: no-op.
void gaussian_filter(FloatImage& image, float sigma, int64_t radius, Border border);
int64_t scipy_radius(float sigma, float truncate = 4.0f);

// 2-D correlation of every channel with a (2r+1) x (2r+1) kernel, row-major
// (cv2.filter2D). Zero taps are skipped.
FloatImage filter2d(const FloatImage& image, const std::vector<float>& kernel, int64_t r,
                    Border border);

// Bilinear sample of channel k at fractional (y, x).
float sample_bilinear(const FloatImage& image, float y, float x, int64_t k, Border border);

// Magnify about the image centre by `factor`, keeping the size (the script's
// clipped_zoom), with bilinear interpolation.
FloatImage zoom_center(const FloatImage& image, float factor);

// ImageMagick's -motion-blur radius x sigma at `angle_deg`: a one-sided
// Gaussian kernel along the direction, taps at whole-pixel offsets.
FloatImage motion_filter(const FloatImage& image, float radius, float sigma, float angle_deg);

// Diamond-square fractal noise in [0, 1], mapsize x mapsize (a power of two),
// as the script's plasma_fractal.
std::vector<float> plasma_fractal(int64_t mapsize, float wibbledecay, Draws& draws);

// skimage.color's rgb2hsv / hsv2rgb, in place on a 3-channel image.
void rgb_to_hsv(FloatImage& image);
void hsv_to_rgb(FloatImage& image);

// One function per corruption: severity is 1..5.
using CorruptionFn = void (*)(FloatImage& x, int severity, Draws& draws);

void gaussian_noise(FloatImage& x, int severity, Draws& draws);
void shot_noise(FloatImage& x, int severity, Draws& draws);
void impulse_noise(FloatImage& x, int severity, Draws& draws);
void speckle_noise(FloatImage& x, int severity, Draws& draws);

void defocus_blur(FloatImage& x, int severity, Draws& draws);
void glass_blur(FloatImage& x, int severity, Draws& draws);
void motion_blur(FloatImage& x, int severity, Draws& draws);
void zoom_blur(FloatImage& x, int severity, Draws& draws);
void gaussian_blur(FloatImage& x, int severity, Draws& draws);

void snow(FloatImage& x, int severity, Draws& draws);
void frost(FloatImage& x, int severity, Draws& draws);
void fog(FloatImage& x, int severity, Draws& draws);
void spatter(FloatImage& x, int severity, Draws& draws);

void brightness(FloatImage& x, int severity, Draws& draws);
void contrast(FloatImage& x, int severity, Draws& draws);
void elastic_transform(FloatImage& x, int severity, Draws& draws);
void pixelate(FloatImage& x, int severity, Draws& draws);
void jpeg_compression(FloatImage& x, int severity, Draws& draws);
void saturate(FloatImage& x, int severity, Draws& draws);

}  // namespace cf::data::corruption
