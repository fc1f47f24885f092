// The Columnformer's layers (ARCHITECTURES.md 3.1, 3.2, 3.6): untied and
// mixture layers, geometry, wiring cost and TV loss. Gradient checks at tiny
// sizes and the spec's invariants.
#include <cmath>
#include <cstring>
#include <optional>

#include "autograd/graph.h"
#include "autograd/ops.h"
#include "nn/columnformer_layers.h"
#include "nn/geometry.h"
#include "nn/linear.h"
#include "nn/mixture.h"
#include "nn/untied.h"
#include "tests/test_nn_util.h"

using namespace cf;
using cf::test::away_from_zero;
using cf::test::contains;
using cf::test::error_of;
using cf::test::require_close;
using cf::test::require_gradcheck;
using cf::test::require_module_gradcheck;

TEST_CASE("UntiedLinear with every column's weights equal is Linear (3.1)", "[columnformer]") {
  const int64_t B = 3, N = 4, in = 5, out = 6;
  Linear shared(in, out);
  shared.init_parameters(7);
  NoGradGuard no_grad;
  shared.bias.data()[2] = 0.5f;
  UntiedLinear untied(N, in, out);
  for (int64_t n = 0; n < N; ++n) {
    std::copy(shared.weight.data(), shared.weight.data() + out * in, untied.weight.data() + n * out * in);
    std::copy(shared.bias.data(), shared.bias.data() + out, untied.bias.data() + n * out);
  }
  Tensor x = Tensor::randn({B, N, in}, 1);
  require_close(untied.forward(x), shared.forward(x));
  CHECK(untied.num_parameters() == N * out * in + N * out);
}

TEST_CASE("UntiedLinear uses column n's weights for token n (C1)", "[columnformer]") {
  const int64_t B = 2, N = 3, in = 4, out = 2;
  UntiedLinear layer(N, in, out);
  layer.init_parameters(3);
  Tensor x = Tensor::randn({B, N, in}, 2);
  Tensor y = layer.forward(x);
  for (int64_t n = 0; n < N; ++n) {
    Tensor w = reshape(slice(layer.weight, 0, n, n + 1), {out, in});
    Tensor b = reshape(slice(layer.bias, 0, n, n + 1), {out});
    require_close(reshape(slice(y, 1, n, n + 1), {B, out}), linear(reshape(slice(x, 1, n, n + 1), {B, in}), w, b));
  }
}

TEST_CASE("Untied layers: gradients", "[columnformer][grad]") {
  UntiedLinear with_bias(4, 3, 2), no_bias(4, 3, 2, false);
  with_bias.init_parameters(1);
  with_bias.bias = Tensor::randn({4, 2}, 5).requires_grad_();
  no_bias.init_parameters(2);
  Tensor x = Tensor::randn({2, 4, 3}, 3);
  require_module_gradcheck(with_bias, x, [&](const Tensor& v) { return with_bias.forward(v); });
  require_module_gradcheck(no_bias, x, [&](const Tensor& v) { return no_bias.forward(v); });
  // Leading axes fold into the batch.
  require_module_gradcheck(with_bias, Tensor::randn({2, 2, 4, 3}, 4), [&](const Tensor& v) { return with_bias.forward(v); });

  UntiedLayerNorm norm(4, 3);
  norm.weight = Tensor::randn({4, 3}, 6).requires_grad_();
  norm.bias = Tensor::randn({4, 3}, 7).requires_grad_();
  require_module_gradcheck(norm, x, [&](const Tensor& v) { return norm.forward(v); });
  CHECK(norm.num_parameters() == 2 * 4 * 3);
}

TEST_CASE("UntiedLayerNorm is LayerNorm then a per-column affine", "[columnformer]") {
  UntiedLayerNorm norm(2, 3);
  norm.weight = Tensor::randn({2, 3}, 1).requires_grad_();
  norm.bias = Tensor::randn({2, 3}, 2).requires_grad_();
  Tensor x = Tensor::randn({2, 2, 3}, 3);
  Tensor y = norm.forward(x);
  for (int64_t n = 0; n < 2; ++n) {
    Tensor g = reshape(slice(norm.weight, 0, n, n + 1), {3}), b = reshape(slice(norm.bias, 0, n, n + 1), {3});
    require_close(slice(y, 1, n, n + 1), layer_norm(slice(x, 1, n, n + 1), g, b));
  }
}

