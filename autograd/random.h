// Counter-based random numbers (DESIGN.md: determinism). A number is a pure
// function of (seed, stream, index): no state advances, so any element can be
// drawn on any thread in any order and the result is the same bits on every
// platform. `stream` separates purposes (init of one tensor, dropout at one
// step, augmentation of one image) so that they never share numbers.
#pragma once
#include <cstdint>

namespace cf {

class Rng {
 public:
  explicit Rng(uint64_t seed, uint64_t stream = 0);
  // 64 random bits for (index, attempt); `attempt` lets rejection samplers
  // draw again for the same element.
  uint64_t bits(uint64_t index, uint64_t attempt = 0) const;
  float uniform(uint64_t index) const;  // in [0, 1), 24 random bits
  float normal(uint64_t index) const;   // standard normal
  // Standard normal resampled until |z| <= bound.
  float truncated_normal(uint64_t index, float bound) const;

 private:
  uint64_t key_;
};

// A stream id for a named purpose and a step: stream_id("dropout", 17).
uint64_t stream_id(const char* purpose, uint64_t step = 0);

// The SplitMix64 finaliser: a bijective 64-bit mix.
uint64_t mix64(uint64_t x);

// Natural log for x > 0 from +, -, *, / and frexp alone, so it rounds the same
// on every platform (the C library's log is not required to). Used by the
// normal sampler; relative error below 1e-15.
double portable_log(double x);

}  // namespace cf
