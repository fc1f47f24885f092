// Universal Transformer with ACT (ARCHITECTURES.md section 6): the halting
// arithmetic on a hand-worked example, gradients through p, the fixed-steps
// invariant, parameter counts by formula and config errors.
#include <cmath>

#include "autograd/graph.h"
#include "nn/act.h"
#include "nn/registry.h"
#include "nn/universal.h"
#include "tests/test_nn_util.h"

using namespace cf;
using cf::test::error_of;
using cf::test::require_gradcheck;
using cf::test::require_module_gradcheck;
using cf::test::sharpen_attention;

namespace {

Config tiny() {
  return Config::parse("image_size = 8\ndim = 8\nheads = 2\nnum_classes = 3\nsteps = 3\nmax_steps = 4\n");
}

// Halting probabilities of three positions over three steps (eps 0.01,
// T_max 3), by step: position a takes 0.3, 0.5, 0.4; b 0.995 (halts at
// once); c 0.1 each step (stopped by T_max).
const float kP[3][3] = {{0.3f, 0.995f, 0.1f}, {0.5f, 0.7f, 0.1f}, {0.4f, 0.7f, 0.1f}};

}  // namespace

TEST_CASE("ACT: halting arithmetic of a hand-worked example", "[universal][act]") {
  AdaptiveHalting act(0.01f, 3);
  act.begin(3, 1);
  // h^t = t at every position, so the state shows the weights it summed.
  // Step 1: a 0 + 0.3 < 0.99, u 0.3; b 0.995 >= 0.99 halts, u = R = 1;
  //         c u 0.1.
  // Step 2: a 0.3 + 0.5 = 0.8, u 0.5; b halted, u 0; c u 0.1 (S 0.2).
  // Step 3: a 0.8 + 0.4 >= 0.99 halts, u = R = 0.2; c t = T_max halts,
  //         u = R = 1 - 0.2 = 0.8.
  const float u[3][3] = {{0.3f, 1.0f, 0.1f}, {0.5f, 0.0f, 0.1f}, {0.2f, 0.0f, 0.8f}};
  float state[3] = {0, 0, 0};
  for (int t = 0; t < 3; ++t) {
    const bool running = act.step(Tensor::full({3, 1}, float(t + 1)), Tensor::from({kP[t][0], kP[t][1], kP[t][2]}, {3, 1}));
    CHECK(running == (t < 2));
    for (int i = 0; i < 3; ++i) {
      CHECK(act.weights().at({i, 0}) == Approx(u[t][i]).margin(1e-6));
      state[i] = u[t][i] * float(t + 1) + (1 - u[t][i]) * state[i];  // (U3)
      CHECK(act.state().at({i, 0}) == Approx(state[i]).margin(1e-6));
    }
  }
  CHECK(act.steps().to_vector() == std::vector<float>{3, 1, 3});
  CHECK(act.remainders().at({0, 0}) == Approx(0.2f).margin(1e-6));
  CHECK(act.remainders().at({1, 0}) == Approx(1.0f).margin(1e-6));
  CHECK(act.remainders().at({2, 0}) == Approx(0.8f).margin(1e-6));
  // rho = mean(n + R) = mean(3.2, 2, 3.8) = 3.
  CHECK(act.ponder_cost().item() == Approx(3.0f).margin(1e-6));
}

TEST_CASE("ACT: gradients flow through the halting probabilities", "[universal][act][grad]") {
  // Every decision of the example above is at least 0.005 from its
  // threshold, more than gradcheck's nudge.
  std::vector<Tensor> inputs;
  for (int t = 0; t < 3; ++t) inputs.push_back(Tensor::from({kP[t][0], kP[t][1], kP[t][2]}, {3, 1}));
  for (int t = 0; t < 3; ++t) inputs.push_back(Tensor::randn({3, 2}, uint64_t(t)));
  require_gradcheck(
      [](const std::vector<Tensor>& v) {
        AdaptiveHalting act(0.01f, 3);
        act.begin(3, 2);
        for (int t = 0; t < 3; ++t) act.step(v[size_t(t) + 3], v[size_t(t)]);
        return concat({reshape(act.state(), {6}), reshape(act.ponder_cost(), {1})}, 0);
      },
      inputs);
}

