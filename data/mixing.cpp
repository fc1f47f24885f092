#include "data/mixing.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "autograd/error.h"
#include "autograd/random.h"

namespace cf::data {
namespace {

// log of a Gamma(a, 1) draw, by Marsaglia & Tsang (2000), using draws `base`,
// `base + 1`, ... of `rng`; for a < 1 via Gamma(a + 1) U^(1/a). In logs
// because U^(1/a) underflows to 0 for a below about 0.005, and two zero
// draws would make the Beta draw 0/0.
double log_gamma_draw(double a, const Rng& rng, uint64_t base) {
  double log_boost = 0.0;
  if (a < 1.0) {
    log_boost = std::log(std::max(double(rng.uniform(base)), 1e-12)) / a;
    a += 1.0;
  }
  const double d = a - 1.0 / 3.0, c = 1.0 / std::sqrt(9.0 * d);
  for (uint64_t k = base + 1;; k += 2) {
    const double z = rng.normal(k);
    const double v = std::pow(1.0 + c * z, 3.0);
    if (v <= 0.0) continue;
    const double u = std::max(double(rng.uniform(k + 1)), 1e-12);
    if (std::log(u) < 0.5 * z * z + d - d * v + d * std::log(v)) return std::log(d * v) + log_boost;
  }
}

struct Pairing {
  float lambda;
  std::vector<int64_t> partner;
};

// lambda and a Fisher-Yates permutation of the batch, from (seed, step).
Pairing draw_pairing(const char* purpose, int64_t batch, float alpha, uint64_t seed, int64_t step) {
  CF_CHECK(alpha > 0.0f, purpose << ": alpha = " << alpha << " must be positive");
  Pairing p;
  p.lambda = sample_beta(alpha, seed, stream_id(purpose, uint64_t(step)));
  p.partner.resize(size_t(batch));
  std::iota(p.partner.begin(), p.partner.end(), 0);
  const Rng rng(seed, stream_id((std::string(purpose) + "/partner").c_str(), uint64_t(step)));
  for (int64_t i = batch - 1; i > 0; --i)
    std::swap(p.partner[size_t(i)], p.partner[size_t(rng.bits(uint64_t(i)) % uint64_t(i + 1))]);
  return p;
}

void check_batch(const char* purpose, const Tensor& images, const std::vector<int64_t>& labels) {
  CF_CHECK(images.defined() && images.dim() == 4 && images.size(0) == int64_t(labels.size()),
           purpose << ": expected images [B, C, H, W] and B labels, got "
                   << (images.defined() ? shape_str(images.shape()) : "undefined") << " and "
                   << labels.size() << " labels");
}

MixedBatch start(const Tensor& images, const std::vector<int64_t>& labels, const Pairing& p) {
  MixedBatch m;
  m.images = images.detach().clone();
  m.labels_a = labels;
  for (int64_t partner : p.partner) m.labels_b.push_back(labels[size_t(partner)]);
  m.lambda = p.lambda;
  return m;
}

}  // namespace

float sample_beta(float alpha, uint64_t seed, uint64_t stream) {
  const Rng rng(seed, stream);
  // Two independent gammas from disjoint draw ranges: x / (x + y) from their logs.
  const double log_x = log_gamma_draw(alpha, rng, 0),
               log_y = log_gamma_draw(alpha, rng, uint64_t(1) << 32);
  return float(1.0 / (1.0 + std::exp(log_y - log_x)));
}

MixedBatch mixup(const Tensor& images, const std::vector<int64_t>& labels, float alpha,
                 uint64_t seed, int64_t step) {
  check_batch("mixup", images, labels);
  const Pairing p = draw_pairing("mixup", images.size(0), alpha, seed, step);
  MixedBatch m = start(images, labels, p);
  const int64_t per_image = images.numel() / std::max<int64_t>(1, images.size(0));
  const float* src = images.data();
  float* dst = m.images.data();
  for (int64_t i = 0; i < images.size(0); ++i) {
    const float* a = src + i * per_image;
    const float* b = src + p.partner[size_t(i)] * per_image;
    for (int64_t j = 0; j < per_image; ++j)
      dst[i * per_image + j] = p.lambda * a[j] + (1.0f - p.lambda) * b[j];
  }
  return m;
}

MixedBatch cutmix(const Tensor& images, const std::vector<int64_t>& labels, float alpha,
                  uint64_t seed, int64_t step) {
  check_batch("cutmix", images, labels);
  const Pairing p = draw_pairing("cutmix", images.size(0), alpha, seed, step);
  MixedBatch m = start(images, labels, p);
  const int64_t C = images.size(1), H = images.size(2), W = images.size(3);
  // A box of side sqrt(1 - lambda) times the image's, centred uniformly,
  // clipped at the borders (the paper's recipe).
  const Rng rng(seed, stream_id("cutmix/box", uint64_t(step)));
  const double r = std::sqrt(1.0 - double(p.lambda));
  const int64_t bh = int64_t(double(H) * r), bw = int64_t(double(W) * r);
  const int64_t cy = int64_t(rng.bits(0) % uint64_t(H)), cx = int64_t(rng.bits(1) % uint64_t(W));
  const int64_t y0 = std::max<int64_t>(0, cy - bh / 2), y1 = std::min(H, cy + bh / 2);
  const int64_t x0 = std::max<int64_t>(0, cx - bw / 2), x1 = std::min(W, cx + bw / 2);
  const float* src = images.data();
  float* dst = m.images.data();
  for (int64_t i = 0; i < images.size(0); ++i)
    for (int64_t k = 0; k < C; ++k)
      for (int64_t y = y0; y < y1; ++y)
        for (int64_t x = x0; x < x1; ++x) {
          const int64_t at = ((k * H) + y) * W + x;
          dst[i * C * H * W + at] = src[p.partner[size_t(i)] * C * H * W + at];
        }
  m.lambda = 1.0f - float(double((y1 - y0) * (x1 - x0)) / double(H * W));
  return m;
}

}  // namespace cf::data
