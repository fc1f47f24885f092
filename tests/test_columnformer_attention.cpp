// The Columnformer's token mixers and block (ARCHITECTURES.md 3.3, 3.4):
// every attention mode and option, gradient-checked at B 2, N 4, D 4.
#include <cmath>

#include "autograd/graph.h"
#include "autograd/ops.h"
#include "nn/attention.h"
#include "nn/columnformer_block.h"
#include "tests/test_nn_util.h"

using namespace cf;
using cf::test::contains;
using cf::test::error_of;
using cf::test::require_module_gradcheck;

namespace {

MixerOptions tiny_mixer(const std::string& mode) {
  MixerOptions o;
  o.mode = mode;
  o.dim = 4;
  o.heads = 2;
  o.tokens = 4;
  return o;
}

// Parameters are drawn again with a seed and the zero-initialised ones
// (biases) made non-zero, so that every gradient path is exercised.
void randomise(Module& m, uint64_t seed) {
  m.init_parameters(seed);
  NoGradGuard no_grad;
  uint64_t i = 0;
  for (auto& [name, t] : m.named_parameters()) {
    Tensor r = Tensor::randn(t.shape(), seed + ++i, 0.0f, 0.3f);
    for (int64_t j = 0; j < t.numel(); ++j) t.data()[j] += r.data()[j];
  }
}

}  // namespace

TEST_CASE("Every attention mode and option: gradients and map shapes (3.3)", "[columnformer][grad]") {
  struct Case {
    const char* what;
    MixerOptions options;
  };
  std::vector<Case> cases;
  for (const char* mode : {"classic", "untied", "moe", "selection", "mixing", "linmixing"})
    cases.push_back({mode, tiny_mixer(mode)});
  for (const char* mode : {"classic", "untied", "moe"}) {
    MixerOptions o = tiny_mixer(mode);
    o.qk_dim = 3;
    o.qkv_bias = true;
    o.attn_bias = o.head_bias = true;
    cases.push_back({"qk_dim 3, qkv_bias, attn_bias, head_bias", o});
    o = tiny_mixer(mode);
    o.no_vp = true;
    o.heads = 1;
    o.attn_bias = true;
    cases.push_back({"no_vp, one head, attn_bias", o});
  }
  for (const Case& c : cases) {
    INFO(c.options.mode << ": " << c.what);
    MixtureCoefficients coeffs(4, 3);
    randomise(coeffs, 11);
    std::unique_ptr<TokenMixer> mixer = make_mixer(c.options, &coeffs);
    randomise(*mixer, 1);
    Tensor x = Tensor::randn({2, 4, 4}, 2);
    Tensor y = mixer->forward(x);
    CHECK(y.shape() == Shape{2, 4, 4});
    const bool is_static = c.options.mode == "mixing" || c.options.mode == "linmixing";
    CHECK(mixer->attention_map().shape() == Shape{is_static ? 1 : 2, c.options.heads, 4, 4});
    require_module_gradcheck(*mixer, x, [&](const Tensor& v) { return mixer->forward(v); });
    if (c.options.mode == "moe") {  // and through the shared coefficients
      Tensor w = coeffs.weight.detach();
      cf::test::require_gradcheck([&](const std::vector<Tensor>& v) {
        coeffs.weight = v[0];
        return mixer->forward(x);
      }, {w});
    }
  }
}

namespace {

// (B, N, H w) -> (B, H, N, w) and back, for the unfused reference.
Tensor split(const Tensor& t, int64_t heads) {
  return permute(reshape(t, {t.size(0), t.size(1), heads, t.size(2) / heads}), {0, 2, 1, 3});
}
Tensor merge(const Tensor& t) {
  return reshape(permute(t, {0, 2, 1, 3}), {t.size(0), t.size(2), t.size(1) * t.size(3)});
}

void require_near(const Tensor& a, const Tensor& b, float tol = 1e-6f) {
  REQUIRE(a.shape() == b.shape());
  for (int64_t i = 0; i < a.numel(); ++i) REQUIRE(a.data()[i] == Approx(b.data()[i]).margin(tol));
}

}  // namespace