TEST_CASE("Universal Transformer: a fixed halting probability gives the steps and ponder cost",
          "[universal][act]") {
  auto model = build_model("ut_act_cifar", tiny().set("max_steps", 6));
  auto& ut = dynamic_cast<UniversalTransformer&>(*model);
  NoGradGuard no_grad;
  // w_h = 0 and b_h = logit(0.3): p = 0.3 at every step, so S = 0.3, 0.6,
  // 0.9 and at step 4 0.9 + 0.3 >= 0.99 halts with R = 0.1: n 4, rho 4.1.
  ut.parameter("halt_weight") = Tensor::zeros({1, 8});
  ut.parameter("halt_bias") = Tensor::from({float(std::log(0.3 / 0.7))}, {1});
  ut.forward(Tensor::randn({2, 3, 8, 8}, 1));
  CHECK(ut.steps_taken().shape() == Shape{2, 4});
  for (float n : ut.steps_taken().to_vector()) CHECK(n == 4.0f);
  CHECK(ut.mean_steps() == 4.0);
  CHECK(ut.block_outputs().size() == 4);
  REQUIRE(ut.aux_losses().size() == 1);
  CHECK(ut.aux_losses()[0].first == "ponder_cost");
  CHECK(ut.aux_losses()[0].second.item() == Approx(0.01 * 4.1).epsilon(1e-5));  // tau rho
  // A large bias halts every position at the first step with R = 1.
  ut.parameter("halt_bias") = Tensor::from({20.0f}, {1});
  ut.forward(Tensor::randn({2, 3, 8, 8}, 1));
  CHECK(ut.mean_steps() == 1.0);
  CHECK(ut.aux_losses()[0].second.item() == Approx(0.01 * 2.0).epsilon(1e-5));
}

TEST_CASE("Universal Transformer: T fixed steps are T applications of the shared block", "[universal]") {
  auto model = build_model("ut_cifar", tiny());
  auto& ut = dynamic_cast<UniversalTransformer&>(*model);
  NoGradGuard no_grad;
  Tensor images = Tensor::randn({2, 3, 8, 8}, 2);
  keep_attention_maps(ut);
  ut.forward(images);
  const int64_t N = 4, D = 8;
  Tensor h = ut.patch_embed.forward(images);
  for (int64_t t = 1; t <= 3; ++t) {
    // (U1) written out.
    Tensor P = Tensor::zeros({1, N, D});
    for (int64_t i = 0; i < N; ++i)
      for (int64_t d = 0; d < D; ++d) {
        const double f = std::pow(10000.0, double(d - d % 2) / double(D));
        P.set({0, i, d}, float(d % 2 == 0 ? std::sin(i / f) + std::sin(t / f) : std::cos(i / f) + std::cos(t / f)));
      }
    h = ut.block.forward(add(h, P));  // (U2)
  }
  REQUIRE(ut.block_outputs().size() == 3);
  const Tensor out = ut.block_outputs().back();
  for (int64_t i = 0; i < h.numel(); ++i) CHECK(out.data()[i] == Approx(h.data()[i]).margin(1e-5));
  for (float n : ut.steps_taken().to_vector()) CHECK(n == 3.0f);
  CHECK(ut.aux_losses().empty());
  CHECK(ut.attention_maps().size() == 3);
}

