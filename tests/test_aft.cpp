// AFT (ARCHITECTURES.md section 5): the four variants against (F1) and the
// spec's invariants, numerical stability at |K| ~ 1e4, gradient checks,
// parameter counts by formula, and config errors naming key and value.
#include <cmath>

#include "autograd/graph.h"
#include "nn/aft.h"
#include "nn/registry.h"
#include "tests/test_nn_util.h"

using namespace cf;
using cf::test::contains;
using cf::test::error_of;
using cf::test::require_close;
using cf::test::require_module_gradcheck;

namespace {

// D 4 on a 3 x 3 grid of tokens.
AftOptions tiny(const std::string& variant) {
  AftOptions o;
  o.variant = variant;
  o.dim = 4;
  o.tokens = 9;
  o.grid = 3;
  o.window = variant == "local" ? 2 : 3;
  o.heads = variant == "conv" ? 2 : 1;
  return o;
}

// Copies every parameter both modules have.
void copy_shared(AFT& to, AFT& from) {
  for (const char* name : {"q.weight", "q.bias", "k.weight", "k.bias", "v.weight", "v.bias", "proj.weight", "proj.bias"})
    to.parameter(name) = from.parameter(name);
}

// Pairs (t, t') of a g x g grid with Chebyshev distance < s: per axis
// g + 2 sum_{d=1}^{s-1} (g - d) pairs of coordinates, squared.
int64_t local_pairs(int64_t g, int64_t s) {
  int64_t per_axis = g;
  for (int64_t d = 1; d < s; ++d) per_axis += 2 * (g - d);
  return per_axis * per_axis;
}

// The count of nn/aft.h's header.
int64_t aft_params(const AftOptions& o) {
  const int64_t D = o.dim, Dp = o.hidden ? o.hidden : D, N = o.tokens, H = o.heads, s = o.window;
  const int64_t bias = o.variant == "full"    ? (o.rank ? 2 * N * o.rank : N * N)
                       : o.variant == "local" ? local_pairs(o.grid, s)
                       : o.variant == "conv"  ? H * s * s + 2 * H
                                              : 0;
  return 3 * (D * Dp + o.qkv_bias * Dp) + Dp * D + D + bias;
}

// Every parameter away from its init: the biases away from 0, a live conv
// kernel (gamma near 1), and weights of std 0.5, not 0.02, at which q's and
// k's gradients are below gradcheck's tolerance.
void randomise(Module& m, uint64_t seed) {
  for (const auto& [name, t] : m.named_parameters())
    m.parameter(name) = add_scalar(Tensor::randn(t.shape(), seed++, 0.0f, 0.5f),
                                   contains(name, "gamma") ? 1.0f : 0.0f)
                            .requires_grad_();
}

}  // namespace

TEST_CASE("AFT: every variant is gradient-checked", "[aft][grad]") {
  for (const char* variant : {"full", "local", "simple", "conv"}) {
    for (int64_t rank : {0, 2}) {
      if (rank && std::string(variant) != "full") continue;
      // As built, and with D' = 6 != D and no q, k, v biases.
      for (bool narrow : {false, true}) {
        INFO(variant << " rank " << rank << (narrow ? " hidden 6, no qkv_bias" : ""));
        AftOptions o = tiny(variant);
        o.rank = rank;
        if (narrow) o.hidden = 6, o.qkv_bias = false;
        AFT aft(o);
        CHECK(aft.num_parameters() == aft_params(o));
        randomise(aft, 11);
        require_module_gradcheck(aft, Tensor::randn({2, 9, 4}, 1),
                                 [&](const Tensor& x) { return aft.forward(x); });
      }
    }
  }
}

TEST_CASE("AFT: an AftBlock is gradient-checked in every parameter", "[aft][grad]") {
  for (const char* variant : {"full", "conv"}) {
    INFO(variant);
    AftOptions o = tiny(variant);
    o.hidden = 6;
    AftBlock block(o, 5);
    randomise(block, 12);
    require_module_gradcheck(block, Tensor::randn({2, 9, 4}, 2),
                             [&](const Tensor& x) { return block.forward(x); });
  }
}

TEST_CASE("AFT: simple equals attention whose weights depend on the keys only", "[aft]") {
  AFT simple(tiny("simple")), full(tiny("full"));
  copy_shared(full, simple);  // full's w is 0 at init
  NoGradGuard no_grad;
  Tensor x = Tensor::randn({2, 9, 4}, 2);
  Tensor q = simple.q.forward(x), k = simple.k.forward(x), v = simple.v.forward(x);
  // Weights a_t' = softmax over positions t' of K, per channel: the same for
  // every query t.
  Tensor weights = softmax(k, 1);
  Tensor attended = mul(sigmoid(q), sum(mul(weights, v), 1, true));
  require_close(simple.forward(x), simple.proj.forward(attended));
  require_close(simple.forward(x), full.forward(x));  // (F1) with w = 0
}