TEST_CASE("attention_weights and attend are (A2)-(A4) without the head copies", "[columnformer][grad]") {
  const int64_t B = 2, N = 5, H = 2, d = 3, w = 2;
  const float scale = 0.7f;
  Tensor q = Tensor::randn({B, N, H * d}, 1), k = Tensor::randn({B, N, H * d}, 2);
  Tensor v = Tensor::randn({B, N, H * w}, 3);
  Tensor bias = Tensor::randn({N, N}, 4), head_bias = Tensor::randn({H, N, N}, 5);
  for (int with : {0, 1, 2, 3}) {  // bit 0: attn_bias, bit 1: head_bias
    INFO("attn_bias " << (with & 1) << ", head_bias " << (with >> 1));
    const Tensor ab = with & 1 ? bias : Tensor(), hb = with & 2 ? head_bias : Tensor();
    Tensor expected = matmul(mul_scalar(split(q, H), scale), transpose(split(k, H), 2, 3));
    if (ab.defined()) expected = add(expected, ab);
    if (hb.defined()) expected = add(expected, hb);
    expected = softmax(expected, -1);
    Tensor A = attention_weights(q, k, ab, hb, H, scale);
    require_near(A, expected);
    require_near(attend(A, v), merge(matmul(expected, split(v, H))));
    std::vector<Tensor> inputs{q, k};
    if (ab.defined()) inputs.push_back(ab);
    if (hb.defined()) inputs.push_back(hb);
    cf::test::require_gradcheck([&](const std::vector<Tensor>& t) {
      const Tensor a = with & 1 ? t[2] : Tensor(), h = with & 2 ? t[with & 1 ? 3 : 2] : Tensor();
      return attend(attention_weights(t[0], t[1], a, h, H, scale), v);
    }, inputs);
  }
  // One map shared by every image (the static mixers): (1, H, N, N).
  Tensor shared = softmax(Tensor::randn({1, H, N, N}, 6), -1);
  require_near(attend(shared, v), merge(matmul(shared, split(v, H))));
  cf::test::require_gradcheck([](const std::vector<Tensor>& t) { return attend(t[0], t[1]); }, {shared, v});
  CHECK(cf::test::error_of([&] { attend(Tensor::zeros({2, H, N, N}), Tensor::zeros({3, N, H * w})); }) ==
        "attend: attention of shape [2, 2, 5, 5] and values of shape [3, 5, 4], expected [B or 1, H, N, N] and "
        "[B, N, H w]");
}

TEST_CASE("Classic mode is MHSA of 2.1 with the same weights", "[columnformer]") {
  AttentionOptions a;
  a.dim = 4;
  a.heads = 2;
  a.tokens = 4;
  a.qkv_bias = true;
  a.attn_bias = a.head_bias = true;
  Attention reference(a);
  MixerOptions o = tiny_mixer("classic");
  o.qkv_bias = o.attn_bias = o.head_bias = true;
  std::unique_ptr<TokenMixer> mixer = make_mixer(o, nullptr);
  randomise(*mixer, 3);
  reference.load_state_dict(mixer->state_dict());
  Tensor x = Tensor::randn({2, 4, 4}, 4);
  Tensor y = mixer->forward(x), expected = reference.forward(x);
  for (int64_t i = 0; i < y.numel(); ++i) CHECK(y.data()[i] == Approx(expected.data()[i]).margin(1e-6));
}

TEST_CASE("Static mixers: A = softmax(bias + head_bias) or bias + head_bias", "[columnformer]") {
  for (bool use_softmax : {true, false}) {
    MixerOptions o = tiny_mixer(use_softmax ? "mixing" : "linmixing");
    std::unique_ptr<TokenMixer> mixer = make_mixer(o, nullptr);
    randomise(*mixer, 5);
    Tensor x = Tensor::randn({2, 4, 4}, 6);
    Tensor y = mixer->forward(x);
    Tensor a = add(mixer->attn_bias, mixer->head_bias);  // (H, N, N)
    if (use_softmax) a = softmax(a, -1);
    // y[b, n, head h] = sum_m A[h, n, m] x[b, m, head h]
    for (int64_t b = 0; b < 2; ++b)
      for (int64_t n = 0; n < 4; ++n)
        for (int64_t d = 0; d < 4; ++d) {
          const int64_t h = d / 2;
          double s = 0;
          for (int64_t m = 0; m < 4; ++m) s += a.at({h, n, m}) * x.at({b, m, d});
          CHECK(y.at({b, n, d}) == Approx(s).margin(1e-5));
        }
    CHECK(mixer->num_parameters() == 4 * 4 + 2 * 4 * 4);
  }
  // Selection: H N h + N^2 + H N^2.
  CHECK(make_mixer(tiny_mixer("selection"), nullptr)->num_parameters() == 2 * 4 * 2 + 16 + 2 * 16);
}

