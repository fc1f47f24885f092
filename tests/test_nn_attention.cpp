// Multi-head self-attention with every option of ARCHITECTURES.md 2.1, and
// the block of 2.3.
#include <algorithm>
#include <cmath>

#include "nn/attention.h"
#include "nn/block.h"
#include "tests/test_nn_util.h"

using namespace cf;
using cf::test::contains;
using cf::test::error_of;
using cf::test::require_module_gradcheck;

namespace {

// Params of 2.1: 2 D H d_qk + [!no_vp](2 D^2 + D) + [qkv_bias](2 H d_qk + [!no_vp] D)
//                + [attn_bias] N^2 + [head_bias] H N^2.
int64_t attention_params(const AttentionOptions& o) {
  const int64_t D = o.dim, H = o.heads, N = o.tokens;
  const int64_t d_qk = o.qk_dim ? o.qk_dim : D / H;
  return 2 * D * H * d_qk + (!o.no_vp) * (2 * D * D + D) +
         o.qkv_bias * (2 * H * d_qk + (!o.no_vp) * D) + o.attn_bias * N * N +
         o.head_bias * H * N * N;
}

// Every combination of the options, at a tiny size.
std::vector<AttentionOptions> all_options() {
  std::vector<AttentionOptions> out;
  for (int64_t qk_dim : {0, 3})
    for (bool qkv_bias : {false, true})
      for (int bias : {0, 1, 2})
        for (bool no_vp : {false, true}) {
          AttentionOptions o;
          o.dim = 4;
          o.heads = 2;
          o.tokens = 3;
          o.qk_dim = qk_dim;
          o.qkv_bias = qkv_bias;
          o.attn_bias = bias >= 1;
          o.head_bias = bias == 2;
          o.no_vp = no_vp;
          out.push_back(o);
        }
  return out;
}

std::string describe(const AttentionOptions& o) {
  return "qk_dim " + std::to_string(o.qk_dim) + " qkv_bias " + std::to_string(o.qkv_bias) +
         " attn_bias " + std::to_string(o.attn_bias) + " head_bias " + std::to_string(o.head_bias) +
         " no_vp " + std::to_string(o.no_vp);
}

// Random values for the (zero-initialised) biases, so they matter.
void randomise(Module& m, uint64_t seed) {
  for (auto& [name, t] : m.named_parameters())
    m.parameter(name) = Tensor::randn(t.shape(), seed++, 0.0f, 0.5f).requires_grad_();
}

}  // namespace

TEST_CASE("Attention parameter counts follow the formula of 2.1", "[nn][attention]") {
  for (const AttentionOptions& o : all_options()) {
    INFO(describe(o));
    CHECK(Attention(o).num_parameters() == attention_params(o));
  }
  AttentionOptions big;
  big.dim = 256;
  big.heads = 4;
  big.tokens = 64;
  CHECK(Attention(big).num_parameters() == 4 * 256 * 256 + 256);
}

TEST_CASE("Attention gradients for every combination of options", "[nn][attention][grad]") {
  for (const AttentionOptions& o : all_options()) {
    INFO(describe(o));
    Attention attn(o);
    randomise(attn, 20);
    require_module_gradcheck(attn, Tensor::randn({2, 3, 4}, 21),
                             [&](const Tensor& x) { return attn.forward(x); });
  }
}

TEST_CASE("Attention gradients with dropout on A and on y while training",
          "[nn][attention][grad]") {
  // attn_dropout while training takes the unfused path, which forms A and
  // drops its entries; require_module_gradcheck's set_step(0) fixes the masks.
  AttentionOptions o;
  o.dim = 4;
  o.heads = 2;
  o.tokens = 3;
  o.attn_dropout = 0.3f;
  o.proj_dropout = 0.2f;
  Attention attn(o);
  randomise(attn, 70);
  // The masks drawn after set_step(0) drop some entries and keep others.
  attn.set_step(0);
  for (Tensor mask : {attn.attn_drop.forward(Tensor::ones({2, 2, 3, 3})),
                      attn.proj_drop.forward(Tensor::ones({2, 3, 4}))}) {
    int64_t zeros = 0;
    for (float v : mask.to_vector()) zeros += v == 0.0f;
    CHECK(zeros > 0);
    CHECK(zeros < mask.numel());
  }
  require_module_gradcheck(attn, Tensor::randn({2, 3, 4}, 71),
                           [&](const Tensor& x) { return attn.forward(x); });
}