TEST_CASE("Universal Transformer: the post-norm block of the original", "[universal][grad]") {
  auto model = build_model("ut_cifar", tiny().set("post_norm", true));
  auto& ut = dynamic_cast<UniversalTransformer&>(*model);
  Tensor x = Tensor::randn({2, 4, 8}, 4);
  {
    NoGradGuard no_grad;
    // x = LN1(x + MHSA(x)); x = LN2(x + MLP(x)).
    Tensor h = ut.block.norm1.forward(add(x, ut.block.attn.forward(x)));
    Tensor expected = ut.block.norm2.forward(add(h, ut.block.mlp.forward(h)));
    Tensor y = ut.block.forward(x);
    for (int64_t i = 0; i < y.numel(); ++i) CHECK(y.data()[i] == Approx(expected.data()[i]).margin(1e-5));
  }
  Block& block = ut.block;
  require_module_gradcheck(block, x, [&](const Tensor& t) { return block.forward(t); });
}

TEST_CASE("Universal Transformer: parameter counts by formula", "[universal][nn]") {
  for (const char* name : {"ut_cifar", "ut_act_cifar"}) {
    INFO(name);
    auto model = build_model(name);
    const Config& c = model->config();
    const int64_t D = c.get_int("dim"), p = c.get_int("patch_size"), K = c.get_int("num_classes");
    const int64_t D_ff = int64_t(c.get_float("mlp_ratio") * double(D));
    const int64_t block = 2 * D + (2 * D * D + 2 * D * D + D) + 2 * D + 2 * D * D_ff + D_ff + D;  // 2.1-2.3
    const int64_t halting = c.get_string("halting") == "act" ? D + 1 : 0;                    // w_h, b_h
    CHECK(model->num_parameters() == p * p * 3 * D + D + block + halting + 2 * D + D * K + K);
  }
}

TEST_CASE("Universal Transformer: gradients with and without ACT", "[universal][grad]") {
  for (const char* name : {"ut_cifar", "ut_act_cifar"}) {
    INFO(name);
    auto model = build_model(name, tiny().set("halt_bias", -1.0));
    Model& m = *model;
    const bool act = std::string(name) == "ut_act_cifar";
    std::vector<std::string> names = {"patch_embed.proj.bias", "block.attn.q.weight", "block.mlp.fc2.bias"};
    // The halting unit's weight too: dL/dw_h is dL/db_h weighted by the
    // states h, of order 1, although w_h starts at std 0.02.
    if (act) names.insert(names.end(), {"halt_weight", "halt_bias"});
    sharpen_attention(m, {"block.attn.q.weight", "block.attn.k.weight"});
    // And v, proj of std 0.5: through them at 0.02, q's gradient stays below
    // the check's tolerance even sharpened.
    uint64_t seed = 7;
    for (const char* w : {"block.attn.v.weight", "block.attn.proj.weight"})
      m.parameter(w) = Tensor::randn(m.parameter(w).shape(), seed++, 0.0f, 0.5f).requires_grad_();
    require_module_gradcheck(m, Tensor::randn({1, 3, 8, 8}, 3), [&](const Tensor& x) {
      Tensor out = reshape(m.forward(x), {3});
      for (const auto& [loss_name, loss] : m.aux_losses()) out = add(out, loss);
      return out;
    }, names);
  }
}

TEST_CASE("Universal Transformer: bad config values name the key and the value", "[universal][errors]") {
  CHECK(error_of([] { build_model("ut_cifar", Config().set("halting", "sometimes")); }) ==
        "config: key \"halting\" has value \"sometimes\"; allowed: fixed, act");
  CHECK(error_of([] { build_model("ut_act_cifar", Config().set("act_epsilon", 1.5)); }) ==
        "config: key \"act_epsilon\" has value \"1.5\"; it must lie in (0, 1)");
  CHECK(error_of([] { build_model("ut_act_cifar", Config().set("max_steps", 0)); }) ==
        "config: key \"max_steps\" has value \"0\"; at least 1 step");
  CHECK(error_of([] { build_model("ut_cifar", Config().set("heads", 3)); }) ==
        "Attention: dim 128 must be a positive multiple of heads 3");
}
