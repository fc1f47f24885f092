// Shared by the kernel tests: seeded inputs and guards that restore the
// global kernel settings (thread count, SIMD path) when a test ends.
#pragma once
#include <cstdint>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "autograd/kernels/cpu.h"
#include "autograd/kernels/threads.h"

namespace cf::test {

// n floats uniform in [lo, hi), reproducible from the seed.
inline std::vector<float> uniform(size_t n, uint64_t seed, float lo = -1.0f, float hi = 1.0f) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

struct ThreadCountGuard {
  int saved = kernels::num_threads();
  ~ThreadCountGuard() { kernels::set_num_threads(saved); }
};

struct SimdPathGuard {
  kernels::SimdPath saved = kernels::simd_path();
  ~SimdPathGuard() { kernels::set_simd_path(saved); }
};

// Every path this machine and build can run: scalar, plus avx2 if present.
inline std::vector<kernels::SimdPath> supported_paths() {
  std::vector<kernels::SimdPath> paths;
  for (auto p : {kernels::SimdPath::Scalar, kernels::SimdPath::Avx2, kernels::SimdPath::Avx512})
    if (kernels::simd_path_supported(p)) paths.push_back(p);
  return paths;
}

// The message of the std::invalid_argument that `f` throws (how the kernels
// report bad arguments), or "" if it throws none.
template <class F>
std::string invalid_argument_of(F f) {
  try {
    f();
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}

}  // namespace cf::test