TEST_CASE("untied_layer_norm with groups is each group's untied layer norm", "[columnformer][grad]") {
  const int64_t G = 3, B = 2, N = 2, D = 4;
  Tensor x = Tensor::randn({G, B, N, D}, 1), gamma = Tensor::randn({G, N, D}, 2),
         beta = Tensor::randn({G, N, D}, 3);
  Tensor y = untied_layer_norm(x, gamma, beta);
  for (int64_t g = 0; g < G; ++g) {
    const auto group = [g](const Tensor& t) {
      return reshape(slice(t, 0, g, g + 1), Shape(t.shape().begin() + 1, t.shape().end()));
    };
    const Tensor expected = untied_layer_norm(group(x), group(gamma), group(beta)), got = group(y);
    REQUIRE(std::memcmp(got.data(), expected.data(), size_t(got.numel()) * sizeof(float)) == 0);
  }
  cf::test::require_gradcheck(
      [](const std::vector<Tensor>& t) { return untied_layer_norm(t[0], t[1], t[2]); }, {x, gamma, beta});
  CHECK(error_of([&] { untied_layer_norm(Tensor::zeros({2, B, N, D}), gamma, beta); }) ==
        "untied_layer_norm: input of shape [2, 2, 2, 4] for gamma of shape [3, 2, 4] and beta of the same, "
        "expected [B, N, D] and [N, D], or [G, B, N, D] and [G, N, D]");
}

TEST_CASE("untied_linear rejects shapes that do not fit", "[columnformer][errors]") {
  Tensor w = Tensor::zeros({4, 2, 3});
  CHECK(error_of([&] { untied_linear(Tensor::zeros({2, 5, 3}), w, Tensor()); }) ==
        "untied_linear: input of shape [2, 5, 3] for weight of shape [4, 2, 3], expected [B, 4, 3]");
  CHECK(contains(error_of([&] { untied_linear(Tensor::zeros({2, 4, 3}), w, Tensor::zeros({4, 3})); }),
                 "bias of shape [4, 3]"));
}

TEST_CASE("Mixture coefficients: softmax of temperature-scaled rows (C2)", "[columnformer]") {
  MixtureCoefficients c(3, 4);
  c.init_parameters(1);
  Tensor coeffs = c.forward();
  REQUIRE(coeffs.shape() == Shape{3, 4});
  // s = 0: scale 1, so each row is the softmax of the unit-norm row.
  Tensor w = c.weight;
  Tensor expected = softmax(div(w, sqrt(sum(mul(w, w), 1, true))), 1);
  require_close(coeffs, expected);
  // The scale is capped at 100: s = 10 gives row 0 the softmax of 100 times
  // its unit row, far from the one-hot row of the uncapped e^10 = 22026.
  {
    NoGradGuard no_grad;
    const std::vector<float> row = {0.5f, 0.51f, 0.49f, 0.3f};
    std::copy(row.begin(), row.end(), c.weight.data());
    c.log_scale.data()[0] = 10.0f;
  }
  Tensor unit_row = slice(div(c.weight, sqrt(sum(mul(c.weight, c.weight), 1, true))), 0, 0, 1);
  Tensor at_cap = softmax(mul_scalar(unit_row, 100.0f), 1);
  CHECK(at_cap.at({0, 1}) < 0.9f);
  require_close(slice(c.forward(), 0, 0, 1), at_cap);
  // Without temp_scale: softmax of the raw weight.
  MixtureCoefficients plain(3, 4, false);
  require_close(plain.forward(), softmax(plain.weight, 1));
  CHECK(plain.num_parameters() == 12);
  CHECK(c.num_parameters() == 12 + 3);
}

TEST_CASE("Mixture layers: gradients, and E = 1 is the classic layer", "[columnformer][grad]") {
  MixtureCoefficients c(4, 3);
  c.init_parameters(2);
  c.log_scale = Tensor::randn({4}, 9, 0.0f, 0.5f).requires_grad_();
  MixtureLinear lin(c, 3, 2);
  lin.init_parameters(3);
  lin.bias = Tensor::randn({2, 3}, 4).requires_grad_();
  MixtureLayerNorm norm(c, 3);
  norm.weight = Tensor::randn({3, 3}, 5).requires_grad_();
  norm.bias = Tensor::randn({3, 3}, 6).requires_grad_();
  Tensor x = Tensor::randn({2, 4, 3}, 7);
  // The coefficients are a separate module: check through them too.
  auto check = [&](TokenLayer& layer) {
    std::vector<std::string> names;
    std::vector<Tensor> inputs{x, c.weight.detach(), c.log_scale.detach()};
    for (const auto& [name, t] : layer.named_parameters()) {
      names.push_back(name);
      inputs.push_back(t.detach());
    }
    require_gradcheck(
        [&](const std::vector<Tensor>& v) {
          c.weight = v[1];
          c.log_scale = v[2];
          for (size_t i = 0; i < names.size(); ++i) layer.parameter(names[i]) = v[i + 3];
          return layer.forward(v[0]);
        },
        inputs);
  };
  check(lin);
  check(norm);
  CHECK(lin.num_parameters() == 3 * (2 * 3 + 2));
  CHECK(norm.num_parameters() == 2 * 3 * 3);
  // Without bias; weights of std 0.5, so that the gradients of x and of the
  // coefficients through them exceed the check's tolerance.
  MixtureLinear no_bias(c, 3, 2, false);
  no_bias.weight = Tensor::randn({2, 3, 3}, 10, 0.0f, 0.5f).requires_grad_();
  CHECK(no_bias.num_parameters() == 3 * 2 * 3);
  check(no_bias);

  MixtureCoefficients one(4, 1);
  MixtureLinear moe(one, 3, 2);
  moe.init_parameters(8);
  Tensor w0 = reshape(moe.weight, {2, 3}), b0 = Tensor::randn({2}, 9);
  {
    NoGradGuard no_grad;
    std::copy(b0.data(), b0.data() + 2, moe.bias.data());
  }
  require_close(moe.forward(x), linear(x, w0, b0));
  MixtureLayerNorm moe_norm(one, 3);
  require_close(moe_norm.forward(x), layer_norm(x, Tensor::ones({3}), Tensor::zeros({3})));
}