TEST_CASE("Attention matches a per-head loop of (A1)-(A5)", "[nn][attention]") {
  AttentionOptions o;
  o.dim = 6;
  o.heads = 3;
  o.qk_dim = 4;
  o.tokens = 5;
  o.qkv_bias = o.attn_bias = o.head_bias = true;
  Attention attn(o);
  randomise(attn, 30);
  const int64_t B = 2, N = 5, D = 6, H = 3, dqk = 4, dv = 2;
  Tensor x = Tensor::randn({B, N, D}, 31);
  Tensor y = attn.forward(x);
  const Tensor& A = attn.attention_map();
  REQUIRE(A.shape() == Shape{B, H, N, N});
  REQUIRE(y.shape() == Shape{B, N, D});

  auto proj = [&](const Linear& l, int64_t b, int64_t n, int64_t out) {
    double s = l.bias.defined() ? l.bias.at({out}) : 0.0;
    for (int64_t i = 0; i < D; ++i) s += double(x.at({b, n, i})) * l.weight.at({out, i});
    return s;
  };
  for (int64_t b = 0; b < B; ++b) {
    std::vector<double> o_cat(size_t(N * H * dv), 0.0);
    for (int64_t h = 0; h < H; ++h)
      for (int64_t n = 0; n < N; ++n) {
        std::vector<double> s(static_cast<size_t>(N));
        double max_s = -1e30, z = 0.0;
        for (int64_t m = 0; m < N; ++m) {
          double dot = 0.0;
          for (int64_t c = 0; c < dqk; ++c)
            dot += proj(attn.q, b, n, h * dqk + c) * proj(attn.k, b, m, h * dqk + c);
          s[size_t(m)] = dot / std::sqrt(double(dqk)) + attn.attn_bias.at({n, m}) +
                         attn.head_bias.at({h, n, m});
          max_s = std::max(max_s, s[size_t(m)]);
        }
        for (double& v : s) z += (v = std::exp(v - max_s));
        for (int64_t m = 0; m < N; ++m) {
          CHECK(A.at({b, h, n, m}) == Approx(s[size_t(m)] / z).margin(1e-5));
          for (int64_t c = 0; c < dv; ++c)
            o_cat[size_t(n * H * dv + h * dv + c)] += s[size_t(m)] / z * proj(*attn.v, b, m, h * dv + c);
        }
      }
    for (int64_t n = 0; n < N; ++n)
      for (int64_t out = 0; out < D; ++out) {
        double e = attn.proj->bias.at({out});
        for (int64_t i = 0; i < H * dv; ++i) e += o_cat[size_t(n * H * dv + i)] * attn.proj->weight.at({out, i});
        CHECK(y.at({b, n, out}) == Approx(e).margin(1e-4));
      }
  }
}

TEST_CASE("Attention: the fused path equals the one that keeps A", "[nn][attention]") {
  for (int variant = 0; variant < 6; ++variant) {
    AttentionOptions o;
    o.dim = 8;
    o.heads = 2;
    o.tokens = 70;  // two blocks of the fused op's 64 rows
    o.qk_dim = variant == 1 ? 3 : 0;
    o.qkv_bias = variant == 2;
    o.no_vp = variant == 3;
    o.multi_query = variant == 4;
    o.qk_norm = variant == 5;
    INFO("variant " << variant);
    Attention fused(o), kept(o);
    kept.keep_map = true;
    randomise(fused, 50);
    for (auto& [name, t] : fused.named_parameters()) kept.parameter(name) = t.detach().requires_grad_();
    Tensor x1 = Tensor::randn({2, 70, 8}, 51).requires_grad_(), x2 = x1.detach().requires_grad_();
    Tensor r = Tensor::randn({2, 70, 8}, 52);
    Tensor y1 = fused.forward(x1), y2 = kept.forward(x2);
    CHECK_FALSE(fused.attention_map().defined());
    REQUIRE(kept.attention_map().shape() == Shape{2, 2, 70, 70});
    sum(mul(y1, r)).backward();
    sum(mul(y2, r)).backward();
    auto near = [](const Tensor& a, const Tensor& b) {
      REQUIRE(a.shape() == b.shape());
      for (int64_t i = 0; i < a.numel(); ++i) REQUIRE(a.data()[i] == Approx(b.data()[i]).margin(1e-4));
    };
    near(y1, y2);
    near(x1.grad(), x2.grad());
    for (auto& [name, t] : fused.named_parameters()) {
      INFO(name);
      near(t.grad(), kept.parameter(name).grad());
    }
  }
}

