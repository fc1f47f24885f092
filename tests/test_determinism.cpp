// Results do not depend on the number of threads: chunk boundaries are fixed
// by the problem size, and partial results are combined in a fixed order
// (DESIGN.md). Checked on a whole forward and backward pass of small models.
#include <algorithm>
#include <cmath>

#include "autograd/kernels/cpu.h"
#include "autograd/kernels/threads.h"
#include "nn/registry.h"
#include "tests/helpers.h"

using namespace cf;

namespace {

// Logits and every parameter's gradient, flattened, after one forward and
// backward pass with `threads` threads.
std::vector<float> forward_backward(const std::string& model_name, const Config& config, int threads) {
  const int previous = kernels::num_threads();
  kernels::set_num_threads(threads);
  auto model = build_model(model_name, config);
  Tensor images = Tensor::randn({8, 3, 16, 16}, 5);
  Tensor logits = model->forward(images);
  Tensor loss = cross_entropy(logits, {0, 1, 2, 3, 4, 5, 6, 7});
  for (const auto& [name, aux] : model->aux_losses()) loss = loss + aux;
  loss.backward();
  std::vector<float> out = logits.to_vector();
  for (const Tensor& p : model->parameters())
    if (p.grad().defined())
      for (float g : p.grad().to_vector()) out.push_back(g);
  kernels::set_num_threads(previous);
  return out;
}

// Small versions of six model families, as (name, config text).
std::vector<std::pair<std::string, std::string>> small_models() {
  return {
      {"cct_2_3x2", "image_size = 16\ndim = 32\nheads = 2\nconv_channels = 8\n"},
      {"vit_lite_cpu", "image_size = 16\ndim = 32\ndepth = 2\nheads = 2\n"},
      {"ut_act_cifar", "image_size = 16\ndim = 32\nheads = 2\nmax_steps = 3\n"},
      {"aft_conv_cifar", "image_size = 16\ndim = 32\ndepth = 2\n"},
      {"cortical_cpu_macro_micro", "image_size = 16\nconv_channels = 8\n"},
      {"vision_columnformer_ff_tiny_cifar", "image_size = 16\ndim = 16\ndepth = 2\n"}};
}

}  // namespace

TEST_CASE("forward and backward are bit-identical with 1, 2 and 8 threads", "[determinism]") {
  for (const auto& [name, text] : small_models()) {
    INFO(name);
    const Config config = Config::parse(text);
    const std::vector<float> one = forward_backward(name, config, 1);
    CHECK(forward_backward(name, config, 2) == one);
    CHECK(forward_backward(name, config, 8) == one);
  }
}

TEST_CASE("one forward and backward agree on the scalar and AVX2 paths within 1e-4", "[determinism][kernels]") {
  using kernels::SimdPath;
  if (!kernels::simd_path_supported(SimdPath::Avx2)) {
    WARN("this CPU or build has no AVX2 path: nothing to compare");
    return;
  }
  const SimdPath previous = kernels::simd_path();
  for (const auto& [name, text] : small_models()) {
    INFO(name);
    const Config config = Config::parse(text);
    kernels::set_simd_path(SimdPath::Scalar);
    const std::vector<float> scalar = forward_backward(name, config, 2);
    kernels::set_simd_path(SimdPath::Avx2);
    const std::vector<float> avx2 = forward_backward(name, config, 2);
    kernels::set_simd_path(previous);
    // Relative to the largest magnitude: the paths differ in rounding only
    // (vector exp and erf, FMA, summation order).
    double scale = 0, worst = 0;
    for (float v : scalar) scale = std::max(scale, double(std::fabs(v)));
    for (size_t i = 0; i < scalar.size(); ++i) worst = std::max(worst, double(std::fabs(scalar[i] - avx2[i])));
    CHECK(worst <= 1e-4 * scale);
  }
}
