// Every registered MLP-Mixer, AFT and Universal Transformer configuration
// (sections 4-6), at a reduced size, memorises a fixed batch of 32 random
// images with random labels: training accuracy reaches 95% within a bounded
// number of AdamW steps. The ViT with the section 8 refinements on does too.
#include <chrono>

#include "nn/registry.h"
#include "train/optim.h"
#include "tests/test_nn_util.h"

using namespace cf;

namespace {

// Training accuracy on one batch, stopping at 95% or after max_steps; the
// model's auxiliary losses (ACT's ponder cost) are added to the task loss.
double memorise(const std::string& name, const Config& overrides, int max_steps) {
  auto model = build_model(name, overrides);
  const int64_t B = 32, K = 10;
  Tensor images = Tensor::randn({B, 3, 16, 16}, 31);
  std::vector<int64_t> labels;
  for (int64_t i = 0; i < B; ++i) labels.push_back((i * 7 + 3) % K);
  return test::train_to_memorise(*model, images, labels, max_steps, 3e-3f);
}

}  // namespace

TEST_CASE("Every Mixer and AFT and Universal Transformer configuration overfits a fixed batch",
          "[mixer][aft][universal][refinements][overfit]") {
  // 16 x 16 images in 4 x 4 patches: a 4 x 4 grid of 16 tokens.
  const std::string small = "image_size = 16\ndim = 32\n";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"mixer_cifar", small + "depth = 2\ntoken_mlp_dim = 16\nchannel_mlp_dim = 64\n"},
      {"aft_full_cifar", small + "depth = 2\n"},
      {"aft_simple_cifar", small + "depth = 2\n"},
      {"aft_local_cifar", small + "depth = 2\n"},
      {"aft_conv_cifar", small + "depth = 2\nheads = 2\n"},
      {"ut_cifar", small + "heads = 2\nsteps = 2\n"},
      {"ut_act_cifar", small + "heads = 2\nmax_steps = 3\n"},
      {"vit_lite_cpu", small + "depth = 2\nheads = 2\nmulti_query = true\nqk_norm = true\nrel_pos_bias = true\n"
                               "layer_scale = 0.1\n"},
      {"vit_lite_cpu", small + "depth = 2\nheads = 2\nlinear_attn = true\n"},
      {"vit_lite_cpu", small + "depth = 2\nheads = 2\nno_vp = true\nskip_attn = false\n"},
  };
  for (const auto& [name, settings] : cases) {
    INFO(name << "\n" << settings);
    auto start = std::chrono::steady_clock::now();
    const double accuracy = memorise(name, Config::parse(settings), 150);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    INFO("accuracy " << accuracy << " after " << seconds << " s");
    CHECK(accuracy >= 0.95);
    CHECK(seconds < 30.0);
  }
}