TEST_CASE("AFT: full with a sharp diagonal bias returns sigmoid(Q) V", "[aft]") {
  AFT aft(tiny("full"));
  NoGradGuard no_grad;
  Tensor w = Tensor::full({9, 9}, -30.0f);
  for (int64_t t = 0; t < 9; ++t) w.set({t, t}, 0.0f);
  aft.parameter("pos_bias") = w;
  Tensor x = Tensor::randn({2, 9, 4}, 3);
  Tensor expected = aft.proj.forward(mul(sigmoid(aft.q.forward(x)), aft.v.forward(x)));
  require_close(aft.forward(x), expected, 1e-4f);
}

TEST_CASE("AFT: local is full with the bias zeroed outside the window", "[aft]") {
  AFT local(tiny("local")), full(tiny("full"));
  copy_shared(full, local);
  NoGradGuard no_grad;
  local.parameter("pos_bias") = Tensor::randn(local.pos_bias.shape(), 4);
  Tensor w = local.position_bias();
  // Window 2: Chebyshev distance at most 1 on the 3 x 3 grid.
  for (int64_t t = 0; t < 9; ++t)
    for (int64_t u = 0; u < 9; ++u) {
      const bool inside = std::abs(t / 3 - u / 3) < 2 && std::abs(t % 3 - u % 3) < 2;
      CHECK((w.at({t, u}) != 0.0f) == inside);
    }
  full.parameter("pos_bias") = w;
  Tensor x = Tensor::randn({2, 9, 4}, 5);
  require_close(local.forward(x), full.forward(x));
}

TEST_CASE("AFT: conv is full with w the kernel around each token, and simple without one", "[aft]") {
  AftOptions o = tiny("conv");
  o.heads = 1;  // one kernel for every channel, as AFT-full's single w
  AFT conv(o), full(tiny("full")), simple(tiny("simple"));
  copy_shared(full, conv);
  copy_shared(simple, conv);
  NoGradGuard no_grad;
  Tensor x = Tensor::randn({2, 9, 4}, 6);
  // gamma = beta = 0 at init: a zero kernel.
  require_close(conv.forward(x), simple.forward(x));

  conv.parameter("gamma") = Tensor::from({1.3f}, {1});
  conv.parameter("beta") = Tensor::from({-0.4f}, {1});
  conv.parameter("pos_bias") = Tensor::randn({1, 3, 3}, 7);
  // The reparameterised kernel gamma (w - mean) / std + beta, then
  // w_tt' = kernel[dy + 1, dx + 1] for t' = t + (dy, dx), 0 elsewhere.
  std::vector<float> raw = conv.pos_bias.to_vector();
  double mean = 0, var = 0;
  for (float r : raw) mean += r / 9.0;
  for (float r : raw) var += (r - mean) * (r - mean) / 9.0;
  Tensor w = Tensor::zeros({9, 9});
  for (int64_t t = 0; t < 9; ++t)
    for (int64_t u = 0; u < 9; ++u) {
      const int64_t dy = u / 3 - t / 3, dx = u % 3 - t % 3;
      if (std::abs(dy) <= 1 && std::abs(dx) <= 1)
        w.set({t, u}, float(1.3 * (raw[size_t((dy + 1) * 3 + dx + 1)] - mean) / std::sqrt(var + 1e-5) - 0.4));
    }
  full.parameter("pos_bias") = w;
  require_close(conv.forward(x), full.forward(x), 1e-4f);
}

TEST_CASE("AFT: stable with keys of size 1e4", "[aft]") {
  NoGradGuard no_grad;
  Tensor x = Tensor::randn({2, 9, 4}, 8);
  for (const char* variant : {"full", "local", "simple", "conv"}) {
    INFO(variant);
    AFT aft(tiny(variant));
    aft.parameter("k.weight") = Tensor::randn({4, 4}, 9, 0.0f, 1e4f);
    // Position biases spanning several units: exp(w) alone would still be
    // fine, exp(K) alone would not.
    for (const auto& [name, t] : aft.named_parameters())
      if (name == "pos_bias" || name == "gamma") aft.parameter(name) = Tensor::randn(t.shape(), 10, 0.0f, 5.0f);
    for (float y : aft.forward(x).to_vector()) REQUIRE(std::isfinite(y));
  }
  // The core against (F1) evaluated in double with the max subtracted.
  Tensor q = Tensor::randn({1, 9, 4}, 12), k = Tensor::randn({1, 9, 4}, 13, 0.0f, 1e4f),
         v = Tensor::randn({1, 9, 4}, 14);
  Tensor y = aft_core(q, k, v, [](const Tensor& z) { return sum(z, 1, true); });
  for (int64_t c = 0; c < 4; ++c) {
    double m = -1e30, num = 0, den = 0;
    for (int64_t t = 0; t < 9; ++t) m = std::max(m, double(k.at({0, t, c})));
    for (int64_t t = 0; t < 9; ++t) {
      const double e = std::exp(double(k.at({0, t, c})) - m);
      num += e * v.at({0, t, c});
      den += e;
    }
    for (int64_t t = 0; t < 9; ++t)
      CHECK(y.at({0, t, c}) == Approx(num / den / (1.0 + std::exp(-double(q.at({0, t, c}))))).margin(1e-6));
  }
}

