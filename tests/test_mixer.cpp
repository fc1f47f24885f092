// MLP-Mixer (ARCHITECTURES.md section 4): the layer against (M1)/(M2), the
// token-permutation invariant, gradient checks, parameter counts by formula
// and config errors.
#include <cmath>

#include "autograd/graph.h"
#include "nn/mixer.h"
#include "nn/registry.h"
#include "tests/test_nn_util.h"

using namespace cf;
using cf::test::error_of;
using cf::test::require_module_gradcheck;

namespace {

// Section 4: per layer 2 N D_S + D_S + N + 2 D D_C + D_C + D + 4 D; plus
// PatchEmbed (1.1), the final LayerNorm and the head (1.5).
int64_t mixer_params(const Config& c) {
  const int64_t D = c.get_int("dim"), p = c.get_int("patch_size"), S = c.get_int("image_size");
  const int64_t N = (S / p) * (S / p), D_S = c.get_int("token_mlp_dim"), D_C = c.get_int("channel_mlp_dim");
  const int64_t layer = 2 * N * D_S + D_S + N + 2 * D * D_C + D_C + D + 4 * D;
  return p * p * c.get_int("in_channels") * D + D + c.get_int("depth") * layer + 2 * D +
         D * c.get_int("num_classes") + c.get_int("num_classes");
}

}  // namespace

TEST_CASE("Mixer: registered configurations and their parameter counts", "[mixer][nn]") {
  for (const char* name : {"mixer_cifar", "mixer_s16"}) {
    INFO(name);
    auto model = build_model(name);
    CHECK(model->num_parameters() == mixer_params(model->config()));
  }
  // Mixer-B/16 (59 M parameters in the paper) by formula only: building it
  // costs seconds under the sanitizers.
  const Config b16 = model_info("mixer_b16").defaults;
  CHECK(b16.get_int("depth") == 12);
  CHECK(mixer_params(b16) / 1000000 == 59);
  CHECK(mixer_params(model_info("mixer_s16").defaults) / 100000 == 185);  // 18.5 M in the paper

  auto model = build_model("mixer_cifar", Config().set("depth", 2));
  Tensor logits = model->forward(Tensor::randn({2, 3, 32, 32}, 1));
  CHECK(logits.shape() == Shape{2, 10});
  // The head starts at zero (the paper): every image gets the same logits.
  for (float y : logits.to_vector()) CHECK(y == 0.0f);
  CHECK(model->block_outputs().size() == 2);
  CHECK(model->block_outputs()[0].shape() == Shape{2, 64, 128});
}

TEST_CASE("Mixer: the layer is (M1) then (M2)", "[mixer]") {
  MixerBlock block(4, 3, 5, 6);
  NoGradGuard no_grad;
  Tensor x = Tensor::randn({2, 4, 3}, 2);
  Tensor y = block.forward(x);
  // (M1) written out: W1 (D_S, N) acts on each channel's column of LN(X).
  Tensor n = block.norm1.forward(x);
  const Tensor &W1 = block.mlp_tokens.fc1.weight, &b1 = block.mlp_tokens.fc1.bias;
  const Tensor &W2 = block.mlp_tokens.fc2.weight, &b2 = block.mlp_tokens.fc2.bias;
  Tensor u = Tensor::zeros({2, 4, 3});
  for (int64_t b = 0; b < 2; ++b)
    for (int64_t d = 0; d < 3; ++d)
      for (int64_t t = 0; t < 4; ++t) {
        double acc = b2.at({t});
        for (int64_t j = 0; j < 5; ++j) {
          double pre = b1.at({j});
          for (int64_t s = 0; s < 4; ++s) pre += W1.at({j, s}) * n.at({b, s, d});
          acc += W2.at({t, j}) * 0.5 * pre * (1.0 + std::erf(pre / std::sqrt(2.0)));
        }
        u.set({b, t, d}, x.at({b, t, d}) + float(acc));
      }
  Tensor expected = add(u, block.mlp_channels.forward(block.norm2.forward(u)));  // (M2)
  for (int64_t i = 0; i < y.numel(); ++i) CHECK(y.data()[i] == Approx(expected.data()[i]).margin(1e-5));
}

TEST_CASE("Mixer: permuting tokens with W1's columns and W2's rows permutes the output", "[mixer]") {
  // Section 4's invariant, with the permutation acting on the token axis of
  // the input, the token (input) axis of W1 and the token (output) axis of W2
  // and b2.
  MixerBlock block(4, 3, 5, 6), permuted(4, 3, 5, 6);
  const std::vector<int64_t> perm = {2, 0, 3, 1};
  NoGradGuard no_grad;
  for (const auto& [name, t] : block.named_parameters()) permuted.parameter(name) = t;
  permuted.parameter("mlp_tokens.fc1.weight") = index_select(block.mlp_tokens.fc1.weight, 1, perm);
  permuted.parameter("mlp_tokens.fc2.weight") = index_select(block.mlp_tokens.fc2.weight, 0, perm);
  permuted.parameter("mlp_tokens.fc2.bias") = index_select(block.mlp_tokens.fc2.bias, 0, perm);
  Tensor x = Tensor::randn({2, 4, 3}, 3);
  Tensor expected = index_select(block.forward(x), 1, perm);
  Tensor y = permuted.forward(index_select(x, 1, perm));
  for (int64_t i = 0; i < y.numel(); ++i) CHECK(y.data()[i] == Approx(expected.data()[i]).margin(1e-6));
}

TEST_CASE("Mixer: gradients of the layer and the model", "[mixer][grad]") {
  MixerBlock block(4, 3, 5, 6);
  require_module_gradcheck(block, Tensor::randn({2, 4, 3}, 4), [&](const Tensor& x) { return block.forward(x); });
  auto model = build_model("mixer_cifar", Config::parse("image_size = 8\ndim = 4\ndepth = 1\ntoken_mlp_dim = 3\n"
                                                        "channel_mlp_dim = 5\nnum_classes = 3\n"));
  Model& m = *model;
  m.parameter("head.weight") = Tensor::randn({3, 4}, 5);  // off its zero init, so gradients reach the rest
  require_module_gradcheck(m, Tensor::randn({1, 3, 8, 8}, 6), [&](const Tensor& x) { return m.forward(x); },
                           {"patch_embed.proj.weight", "blocks.0.mlp_tokens.fc1.weight", "blocks.0.norm2.bias",
                            "head.weight"});
}

TEST_CASE("Mixer: bad config values name the key and the value", "[mixer][errors]") {
  CHECK(error_of([] { build_model("mixer_cifar", Config().set("token_mlp_dim", 0)); }) ==
        "config: key \"token_mlp_dim\" has value \"0\"; at least 1");
  CHECK(error_of([] { build_model("mixer_cifar", Config().set("channel_mlp_dim", -2)); }) ==
        "config: key \"channel_mlp_dim\" has value \"-2\"; at least 1");
  CHECK(error_of([] { build_model("mixer_cifar", Config().set("depth", 0)); }) ==
        "config: key \"depth\" has value \"0\"; at least 1 layer");
  CHECK(error_of([] { build_model("mixer_cifar", Config().set("patch_size", 5)); }) ==
        "PatchEmbed: image size 32x32 is not a multiple of the patch size 5");
}
