// The layers of nn/: gradient checks, parameter counts from the spec's
// formulas (ARCHITECTURES.md sections 1, 2, 8), shapes and error messages.
#include <algorithm>
#include <cmath>

#include "nn/activation.h"
#include "nn/dropout.h"
#include "nn/layer_scale.h"
#include "nn/linear.h"
#include "nn/mlp.h"
#include "nn/norm.h"
#include "nn/pooling.h"
#include "nn/position.h"
#include "nn/tokenizer.h"
#include "tests/test_nn_util.h"

using namespace cf;
using cf::test::away_from_zero;
using cf::test::contains;
using cf::test::error_of;
using cf::test::require_module_gradcheck;

TEST_CASE("Linear computes x W^T + b and its gradients", "[nn][layers]") {
  Linear lin(3, 2);
  lin.bias.data()[1] = 0.5f;
  Tensor x = Tensor::randn({4, 3}, 1);
  Tensor y = lin.forward(x);
  REQUIRE(y.shape() == Shape{4, 2});
  float expected = 0.5f;
  for (int64_t i = 0; i < 3; ++i) expected += x.at({2, i}) * lin.weight.at({1, i});
  CHECK(y.at({2, 1}) == Approx(expected));
  CHECK(lin.num_parameters() == 3 * 2 + 2);

  require_module_gradcheck(lin, Tensor::randn({2, 3, 3}, 2), [&](const Tensor& v) { return lin.forward(v); });
  Linear no_bias(3, 5, false);
  CHECK(no_bias.num_parameters() == 15);
  require_module_gradcheck(no_bias, x, [&](const Tensor& v) { return no_bias.forward(v); });
  CHECK(contains(error_of([&] { lin.forward(Tensor::zeros({2, 4})); }),
                 "linear: input of shape [2, 4] for weight of shape [2, 3]"));
}

TEST_CASE("LayerNorm gradients and init", "[nn][layers]") {
  LayerNorm ln(6);
  CHECK(ln.num_parameters() == 12);
  CHECK(ln.weight.to_vector() == std::vector<float>(6, 1.0f));
  ln.weight = Tensor::randn({6}, 4, 1.0f).requires_grad_();
  require_module_gradcheck(ln, Tensor::randn({2, 3, 6}, 3), [&](const Tensor& v) { return ln.forward(v); });
}

TEST_CASE("Activations are selected by name", "[nn][layers]") {
  Tensor x = Tensor::from({-1.5f, 0.5f, 2.0f}, {3});
  CHECK(Activation("relu").forward(x).to_vector() == std::vector<float>{0.0f, 0.5f, 2.0f});
  CHECK(Activation("squared_relu").forward(x).to_vector() == std::vector<float>{0.0f, 0.25f, 4.0f});
  CHECK(Activation("gelu").forward(x).at({2}) == Approx(0.5 * 2.0 * (1.0 + std::erf(2.0 / std::sqrt(2.0)))));
  CHECK(error_of([] { Activation("swish"); }) ==
        "activation: unknown name \"swish\" (known: gelu, relu, squared_relu)");
}

TEST_CASE("MLP: params 2 D D_ff + D_ff + D, gradients for every activation", "[nn][layers]") {
  const int64_t D = 4;
  const int64_t D_ff = mlp_hidden(D, 1.5);
  CHECK(D_ff == 6);
  CHECK(mlp_hidden(128, 2.0) == 256);
  for (const std::string& act : activation_names()) {
    INFO(act);
    MLP mlp(D, D_ff, act);
    CHECK(mlp.num_parameters() == 2 * D * D_ff + D_ff + D);
    // Larger weights than the init so that the activation's curvature matters.
    mlp.fc1.weight = Tensor::randn({D_ff, D}, 5, 0.0f, 0.5f).requires_grad_();
    require_module_gradcheck(mlp, away_from_zero({2, 3, D}, 6), [&](const Tensor& v) { return mlp.forward(v); });
  }
}

TEST_CASE("MLP with dropout while training: gradients through a fixed mask", "[nn][layers][grad]") {
  MLP mlp(4, 6, "gelu", 0.3f);
  // Weights larger than the init, so that every gradient exceeds the check's tolerance.
  mlp.fc1.weight = Tensor::randn({6, 4}, 12, 0.0f, 0.5f).requires_grad_();
  mlp.fc2.weight = Tensor::randn({4, 6}, 13, 0.0f, 0.5f).requires_grad_();
  // The mask of the check's step 0 drops some outputs and keeps others.
  mlp.set_step(0);
  const std::vector<float> mask = mlp.drop.forward(Tensor::ones({2, 3, 4})).to_vector();
  const auto dropped = std::count(mask.begin(), mask.end(), 0.0f);
  CHECK(dropped > 0);
  CHECK(dropped < 24);
  require_module_gradcheck(mlp, Tensor::randn({2, 3, 4}, 14),
                           [&](const Tensor& v) { return mlp.forward(v); });
}