TEST_CASE("AFT models: parameter counts by formula and shapes", "[aft][nn]") {
  for (const char* name : {"aft_full_cifar", "aft_simple_cifar", "aft_local_cifar", "aft_conv_cifar"}) {
    INFO(name);
    auto model = build_model(name);
    const Config& c = model->config();
    const int64_t D = c.get_int("dim"), p = c.get_int("patch_size"), S = c.get_int("image_size");
    const int64_t K = c.get_int("num_classes"), L = c.get_int("depth"), N = (S / p) * (S / p);
    const int64_t D_ff = int64_t(c.get_float("mlp_ratio") * double(D));
    AftOptions o;
    o.variant = c.get_string("variant");
    o.dim = D;
    o.tokens = N;
    o.grid = S / p;
    o.window = c.get_int("window");
    o.heads = c.get_int("heads");
    const int64_t block = 2 * D + aft_params(o) + 2 * D + 2 * D * D_ff + D_ff + D;  // LN, AFT, LN, MLP (2.2)
    CHECK(model->num_parameters() == p * p * 3 * D + D + N * D + L * block + 2 * D + D * K + K);
    Tensor logits = model->forward(Tensor::randn({2, 3, S, S}, 1));
    CHECK(logits.shape() == Shape{2, K});
    CHECK(model->block_outputs().size() == size_t(L));
  }
  CHECK(build_model("aft_conv_cifar")->config().get_int("heads") == 128 / 32);
  CHECK(build_model("aft_full_cifar", Config().set("rank", 8))->num_parameters() ==
        build_model("aft_full_cifar")->num_parameters() + 6 * (2 * 64 * 8 - 64 * 64));
}

TEST_CASE("AFT models: gradients at a tiny size", "[aft][grad]") {
  for (const char* name : {"aft_local_cifar", "aft_conv_cifar"}) {
    INFO(name);
    auto model = build_model(name, Config::parse("image_size = 12\ndim = 4\ndepth = 1\nheads = 2\nnum_classes = 3\n"));
    Model& m = *model;
    std::vector<std::string> names = {"pos_embed.weight", "blocks.0.norm1.weight", "blocks.0.aft.pos_bias",
                                      "blocks.0.mlp.fc1.weight", "head.bias"};
    if (std::string(name) == "aft_conv_cifar") {
      // gamma starts at 0, where the kernel and so the output ignore pos_bias:
      // both of its gradients would be 0 whatever the backward computed.
      names.push_back("blocks.0.aft.gamma");
      m.parameter("blocks.0.aft.gamma") = Tensor::randn(m.parameter("blocks.0.aft.gamma").shape(), 5)
                                              .requires_grad_();
    }
    require_module_gradcheck(m, Tensor::randn({1, 3, 12, 12}, 4), [&](const Tensor& x) { return m.forward(x); }, names);
  }
}

TEST_CASE("AFT: bad config values name the key and the value", "[aft][errors]") {
  CHECK(error_of([] { build_model("aft_full_cifar", Config().set("variant", "sparse")); }) ==
        "AFT: variant \"sparse\" is unknown (full, local, simple, conv)");
  CHECK(error_of([] { build_model("aft_local_cifar", Config().set("window", 9)); }) ==
        "AFT: window 9 is not allowed: local windows run from 1 to 8, the grid's side");
  CHECK(error_of([] { build_model("aft_conv_cifar", Config().set("window", 4)); }) ==
        "AFT: window 4 is not allowed: conv kernels are odd, from 1 to 15 on a 8x8 grid");
  CHECK(error_of([] { build_model("aft_conv_cifar", Config().set("heads", 3)); }) ==
        "AFT: heads 3 must divide the hidden width 128");
  CHECK(error_of([] { build_model("aft_simple_cifar", Config().set("rank", 4)); }) ==
        "AFT: rank 4 (a factorised bias) is an option of the full variant only");
  CHECK(contains(error_of([] { build_model("aft_full_cifar", Config().set("windw", 3)); }), "window"));
}
