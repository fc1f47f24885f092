// Results do not depend on the number of threads: chunk boundaries are fixed
// by the problem size, and partial results are combined in a fixed order
// (DESIGN.md). Checked on a whole forward and backward pass of small models.
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

}  // namespace

TEST_CASE("forward and backward are bit-identical with 1, 2 and 8 threads", "[determinism]") {
  const std::vector<std::pair<std::string, std::string>> models = {
      {"cct_2_3x2", "image_size = 16\ndim = 32\nheads = 2\nconv_channels = 8\n"},
      {"vit_lite_cpu", "image_size = 16\ndim = 32\ndepth = 2\nheads = 2\n"},
      {"ut_act_cifar", "image_size = 16\ndim = 32\nheads = 2\nmax_steps = 3\n"},
      {"aft_conv_cifar", "image_size = 16\ndim = 32\ndepth = 2\n"},
      {"cortical_cpu_macro_micro", "image_size = 16\nconv_channels = 8\n"},
      {"vision_columnformer_ff_tiny_cifar", "image_size = 16\ndim = 16\ndepth = 2\n"}};
  for (const auto& [name, text] : models) {
    INFO(name);
    const Config config = Config::parse(text);
    const std::vector<float> one = forward_backward(name, config, 1);
    CHECK(forward_backward(name, config, 2) == one);
    CHECK(forward_backward(name, config, 8) == one);
  }
}
