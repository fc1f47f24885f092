// gradcheck: proves a function's tape gradients against central differences.
//
// The function's output y is reduced to the scalar L = sum(r * y) with fixed
// random weights r (so every output element matters and errors cannot cancel),
// backward() gives dL/dx for every input, and each element of each input is
// nudged by +-eps to measure (L(x+) - L(x-)) / (x+ - x-) in double precision.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "autograd/tensor.h"

namespace cf {

struct GradcheckOptions {
  float eps = 1e-3f;    // the nudge
  double atol = 1e-3;   // an element passes when
  double rtol = 1e-2;   //   |analytic - numeric| <= atol + rtol |numeric|
  uint64_t seed = 0;    // for the weights r
};

struct GradcheckResult {
  bool ok = true;
  double worst = 0.0;    // max |analytic - numeric| / (atol + rtol |numeric|)
  int input = -1;        // where the worst element is
  int64_t index = -1;    //   (flat index into that input)
  double analytic = 0.0, numeric = 0.0;
  std::string report;    // one line, for test output
};

using GradcheckFn = std::function<Tensor(const std::vector<Tensor>&)>;

// Checks the gradient of `fn` with respect to every tensor in `inputs`
// (copied; the originals are not modified).
GradcheckResult gradcheck(const GradcheckFn& fn, const std::vector<Tensor>& inputs,
                          const GradcheckOptions& options = {});

}  // namespace cf
