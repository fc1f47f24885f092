// Shared by the op and module tests: a gradcheck that fails the test with the
// report, and seeded inputs kept away from kinks (relu at 0, abs at 0).
#pragma once
#include <cmath>
#include <string>

#include "autograd/error.h"
#include "autograd/gradcheck.h"
#include "autograd/ops.h"
#include "tests/catch.h"

namespace cf::test {

// a and b have one shape and agree element by element within tol, relative
// to |b| beyond 1.
inline void require_close(const Tensor& a, const Tensor& b, float tol = 1e-5f) {
  REQUIRE(a.shape() == b.shape());
  for (int64_t i = 0; i < a.numel(); ++i) {
    INFO("element " << i);
    REQUIRE(std::fabs(a.data()[i] - b.data()[i]) <= tol * (1.0f + std::fabs(b.data()[i])));
  }
}

inline void require_gradcheck(const GradcheckFn& fn, const std::vector<Tensor>& inputs,
                              const GradcheckOptions& options = {}) {
  GradcheckResult r = gradcheck(fn, inputs, options);
  INFO(r.report);
  REQUIRE(r.ok);
}

// Normal values with |x| >= margin, so that finite differences never step
// across a kink at 0.
inline Tensor away_from_zero(const Shape& shape, uint64_t seed, float margin = 0.05f) {
  Tensor t = Tensor::randn(shape, seed);
  for (int64_t i = 0; i < t.numel(); ++i) {
    float& v = t.data()[i];
    if (std::fabs(v) < margin) v = v < 0 ? -margin - std::fabs(v) : margin + v;
  }
  return t;
}

// The message of the cf::Error that `f` throws, or "" if it throws none.
template <class F>
std::string error_of(F f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace cf::test
