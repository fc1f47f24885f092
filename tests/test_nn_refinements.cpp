// The refinements of ARCHITECTURES.md section 8 as options of the shared
// attention and block (nn/attention.h, nn/block.h) and as config keys of the
// vision transformer: each against its definition, gradient-checked,
// counted by formula, and rejected when combined with what it cannot take.
#include <cmath>

#include "autograd/graph.h"
#include "nn/block.h"
#include "nn/registry.h"
#include "nn/vision_transformer.h"
#include "tests/test_nn_util.h"

using namespace cf;
using cf::test::contains;
using cf::test::error_of;
using cf::test::require_close;
using cf::test::require_module_gradcheck;

namespace {

AttentionOptions tiny_options() {
  AttentionOptions o;
  o.dim = 4;
  o.heads = 2;
  o.tokens = 4;
  return o;
}

// The parameter count of the header of nn/attention.h, from the options.
int64_t attention_params(const AttentionOptions& o) {
  const int64_t D = o.dim, H = o.heads, N = o.tokens, d_qk = o.qk_dim ? o.qk_dim : D / H, d_v = D / H;
  const int64_t Hkv = o.multi_query ? 1 : H;
  const int64_t offsets = o.grid ? (2 * o.grid - 1) * (2 * o.grid - 1) : 2 * N - 1;
  return H * D * d_qk + Hkv * D * d_qk + !o.no_vp * (Hkv * D * d_v + D * D + D) +
         o.qkv_bias * (H * d_qk + Hkv * d_qk + !o.no_vp * Hkv * d_v) + o.attn_bias * N * N +
         o.head_bias * H * N * N + o.qk_norm + o.rel_pos_bias * H * offsets;
}

}  // namespace

TEST_CASE("Refinements: every attention option is gradient-checked", "[refinements][grad]") {
  struct Case {
    const char* name;
    void (*set)(AttentionOptions&);
  };
  const Case cases[] = {
      {"linear", [](AttentionOptions& o) { o.linear = true; }},
      {"linear, multi_query, no_vp", [](AttentionOptions& o) { o.linear = o.multi_query = o.no_vp = true; }},
      {"qk_norm", [](AttentionOptions& o) { o.qk_norm = true; }},
      {"multi_query, qkv_bias", [](AttentionOptions& o) { o.multi_query = o.qkv_bias = true; }},
      {"rel_pos_bias on a 2x2 grid", [](AttentionOptions& o) { o.rel_pos_bias = true, o.grid = 2; }},
      {"rel_pos_bias along the sequence", [](AttentionOptions& o) { o.rel_pos_bias = true; }},
  };
  for (const Case& c : cases) {
    INFO(c.name);
    AttentionOptions o = tiny_options();
    c.set(o);
    Attention attn(o);
    // Every parameter but qk_scale off its init: nonzero biases, and q, k,
    // v, proj of std 0.5, not 0.02, at which q's and k's gradients are below
    // the check's tolerance (see sharpen_attention).
    uint64_t seed = 5;
    for (auto& [name, t] : attn.named_parameters())
      if (name != "qk_scale")
        attn.parameter(name) = Tensor::randn(t.shape(), seed++, 0.0f, 0.5f).requires_grad_();
    CHECK(attn.num_parameters() == attention_params(o));
    require_module_gradcheck(attn, Tensor::randn({2, 4, 4}, 1),
                             [&](const Tensor& x) { return attn.forward(x); });
  }
}

TEST_CASE("Refinements: linear attention follows its formula", "[refinements]") {
  AttentionOptions o = tiny_options();
  o.linear = o.no_vp = true;  // y = o: the formula can be checked on x itself
  o.heads = 1;
  Attention attn(o);
  Tensor x = Tensor::randn({1, 4, 4}, 2);
  Tensor y = attn.forward(x);
  CHECK_FALSE(attn.attention_map().defined());
  Tensor q = attn.q.forward(x), k = attn.k.forward(x);
  auto phi = [](float u) { return u > 0 ? u + 1.0f : std::exp(u); };
  for (int64_t t = 0; t < 4; ++t)
    for (int64_t c = 0; c < 4; ++c) {
      double num = 0, den = 0;
      for (int64_t s = 0; s < 4; ++s) {
        double w = 0;
        for (int64_t j = 0; j < 4; ++j) w += phi(q.at({0, t, j})) * phi(k.at({0, s, j}));
        num += w * x.at({0, s, c});
        den += w;
      }
      CHECK(y.at({0, t, c}) == Approx(num / den).epsilon(1e-5));
    }
}