TEST_CASE("Token mixer options are checked, naming the key", "[columnformer][errors]") {
  MixerOptions o = tiny_mixer("attention");
  CHECK(error_of([&] { make_mixer(o, nullptr); }) ==
        "config: key \"attn_mode\" has value \"attention\"; allowed: classic, untied, selection, mixing, linmixing, moe");
  o = tiny_mixer("classic");
  o.heads = 3;
  CHECK(error_of([&] { make_mixer(o, nullptr); }) == "config: key \"heads\" has value \"3\"; it must divide dim 4");
  o = tiny_mixer("classic");
  o.qk_dim = -1;
  CHECK(error_of([&] { make_mixer(o, nullptr); }) ==
        "config: key \"qk_dim\" has value \"-1\"; must be >= 0 (0: dim / heads)");
  o = tiny_mixer("classic");
  o.head_bias = true;
  CHECK(contains(error_of([&] { make_mixer(o, nullptr); }), "key \"head_bias\""));
  std::unique_ptr<TokenMixer> mixer = make_mixer(tiny_mixer("untied"), nullptr);
  CHECK(error_of([&] { mixer->forward(Tensor::zeros({1, 5, 4})); }) ==
        "token mixer: input of shape [1, 5, 4], expected [B, 4, 4]");
}

TEST_CASE("Block: every MLP and norm mode, attention skip on and off (3.4)", "[columnformer][grad]") {
  for (const char* mode : {"classic", "untied", "moe"})
    for (bool skip : {true, false}) {
      INFO(mode << (skip ? " with" : " without") << " attention skip");
      ColumnBlockOptions o;
      o.attn = tiny_mixer(mode);
      o.mlp_mode = o.norm_mode = mode;
      o.mlp_ratio = 2.0;
      o.experts = 2;
      o.skip_attn = skip;
      ColumnBlock block(o);
      randomise(block, 7);
      Tensor x = Tensor::randn({2, 4, 4}, 8);
      require_module_gradcheck(block, x, [&](const Tensor& v) { return block.forward(v); });
      // (C3), (C4) by hand.
      Tensor a = block.attn->forward(block.norm1->forward(x));
      Tensor h = skip ? add(x, a) : a;
      Tensor expected = add(h, block.mlp->forward(block.norm2->forward(h)));
      Tensor y = block.forward(x);
      for (int64_t i = 0; i < y.numel(); ++i) CHECK(y.data()[i] == Approx(expected.data()[i]).margin(1e-6));
    }
}

TEST_CASE("Moe MLP width: conserve divides by the experts (3.2)", "[columnformer]") {
  ColumnBlockOptions o;
  o.attn = tiny_mixer("classic");
  o.attn.dim = 8;
  o.mlp_mode = "moe";
  o.mlp_ratio = 2.0;
  o.experts = 4;
  CHECK(ColumnBlock::mlp_width(o) == 4);  // floor(8 * 2 / 4)
  o.mlp_conserve = false;
  CHECK(ColumnBlock::mlp_width(o) == 16);
  o.mlp_mode = "untied";
  o.mlp_conserve = true;
  CHECK(ColumnBlock::mlp_width(o) == 16);  // conserve applies to moe only
  // Moe with conserve has as many MLP parameters as a dense MLP: E (D Dff/E + ...)
  o.mlp_mode = "moe";
  ColumnBlock moe(o);
  const int64_t D = 8, E = 4, F = 4;
  CHECK(moe.mlp->num_parameters() == E * (2 * D * F + F + D));
  CHECK(moe.coeffs->num_parameters() == 4 * E + 4);
}