TEST_CASE("Dropout is the identity in eval and reproducible after set_step", "[nn][layers]") {
  Dropout drop(0.25f);
  Tensor x = Tensor::ones({64, 64});
  drop.set_step(3);
  Tensor a = drop.forward(x), b = drop.forward(x);
  CHECK(a.to_vector() != b.to_vector());  // a new mask per call
  drop.set_step(3);
  CHECK(drop.forward(x).to_vector() == a.to_vector());
  int64_t zeros = 0;
  for (float v : a.to_vector()) {
    CHECK((v == 0.0f || v == Approx(1.0f / 0.75f)));
    zeros += v == 0.0f;
  }
  CHECK(double(zeros) / double(x.numel()) == Approx(0.25).margin(0.03));
  drop.eval();
  CHECK(drop.forward(x).impl() == x.impl());
  drop.train();
  require_module_gradcheck(drop, Tensor::randn({3, 5}, 7), [&](const Tensor& v) { return drop.forward(v); });
  CHECK(contains(error_of([] { Dropout(1.0f); }), "Dropout: probability 1 is not in [0, 1)"));
}

TEST_CASE("DropPath drops whole samples", "[nn][layers]") {
  DropPath dp(0.5f);
  Tensor x = Tensor::ones({64, 3, 4});
  dp.set_step(1);
  Tensor y = dp.forward(x);
  int64_t dropped = 0;
  for (int64_t b = 0; b < 64; ++b) {
    const float first = y.at({b, 0, 0});
    CHECK((first == 0.0f || first == 2.0f));
    dropped += first == 0.0f;
    for (int64_t i = 0; i < 12; ++i) CHECK(y.data()[b * 12 + i] == first);
  }
  CHECK(dropped > 16);
  CHECK(dropped < 48);
  // The check's step 0 drops some of its 4 samples and keeps others.
  dp.set_step(0);
  const std::vector<float> mask = dp.forward(Tensor::ones({4, 1, 1})).to_vector();
  CHECK(std::count(mask.begin(), mask.end(), 0.0f) > 0);
  CHECK(std::count(mask.begin(), mask.end(), 0.0f) < 4);
  require_module_gradcheck(dp, Tensor::randn({4, 2, 3}, 8), [&](const Tensor& v) { return dp.forward(v); });
  dp.eval();
  CHECK(dp.forward(x).impl() == x.impl());
}

TEST_CASE("LayerScale multiplies channels by gamma", "[nn][layers]") {
  LayerScale ls(5, 0.1f);
  CHECK(ls.gamma.to_vector() == std::vector<float>(5, 0.1f));
  CHECK(ls.num_parameters() == 5);
  CHECK(LayerScale(3).gamma.at({0}) == 1e-4f);
  require_module_gradcheck(ls, Tensor::randn({2, 3, 5}, 9), [&](const Tensor& v) { return ls.forward(v); });
}

TEST_CASE("Position embeddings: learned and sinusoidal (1.3)", "[nn][layers]") {
  Tensor p = sinusoidal_positions(6, 8);
  REQUIRE(p.shape() == Shape{1, 6, 8});
  for (int64_t n : {0, 3, 5})
    for (int64_t j = 0; j < 4; ++j) {
      const double angle = double(n) / std::pow(10000.0, 2.0 * double(j) / 8.0);
      CHECK(p.at({0, n, 2 * j}) == Approx(std::sin(angle)).margin(1e-6));
      CHECK(p.at({0, n, 2 * j + 1}) == Approx(std::cos(angle)).margin(1e-6));
    }
  PositionEmbedding fixed("sinusoidal", 6, 8);
  CHECK(fixed.num_parameters() == 0);
  CHECK(fixed.state_dict().empty());  // computed from the config, not stored

  PositionEmbedding learned("learned", 4, 3);
  CHECK(learned.num_parameters() == 4 * 3);
  require_module_gradcheck(learned, Tensor::randn({2, 4, 3}, 10), [&](const Tensor& v) { return learned.forward(v); });
  CHECK(contains(error_of([] { PositionEmbedding("rotary", 4, 3); }), "unknown kind \"rotary\""));
}