TEST_CASE("Refinements: multi-query equals attention with one k/v head copied", "[refinements]") {
  AttentionOptions o = tiny_options();
  o.multi_query = true;
  Attention mqa(o);
  o.multi_query = false;
  Attention mha(o);
  NoGradGuard no_grad;
  // Every head of mha gets mqa's single key and value head.
  mha.parameter("q.weight") = mqa.q.weight;
  mha.parameter("k.weight") = concat({mqa.k.weight, mqa.k.weight}, 0);
  mha.parameter("v.weight") = concat({mqa.v->weight, mqa.v->weight}, 0);
  mha.parameter("proj.weight") = mqa.proj->weight;
  CHECK(mqa.k.weight.shape() == Shape{2, 4});  // d_qk x D: one head
  Tensor x = Tensor::randn({2, 4, 4}, 3);
  require_close(mqa.forward(x), mha.forward(x));
}

TEST_CASE("Refinements: QK normalisation is scale-free and starts at log2(N^2 - N)",
          "[refinements]") {
  AttentionOptions o = tiny_options();
  o.qk_norm = true;
  Attention attn(o);
  CHECK(attn.qk_scale.item() == Approx(std::log2(4.0 * 4.0 - 4.0)));
  NoGradGuard no_grad;
  Tensor x = Tensor::randn({1, 4, 4}, 4);
  Tensor y = attn.forward(x);
  // Scaling q and k changes nothing: only their directions reach (A2).
  attn.parameter("q.weight") = mul_scalar(attn.q.weight, 7.0f);
  attn.parameter("k.weight") = mul_scalar(attn.k.weight, 0.1f);
  require_close(attn.forward(x), y);
}

TEST_CASE("Refinements: relative position bias indexes 2-D offsets", "[refinements]") {
  AttentionOptions o = tiny_options();
  o.heads = 1;
  o.rel_pos_bias = true;
  o.grid = 2;
  Attention rel(o);
  o.rel_pos_bias = false;
  o.attn_bias = true;
  Attention absolute(o);
  NoGradGuard no_grad;
  for (const char* name : {"q.weight", "k.weight", "v.weight", "proj.weight"})
    absolute.parameter(name) = rel.parameter(name);
  // Offset (dy, dx) in [-1, 1]^2 has column (dy + 1) 3 + dx + 1; tokens are
  // (0,0), (0,1), (1,0), (1,1).
  Tensor table = Tensor::randn({1, 9}, 6);
  rel.parameter("rel_pos_bias") = table;
  Tensor bias = Tensor::zeros({4, 4});
  for (int64_t t = 0; t < 4; ++t)
    for (int64_t u = 0; u < 4; ++u)
      bias.set({t, u}, table.at({0, (t / 2 - u / 2 + 1) * 3 + t % 2 - u % 2 + 1}));
  absolute.parameter("attn_bias") = bias;
  Tensor x = Tensor::randn({2, 4, 4}, 7);
  require_close(rel.forward(x), absolute.forward(x));
  require_close(rel.attention_map(), absolute.attention_map());
}

