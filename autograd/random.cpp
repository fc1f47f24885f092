#include "autograd/random.h"

#include <cmath>

namespace cf {

uint64_t mix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

Rng::Rng(uint64_t seed, uint64_t stream)
    : key_(mix64(mix64(seed) ^ (stream * 0xD6E8FEB86659FD93ull))) {}

uint64_t Rng::bits(uint64_t index, uint64_t attempt) const {
  return mix64(key_ ^ mix64(index * 0x9E3779B97F4A7C15ull + attempt));
}

float Rng::uniform(uint64_t index) const {
  return float(bits(index) >> 40) * (1.0f / 16777216.0f);
}

// Marsaglia's polar method: (u, v) uniform in the unit disc, s = u^2 + v^2,
// z = u sqrt(-2 ln s / s). Only log and sqrt are needed, and both are exact
// functions of their inputs here (portable_log; sqrt is correctly rounded).
float Rng::normal(uint64_t index) const {
  for (uint64_t attempt = 0;; ++attempt) {
    uint64_t b = bits(index, attempt);
    double u = double(b >> 40) * (2.0 / 16777216.0) - 1.0;
    double v = double((b >> 16) & 0xFFFFFF) * (2.0 / 16777216.0) - 1.0;
    double s = u * u + v * v;
    if (s > 0.0 && s < 1.0) return float(u * std::sqrt(-2.0 * portable_log(s) / s));
  }
}

float Rng::truncated_normal(uint64_t index, float bound) const {
  // Each retry uses a fresh index in a disjoint range: 2^32 apart.
  for (uint64_t retry = 0;; ++retry) {
    float z = normal(index + (retry << 32));
    if (std::fabs(z) <= bound) return z;
  }
}

uint64_t stream_id(const char* purpose, uint64_t step) {
  uint64_t h = 0xCBF29CE484222325ull;  // FNV-1a of the name, then mixed with step
  for (const char* p = purpose; *p; ++p) h = (h ^ uint8_t(*p)) * 0x100000001B3ull;
  return mix64(h ^ mix64(step));
}

// ln x = e ln 2 + 2 atanh(t), t = (m - 1) / (m + 1), with x = m 2^e and
// m in [sqrt(1/2), sqrt(2)): |t| <= 0.172, so 14 odd terms reach 1e-17.
double portable_log(double x) {
  int e = 0;
  double m = std::frexp(x, &e);  // m in [0.5, 1)
  if (m < 0.70710678118654752) {
    m *= 2.0;
    e -= 1;
  }
  double t = (m - 1.0) / (m + 1.0), t2 = t * t;
  double term = t, sum = 0.0;
  for (int k = 1; k <= 27; k += 2) {
    sum += term / double(k);
    term *= t2;
  }
  return double(e) * 0.69314718055994531 + 2.0 * sum;
}

}  // namespace cf
