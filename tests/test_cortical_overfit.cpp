// Every registered cortical configuration, at a reduced size, memorises a
// fixed batch of 32 random images with random labels (training reaches 95%).
#include <chrono>

#include "nn/cortical.h"
#include "train/optim.h"
#include "tests/test_nn_util.h"

using namespace cf;

namespace {

// Training accuracy after AdamW steps on one batch, stopping at 95%; `steps`
// counts them.
double memorise(Model& model, int max_steps, int& steps) {
  const int64_t B = 32, K = 10;
  Tensor images = Tensor::randn({B, 3, 4, 4}, 21);
  std::vector<int64_t> labels;
  for (int64_t i = 0; i < B; ++i) labels.push_back((i * 7 + 3) % K);
  return test::train_to_memorise(model, images, labels, max_steps, 3e-3f, &steps);
}

}  // namespace

TEST_CASE("Each cortical configuration overfits a fixed batch", "[cortical][overfit]") {
  for (const ModelInfo& info : cortical_models()) {
    // 4 tokens of width 32 and 2 regions; T = R, or R + 1 where the paper
    // runs more steps than regions; the meso grid rescaled (D/m rows of m) so
    // that the paper's windows still fit.
    Config c = info.defaults;
    c.set("image_size", 4).set("conv_layers", 1).set("dim", 32).set("regions", 2);
    c.set("timesteps", info.defaults.get_int("timesteps") > info.defaults.get_int("regions") ? 3 : 2);
    if (info.defaults.get_int("meso_m") == 8) c.set("meso_m", 4);
    INFO(info.name);
    auto model = info.factory(c);
    auto start = std::chrono::steady_clock::now();
    int steps = 0;
    const double accuracy = memorise(*model, 300, steps);
    INFO("accuracy " << accuracy << " after " << steps << " steps, "
                     << std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() << " s");
    CHECK(accuracy >= 0.95);
  }
}
