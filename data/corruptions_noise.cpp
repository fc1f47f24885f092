// Noise corruptions. Parameters are the CIFAR rows of make_cifar_c.py
// (Hendrycks & Dietterich 2019, github.com/hendrycks/robustness,
// ImageNet-C/create_c/make_cifar_c.py), severity 1..5 left to right.
#include <cmath>

#include "data/corruption_ops.h"

namespace cf::data::corruption {
namespace {

// Poisson(lambda) from the image's draws. Inversion for small lambda; for
// large lambda the PTRS transformed-rejection method (Hoermann 1993), the
// one NumPy uses, so the cost does not grow with lambda (up to 500 here).
int64_t poisson(double lambda, Draws& draws) {
  if (lambda <= 0.0) return 0;
  if (lambda < 10.0) {
    const double u = draws.uniform();
    double p = std::exp(-lambda), cdf = p;
    int64_t k = 0;
    while (u > cdf && k < 1000) {
      ++k;
      p *= lambda / double(k);
      cdf += p;
    }
    return k;
  }
  const double slam = std::sqrt(lambda), loglam = std::log(lambda);
  const double b = 0.931 + 2.53 * slam, a = -0.059 + 0.02483 * b;
  const double inv_alpha = 1.1239 + 1.1328 / (b - 3.4), vr = 0.9277 - 3.6224 / (b - 2.0);
  for (;;) {
    const double u = double(draws.uniform()) - 0.5, v = double(draws.uniform());
    const double us = 0.5 - std::fabs(u);
    const double k = std::floor((2.0 * a / us + b) * u + lambda + 0.43);
    if (us >= 0.07 && v <= vr) return int64_t(k);
    if (k < 0.0 || (us < 0.013 && v > us)) continue;
    if (std::log(v) + std::log(inv_alpha) - std::log(a / (us * us) + b) <=
        -lambda + k * loglam - std::lgamma(k + 1.0))
      return int64_t(k);
  }
}

}  // namespace

void gaussian_noise(FloatImage& x, int severity, Draws& draws) {
  constexpr float kC[5] = {0.04f, 0.06f, 0.08f, 0.09f, 0.10f};
  const float c = kC[severity - 1];
  for (float& v : x.v) v += c * draws.normal();
}

void shot_noise(FloatImage& x, int severity, Draws& draws) {
  // Photon counts: Poisson(x c) / c; fewer photons (smaller c) is noisier.
  constexpr double kC[5] = {500, 250, 100, 75, 50};
  const double c = kC[severity - 1];
  for (float& v : x.v) v = float(double(poisson(double(v) * c, draws)) / c);
}

void impulse_noise(FloatImage& x, int severity, Draws& draws) {
  // skimage.util.random_noise(mode='s&p', amount=c): each value becomes 0 or
  // 1 (equally likely) with probability c.
  constexpr float kC[5] = {0.01f, 0.02f, 0.03f, 0.05f, 0.07f};
  const float c = kC[severity - 1];
  for (float& v : x.v) {
    const bool hit = draws.uniform() < c;
    const bool salt = draws.uniform() < 0.5f;
    if (hit) v = salt ? 1.0f : 0.0f;
  }
}

void speckle_noise(FloatImage& x, int severity, Draws& draws) {
  constexpr float kC[5] = {0.06f, 0.1f, 0.12f, 0.16f, 0.2f};
  const float c = kC[severity - 1];
  for (float& v : x.v) v += v * c * draws.normal();
}

}  // namespace cf::data::corruption