TEST_CASE("Refinements: the simplified block and LayerScale", "[refinements][grad]") {
  BlockOptions o;
  o.attention = tiny_options();
  o.attention.no_vp = true;
  o.mlp_hidden = 6;
  o.skip_attn = false;
  o.layer_scale = 0.5f;
  Block block(o);
  CHECK(block.ls1->gamma.to_vector() == std::vector<float>(4, 0.5f));
  // Weights of std 0.5: at the init's 0.02 the gradients of q, norm2 and
  // ls2 are below the check's tolerance.
  uint64_t seed = 9;
  for (auto& [name, t] : block.named_parameters())
    if (!contains(name, "ls"))
      block.parameter(name) = Tensor::randn(t.shape(), seed++, 0.0f, 0.5f).requires_grad_();
  Tensor x = Tensor::randn({2, 4, 4}, 8);
  {
    NoGradGuard no_grad;
    // No skip around attention (He & Hofmann): h = LS1(MHSA(LN1(x))), then (B2).
    Tensor h = mul_scalar(block.attn.forward(block.norm1.forward(x)), 0.5f);
    require_close(block.forward(x), add(h, mul_scalar(block.mlp.forward(block.norm2.forward(h)), 0.5f)));
  }
  require_module_gradcheck(block, x, [&](const Tensor& t) { return block.forward(t); });
}

TEST_CASE("Refinements: config keys of the vision transformer", "[refinements][nn]") {
  const Config tiny = Config::parse("image_size = 8\ndim = 8\ndepth = 1\nheads = 2\nnum_classes = 3\n");
  auto base = build_model("vit_lite_cpu", tiny);
  const int64_t D = 8, H = 2, N = 4, grid = 2;
  struct Case {
    const char* setting;
    int64_t added;  // parameters added to the base model
  };
  const Case cases[] = {
      {"skip_attn = false", 0},
      {"multi_query = true", -(H - 1) * 2 * D * (D / H)},        // one k and v head instead of H
      {"qk_norm = true", 1},
      {"rel_pos_bias = true", H * (2 * grid - 1) * (2 * grid - 1)},
      {"rel_pos_bias = true\npool = cls", H * (2 * (N + 1) - 1) + D + D},  // + cls token, 1 more position
      {"linear_attn = true", 0},
      {"layer_scale = 0.1", 2 * D},
  };
  for (const Case& c : cases) {
    INFO(c.setting);
    Config config = Config::parse(c.setting);
    for (const std::string& key : tiny.keys())
      if (!config.has(key)) config.set(key, tiny.get_string(key));
    auto model = build_model("vit_lite_cpu", config);
    CHECK(model->num_parameters() == base->num_parameters() + c.added);
    CHECK(model->forward(Tensor::randn({2, 3, 8, 8}, 1)).shape() == Shape{2, 3});
  }
  auto with_all = build_model("vit_lite_cpu", Config(tiny).set("multi_query", true).set("qk_norm", true)
                                                  .set("rel_pos_bias", true).set("layer_scale", 0.5));
  Model& m = *with_all;
  // The attention's weights and biases of std 0.5: at the init's 0.02 the
  // gradients of qk_scale, rel_pos_bias and q are below the check's tolerance.
  uint64_t seed = 3;
  for (const auto& [name, t] : m.named_parameters())
    if (contains(name, "blocks.0.attn.") && !contains(name, "qk_scale"))
      m.parameter(name) = Tensor::randn(t.shape(), seed++, 0.0f, 0.5f).requires_grad_();
  require_module_gradcheck(m, Tensor::randn({1, 3, 8, 8}, 2),
                           [&](const Tensor& x) { return m.forward(x); },
                           {"blocks.0.attn.qk_scale", "blocks.0.attn.rel_pos_bias",
                            "blocks.0.attn.q.weight", "blocks.0.attn.k.weight"});
}

TEST_CASE("Refinements: options that do not combine are errors", "[refinements][errors]") {
  AttentionOptions o = tiny_options();
  o.linear = true;
  o.qk_norm = true;
  CHECK(contains(error_of([&] { Attention a(o); }), "linear attention forms no score matrix"));
  o = tiny_options();
  o.rel_pos_bias = true;
  o.grid = 3;
  CHECK(error_of([&] { Attention a(o); }) == "Attention: a grid of side 3 does not hold 4 tokens");
  CHECK(contains(error_of([] { build_model("vit_lite_cpu", Config().set("linear_attn", true).set("attn_bias", true)); }),
                 "linear attention forms no score matrix"));
  CHECK(contains(error_of([] { build_model("vit_lite_cpu", Config().set("qk_norm", "maybe")); }), "qk_norm"));
}