TEST_CASE("A Hold mixes each layer once, leaving results and gradients unchanged",
          "[columnformer][grad]") {
  MixtureCoefficients c(4, 3);
  c.init_parameters(1);
  MixtureLinear lin(c, 3, 3);
  lin.init_parameters(2);
  Tensor x = Tensor::randn({2, 4, 3}, 3);
  // The layer applied twice, as the recurrent encoder applies its block.
  auto run = [&](bool hold) {
    c.zero_grad();
    lin.zero_grad();
    std::optional<MixtureCoefficients::Hold> held;
    if (hold) held.emplace(c);
    Tensor y = lin.forward(lin.forward(x));
    sum(mul(y, y)).backward();
    return std::vector<Tensor>{y, c.weight.grad(), c.log_scale.grad(), lin.weight.grad(), lin.bias.grad()};
  };
  const std::vector<Tensor> plain = run(false), held = run(true);
  for (size_t i = 0; i < plain.size(); ++i) require_close(held[i], plain[i], 1e-6f);
  {
    MixtureCoefficients::Hold outer(c);
    const Tensor w = c.mix(lin.weight);
    {
      MixtureCoefficients::Hold inner(c);  // nested: the same c and weights
      CHECK(c.mix(lin.weight).data() == w.data());
    }
    CHECK(c.mix(lin.weight).data() == w.data());
    CHECK(c.forward().data() == c.forward().data());
  }
  CHECK(c.forward().data() != c.forward().data());  // released: computed per call
  // mix_experts is the GEMM (N, E) x (E, P).
  Tensor e = Tensor::randn({2, 3, 3}, 4), coeffs = c.forward();
  require_close(mix_experts(coeffs, e), reshape(matmul(coeffs, transpose(reshape(e, {6, 3}), 0, 1)), {4, 2, 3}));
  require_gradcheck([](const std::vector<Tensor>& t) { return mix_experts(t[0], t[1]); }, {coeffs.detach(), e});
}

TEST_CASE("SharedLinear is Linear, over any leading axes", "[columnformer][grad]") {
  SharedLinear layer(3, 2, true);
  layer.init_parameters(1);
  layer.bias = Tensor::randn({2}, 2).requires_grad_();
  Tensor x = Tensor::randn({2, 2, 4, 3}, 3);
  require_close(layer.forward(x), linear(x, layer.weight, layer.bias));
  require_module_gradcheck(layer, x, [&](const Tensor& v) { return layer.forward(v); });
  CHECK(error_of([&] { layer.forward(Tensor::zeros({2, 6})); }) ==
        "Linear: input of shape [2, 6] for weight of shape [2, 3], expected [..., 3]");
}

TEST_CASE("Weight modes by name", "[columnformer][errors]") {
  CHECK(parse_weight_mode("mlp_mode", "untied") == WeightMode::Untied);
  CHECK(error_of([] { parse_weight_mode("mlp_mode", "tied"); }) ==
        "config: key \"mlp_mode\" has value \"tied\"; allowed: classic, untied, moe");
  CHECK(contains(error_of([] { make_linear(Sharing{WeightMode::Moe, 4, nullptr}, 2, 2); }), "coefficients"));
}

