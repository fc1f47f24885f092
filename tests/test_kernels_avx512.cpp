// The AVX-512 row and elementwise kernels against the AVX2 ones: the same
// bits on awkward sizes (simd_math.h sums in the 8-lane order on every
// width), so an AVX-512 machine reproduces an AVX2 machine's results. Every
// path, this one included, is compared with the scalar twins on awkward
// sizes in test_kernels_rowops.cpp and test_kernels_vecmath.cpp; the
// dense-grid error bounds of vecmath.h are measured on the AVX2 path only.
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "autograd/kernels/rowops.h"
#include "autograd/kernels/vecmath.h"
#include "tests/catch.h"
#include "tests/test_kernels_util.h"

using namespace cf::kernels;
using cf::test::uniform;

namespace {

// Runs fn on the AVX2 path, then on the AVX-512 path, from the same starting
// outputs, and requires the outputs to match bit for bit.
void require_same_bits(const std::string& what, std::vector<std::vector<float>> outputs,
                       const std::function<void(std::vector<std::vector<float>>&)>& fn) {
  std::vector<std::vector<float>> avx2 = outputs, avx512 = outputs;
  set_simd_path(SimdPath::Avx2);
  fn(avx2);
  set_simd_path(SimdPath::Avx512);
  fn(avx512);
  for (size_t i = 0; i < outputs.size(); ++i) {
    INFO(what << ", output " << i);
    REQUIRE(std::memcmp(avx2[i].data(), avx512[i].data(), avx2[i].size() * sizeof(float)) == 0);
  }
}

// Whether this CPU or build lacks the AVX-512 path, said in the test's output.
bool no_avx512_path() {
  if (simd_path_supported(SimdPath::Avx512)) return false;
  WARN("no AVX-512 path on this CPU or build: nothing to compare");
  return true;
}

}  // namespace

TEST_CASE("the AVX-512 row and elementwise kernels give the AVX2 kernels' bits",
          "[kernels][rowops][vecmath]") {
  if (no_avx512_path()) return;
  cf::test::SimdPathGuard guard;
  // Widths around the 8- and 16-lane blocks and the 32-float sum blocks.
  for (int64_t cols : {1, 7, 8, 9, 15, 16, 17, 31, 32, 33, 40, 47, 64, 100, 1000}) {
    const int64_t rows = 6;  // a group of four rows and two alone (the forwards)
    const size_t n = size_t(rows * cols), C = size_t(cols);
    const auto x = uniform(n, uint64_t(cols), -6.0f, 6.0f);
    const auto dy = uniform(n, uint64_t(cols) + 1);
    const auto w = uniform(C, 3, 0.5f, 1.5f), b = uniform(C, 4);
    const std::string at = "cols " + std::to_string(cols);
    using Out = std::vector<std::vector<float>>;
    std::vector<float> probs(n);
    set_simd_path(SimdPath::Avx2);
    softmax_forward(x.data(), probs.data(), rows, cols);

    require_same_bits("softmax " + at, {std::vector<float>(n), std::vector<float>(n)}, [&](Out& o) {
      softmax_forward(x.data(), o[0].data(), rows, cols);
      softmax_backward(probs.data(), dy.data(), o[1].data(), rows, cols);
    });
    require_same_bits("log_softmax " + at, {std::vector<float>(n), std::vector<float>(n)},
                      [&](Out& o) {
                        log_softmax_forward(x.data(), o[0].data(), rows, cols);
                        log_softmax_backward(o[0].data(), dy.data(), o[1].data(), rows, cols);
                      });
    for (bool affine : {true, false})
      require_same_bits("layernorm " + at + (affine ? " affine" : ""),
                        {std::vector<float>(n), std::vector<float>(size_t(rows)),
                         std::vector<float>(size_t(rows)), std::vector<float>(n), uniform(C, 5),
                         uniform(C, 6)},
                        [&](Out& o) {
                          layernorm_forward(x.data(), affine ? w.data() : nullptr,
                                            affine ? b.data() : nullptr, o[0].data(),
                                            o[1].data(), o[2].data(), rows, cols, 1e-5f);
                          layernorm_backward(x.data(), affine ? w.data() : nullptr, o[1].data(),
                                             o[2].data(), dy.data(), o[3].data(),
                                             affine ? o[4].data() : nullptr,
                                             affine ? o[5].data() : nullptr, rows, cols);
                        });
    require_same_bits("gelu " + at, {std::vector<float>(n), std::vector<float>(n)}, [&](Out& o) {
      gelu_forward(x.data(), o[0].data(), int64_t(n));
      gelu_backward(x.data(), dy.data(), o[1].data(), int64_t(n));
    });
    // Elementwise math, with the special values in the input too.
    auto special = x;
    special[0] = std::numeric_limits<float>::infinity();
    if (n > 1) special[1] = -std::numeric_limits<float>::infinity();
    if (n > 2) special[2] = std::numeric_limits<float>::quiet_NaN();
    if (n > 3) special[3] = 1e-40f;  // a denormal
    if (n > 4) special[4] = -0.0f;
    require_same_bits("vec_* " + at, Out(5, std::vector<float>(n)), [&](Out& o) {
      vec_exp(special.data(), o[0].data(), int64_t(n));
      vec_log(special.data(), o[1].data(), int64_t(n));
      vec_tanh(special.data(), o[2].data(), int64_t(n));
      vec_sigmoid(special.data(), o[3].data(), int64_t(n));
      vec_erf(special.data(), o[4].data(), int64_t(n));
    });
    require_same_bits("add_row, mul_row " + at, Out(2, std::vector<float>(n)), [&](Out& o) {
      add_row(x.data(), w.data(), o[0].data(), rows, cols);
      mul_row(x.data(), w.data(), o[1].data(), rows, cols);
    });
    require_same_bits("adamw " + at, {x, uniform(n, 7, 0.0f, 0.1f), uniform(n, 8, 0.0f, 0.1f)},
                      [&](Out& o) {
                        adamw_step(o[0].data(), dy.data(), o[1].data(), o[2].data(), int64_t(n),
                                   1e-3f, 0.9f, 0.999f, 1e-8f, 0.05f, 3);
                      });
  }
}

// exp's 2^n scaling is a different instruction on each path (AVX2: two
// multiplies by powers of two; AVX-512: scalef); both round once. Every
// input from where exp gives 0 to where it overflows, through the denormal
// results, in steps of 2^-12 (and so every exponent n).
TEST_CASE("the AVX-512 exp gives the AVX2 exp's bits over its whole range",
          "[kernels][vecmath]") {
  if (no_avx512_path()) return;
  cf::test::SimdPathGuard guard;
  std::vector<float> x;
  for (float v = -110.0f; v <= 95.0f; v += 1.0f / 4096) x.push_back(v);
  require_same_bits("exp", {std::vector<float>(x.size())},
                    [&](std::vector<std::vector<float>>& o) {
                      vec_exp(x.data(), o[0].data(), int64_t(x.size()));
                    });
}