TEST_CASE("PatchEmbed: row-major patches, params p^2 C D + D (1.1)", "[nn][layers]") {
  const int64_t p = 2, C = 3, D = 4;
  PatchEmbed pe(4, p, C, D);
  CHECK(pe.num_parameters() == p * p * C * D + D);
  CHECK(PatchEmbed::tokens(32, 4) == 64);
  Tensor images = Tensor::randn({2, C, 4, 6}, 11);  // 2 x 3 patches
  Tensor t = pe.forward(images);
  REQUIRE(t.shape() == Shape{2, 6, D});
  // Token 4 is the patch in patch-row 1, patch-column 1.
  double expected = pe.proj.bias.at({2});
  for (int64_t c = 0; c < C; ++c)
    for (int64_t i = 0; i < p; ++i)
      for (int64_t j = 0; j < p; ++j)
        expected += double(pe.proj.weight.at({2, c, i, j})) * images.at({1, c, 1 * p + i, 1 * p + j});
  CHECK(t.at({1, 4, 2}) == Approx(expected).margin(1e-6));
  require_module_gradcheck(pe, images, [&](const Tensor& v) { return pe.forward(v); });
}

TEST_CASE("PatchEmbed names the image size and patch size that do not fit", "[nn][layers][errors]") {
  CHECK(error_of([] { PatchEmbed(30, 4, 3, 8); }) ==
        "PatchEmbed: image size 30x30 is not a multiple of the patch size 4");
  PatchEmbed pe(8, 4, 3, 8);
  CHECK(error_of([&] { pe.forward(Tensor::zeros({1, 3, 8, 10})); }) ==
        "PatchEmbed: image size 8x10 is not a multiple of the patch size 4");
  CHECK(contains(error_of([&] { pe.forward(Tensor::zeros({1, 1, 8, 8})); }),
                 "PatchEmbed: images of shape [1, 1, 8, 8], expected [B, 3, H, W]"));
}

TEST_CASE("ConvTokenizer: tokens, params sum k^2 c_{i-1} c_i, Kaiming init (1.2)", "[nn][layers]") {
  CHECK(ConvTokenizer::tokens(32, 2, 3) == 64);
  CHECK(ConvTokenizer::tokens(32, 1, 3) == 256);
  ConvTokenizer two(3, 128, 2, 3);
  CHECK(two.num_parameters() == 3 * 3 * 3 * 64 + 3 * 3 * 64 * 128);
  // Kaiming normal, fan_in = k^2 c_in: std sqrt(2 / (9 * 64)).
  Tensor w = two.conv_layers[1]->weight;
  CHECK(std::sqrt(mean(mul(w, w)).item()) == Approx(std::sqrt(2.0 / (9 * 64))).epsilon(0.05));

  ConvTokenizer tiny(2, 3, 2, 3, 2);
  Tensor images = Tensor::randn({2, 2, 6, 6}, 12);
  Tensor t = tiny.forward(images);
  CHECK(t.shape() == Shape{2, ConvTokenizer::tokens(6, 2, 3), 3});
  require_module_gradcheck(tiny, images, [&](const Tensor& v) { return tiny.forward(v); });

  // The module pools before its ReLU (cheaper); 1.2 writes ReLU then pool.
  // Both orders give the same values and the same weight gradients.
  Tensor x = Tensor::randn({2, 3, 12, 12}, 15);
  Tensor h = x;
  for (const auto& conv : two.conv_layers) h = max_pool2d(relu(conv->forward(h)), 3, 2, 1);
  Tensor spec = transpose(reshape(h, {2, 128, -1}), 1, 2);
  Tensor r = Tensor::randn(spec.shape(), 16);
  sum(mul(spec, r)).backward();
  std::vector<std::vector<float>> spec_grads;
  for (Tensor& p : two.parameters()) spec_grads.push_back(p.grad().to_vector()), p.zero_grad();
  Tensor fast = two.forward(x);
  CHECK(fast.to_vector() == spec.to_vector());
  sum(mul(fast, r)).backward();
  for (size_t i = 0; i < spec_grads.size(); ++i) CHECK(two.parameters()[i].grad().to_vector() == spec_grads[i]);
}

TEST_CASE("SeqPool and mean pooling (1.4)", "[nn][layers]") {
  const int64_t D = 5;
  SeqPool pool(D);
  CHECK(pool.num_parameters() == D + 1);
  Tensor x = Tensor::randn({2, 4, D}, 13);
  // With g = 0 the weights are uniform: SeqPool is the mean.
  pool.weight = Tensor::zeros({1, D}).requires_grad_();
  Tensor uniform = pool.forward(x), average = mean_pool(x);
  REQUIRE(uniform.shape() == Shape{2, D});
  for (int64_t i = 0; i < uniform.numel(); ++i) CHECK(uniform.data()[i] == Approx(average.data()[i]));
  pool.weight = Tensor::randn({1, D}, 14).requires_grad_();
  require_module_gradcheck(pool, x, [&](const Tensor& v) { return pool.forward(v); });
}