TEST_CASE("Multilayer geometry: coordinates and distances (C7)", "[columnformer]") {
  // One sheet of width 2: points -1, 1 on each axis; distances include the
  // offset to the next layer.
  Geometry one = multilayer_geometry({2}, 2.0f);
  REQUIRE(one.size() == 4);
  CHECK(one.columns[1].row == 0);
  CHECK(one.columns[1].col == 1);
  CHECK(one.columns[1].x == 1.0f);
  CHECK(one.columns[1].y == -1.0f);
  CHECK(one.dist.at({0, 0}) == Approx(2.0f));
  CHECK(one.dist.at({0, 1}) == Approx(std::sqrt(4.0f + 4.0f)));
  CHECK(one.dist.at({0, 3}) == Approx(std::sqrt(4.0f + 4.0f + 4.0f)));
  // Two sheets of width 3 (points -1.5, 0, 1.5): the same place one sheet
  // up is `offset` away.
  Geometry two = multilayer_geometry({3, 3}, 2.0f);
  REQUIRE(two.size() == 18);
  CHECK(two.columns[9].sheet == 1);
  CHECK(two.columns[9].z == 2.0f);
  CHECK(two.dist.at({0, 0}) == 0.0f);
  CHECK(two.dist.at({0, 9}) == Approx(2.0f));
  CHECK(two.dist.at({0, 1}) == Approx(1.5f));
  CHECK(two.dist.at({4, 17}) == Approx(std::sqrt(4.0f + 1.5f * 1.5f * 2)));
}

TEST_CASE("Local attention bias is a clamped Gaussian (C8)", "[columnformer]") {
  Tensor dist = Tensor::from({0.0f, 1.0f, 2.0f, 10.0f}, {2, 2});
  Tensor bias = local_attention_bias(dist, 2.0f);
  CHECK(bias.at({0, 0}) == 0.0f);
  CHECK(bias.at({0, 1}) == Approx(-1.0f / 8.0f));
  CHECK(bias.at({1, 0}) == Approx(-0.5f));
  CHECK(bias.at({1, 1}) == -8.0f);
}

TEST_CASE("Wiring cost: local attention costs less than uniform (C9)", "[columnformer]") {
  Geometry g = multilayer_geometry({3});
  const int64_t N = g.size();
  Tensor wd = wiring_weights(g.dist);
  CHECK(mean(wd).item() == Approx(1.0f));
  Tensor local = Tensor::zeros({1, 1, N, N}), uniform = Tensor::full({1, 1, N, N}, 1.0f / float(N));
  for (int64_t i = 0; i < N; ++i) local.set({0, 0, i, i}, 1.0f);
  const float local_cost = wiring_cost(local, wd).item(), uniform_cost = wiring_cost(uniform, wd).item();
  CHECK(local_cost < uniform_cost);
  // By hand: the mean over queries of sum_k |Wd A|.
  double expected = 0;
  for (int64_t i = 0; i < N; ++i) expected += wd.at({i, i});
  CHECK(local_cost == Approx(expected / double(N)));
  CHECK(uniform_cost == Approx(1.0f));  // mean of Wd, times N / N
  // The Gaussian local bias, softmaxed, is more local than uniform too.
  Tensor gaussian = softmax(reshape(local_attention_bias(g.dist, 1.0f), {1, 1, N, N}), -1);
  CHECK(wiring_cost(gaussian, wd).item() < uniform_cost);

  // Gradient, with signed entries (linear mixing maps are not softmaxes).
  Tensor a = away_from_zero({2, 2, N, N}, 3);
  require_gradcheck([&](const std::vector<Tensor>& v) { return wiring_cost(v[0], wd); }, {a});
  CHECK(contains(error_of([&] { wiring_cost(Tensor::zeros({1, 1, 3, 3}), wd); }), "attention of shape [1, 1, 3, 3]"));
}

TEST_CASE("TV loss on mixture coefficients (C10)", "[columnformer]") {
  // One 2x2 sheet, E = 1 per block, two blocks: E = 2 after concatenation.
  Tensor a = Tensor::from({0, 1, 3, 7}, {4, 1}), b = Tensor::from({1, 1, 1, 2}, {4, 1});
  // Block a: rows |3-0| + |7-1| = 9, columns |1-0| + |7-3| = 5; block b: 1 + 1.
  CHECK(tv_loss({a, b}, 1, 2, 0.5f).item() == Approx(0.5 / 2 * (9 + 5 + 1 + 1)));
  // Two sheets: no difference is taken across them.
  Tensor two = Tensor::from({0, 0, 0, 0, 5, 5, 5, 5}, {8, 1});
  CHECK(tv_loss({two}, 2, 2, 1.0f).item() == 0.0f);
  require_gradcheck([](const std::vector<Tensor>& v) { return tv_loss({v[0], v[1]}, 1, 3, 0.1f); },
                    {Tensor::randn({9, 2}, 1), Tensor::randn({9, 3}, 2)});
}