TEST_CASE("Attention keeps A only when asked, through keep_attention_maps", "[nn][attention]") {
  BlockOptions o;
  o.attention.dim = 4;
  o.attention.heads = 2;
  o.mlp_hidden = 6;
  Block block(o);
  Tensor x = Tensor::randn({2, 3, 4}, 60);
  block.forward(x);
  CHECK_FALSE(block.attention_map().defined());
  keep_attention_maps(block);
  CHECK(block.attn.keep_map);
  block.forward(x);
  CHECK(block.attention_map().shape() == Shape{2, 2, 3, 3});
  keep_attention_maps(block, false);
  block.forward(x);
  CHECK_FALSE(block.attention_map().defined());
}

TEST_CASE("Attention rejects inconsistent options and inputs", "[nn][attention][errors]") {
  AttentionOptions o;
  o.dim = 6;
  o.heads = 4;
  CHECK(contains(error_of([&] { Attention a(o); }), "dim 6 must be a positive multiple of heads 4"));
  o.heads = 2;
  o.head_bias = true;
  CHECK(contains(error_of([&] { Attention a(o); }), "head_bias needs attn_bias"));
  o.attn_bias = true;
  o.tokens = 4;
  Attention a(o);
  CHECK(contains(error_of([&] { a.forward(Tensor::zeros({1, 5, 6})); }),
                 "input has 5 tokens but attn_bias was built for 4"));
  CHECK(contains(error_of([&] { a.forward(Tensor::zeros({1, 4, 5})); }),
                 "Attention: input of shape [1, 4, 5], expected [B, N, 6]"));
}

TEST_CASE("Block (2.3): gradients with LayerScale and DropPath", "[nn][attention][grad]") {
  BlockOptions o;
  o.attention.dim = 4;
  o.attention.heads = 2;
  o.attention.tokens = 3;
  o.mlp_hidden = 6;
  o.layer_scale = 0.5f;
  o.drop_path = 0.3f;
  Block block(o);
  CHECK(block.ls1->gamma.at({0}) == 0.5f);
  const int64_t D = 4;
  CHECK(block.num_parameters() == 2 * 2 * D + attention_params(o.attention) +
                                      (2 * D * 6 + 6 + D) + 2 * D);
  randomise(block, 40);
  // At the check's step 0, each DropPath drops some of the 6 samples and
  // keeps others (with 4, drop_path2 kept all).
  block.set_step(0);
  for (DropPath* dp : {&block.drop_path1, &block.drop_path2}) {
    const std::vector<float> mask = dp->forward(Tensor::ones({6, 1, 1})).to_vector();
    const auto dropped = std::count(mask.begin(), mask.end(), 0.0f);
    CHECK(dropped > 0);
    CHECK(dropped < 6);
  }
  require_module_gradcheck(block, Tensor::randn({6, 3, 4}, 41),
                           [&](const Tensor& x) { return block.forward(x); });
  block.eval();
  require_module_gradcheck(block, Tensor::randn({2, 3, 4}, 42),
                           [&](const Tensor& x) { return block.forward(x); });
  keep_attention_maps(block);
  block.forward(Tensor::randn({2, 3, 4}, 43));
  CHECK(block.attention_map().shape() == Shape{2, 2, 3, 3});
}
