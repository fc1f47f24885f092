// Multi-region self-attention with the micro and meso options
// (ARCHITECTURES.md 7.1 K3, 7.5, 7.6): equal to nn's MHSA per region, meso
// as a gather equal to S^h W~, the meso patterns, parameter counts, sparse
// weights that stay sparse under AdamW with weight decay, gradients.
#include <algorithm>
#include <cmath>
#include <set>

#include "nn/attention.h"
#include "nn/cortical_attention.h"
#include "train/optim.h"
#include "tests/test_nn_util.h"

using namespace cf;
using cf::test::contains;
using cf::test::error_of;
using cf::test::require_close;
using cf::test::require_module_gradcheck;

namespace {

RegionAttentionOptions options(int64_t R, int64_t D, int64_t H, int64_t d_qk, int64_t d_v) {
  RegionAttentionOptions o;
  o.regions = R;
  o.dim = D;
  o.heads = H;
  o.qk_dim = d_qk;
  o.v_dim = d_v;
  return o;
}

int64_t ones(const Tensor& mask) {
  const std::vector<float> v = mask.to_vector();
  return int64_t(std::count(v.begin(), v.end(), 1.0f));
}

}  // namespace

TEST_CASE("MRSA runs nn's MHSA in each region with that region's weights (K3, eq. 3-5)", "[cortical][attention]") {
  const int64_t R = 2, B = 2, N = 3, D = 8, H = 2;
  for (int64_t d_qk : {4, 2}) {  // dense, and q/k reduced by 2
    MultiRegionAttention mrsa(options(R, D, H, d_qk, D / H));
    mrsa.init_parameters(1);
    Tensor z = Tensor::randn({R, B, N, D}, 2);
    Tensor y = mrsa.forward(z);  // fused: no map
    CHECK_FALSE(mrsa.attention_map().defined());
    mrsa.keep_map = true;        // the map is compared below
    require_close(mrsa.forward(z), y);
    for (int64_t r = 0; r < R; ++r) {
      AttentionOptions a;
      a.dim = D;
      a.heads = H;
      a.qk_dim = d_qk;
      Attention mhsa(a);
      mhsa.keep_map = true;  // the map is compared below
      // nn stores W [out, in] with head h's columns at h d + j; ours are (R, H, D, d) and (R, H d_v, D).
      for (int64_t h = 0; h < H; ++h)
        for (int64_t i = 0; i < D; ++i) {
          for (int64_t j = 0; j < d_qk; ++j) {
            mhsa.q.weight.set({h * d_qk + j, i}, mrsa.q.at({r, h, i, j}));
            mhsa.k.weight.set({h * d_qk + j, i}, mrsa.k.at({r, h, i, j}));
          }
          for (int64_t j = 0; j < D / H; ++j) mhsa.v->weight.set({h * (D / H) + j, i}, mrsa.v.at({r, h, i, j}));
        }
      for (int64_t i = 0; i < D; ++i)
        for (int64_t j = 0; j < D; ++j) mhsa.proj->weight.set({j, i}, mrsa.o.at({r, i, j}));
      mhsa.proj->bias = Tensor::zeros({D});  // (4) has no bias
      Tensor expected = mhsa.forward(reshape(slice(z, 0, r, r + 1), {B, N, D}));
      Tensor got = reshape(slice(y, 0, r, r + 1), {B, N, D});
      for (int64_t i = 0; i < expected.numel(); ++i)
        CHECK(got.data()[i] == Approx(expected.data()[i]).margin(1e-5));
      Tensor map = reshape(slice(mrsa.attention_map(), 0, r, r + 1), {H, B, N, N});
      CHECK(map.at({1, 0, 2, 1}) == Approx(mhsa.attention_map().at({0, 1, 2, 1})));
    }
  }
}

TEST_CASE("Meso patterns: parallel, 2-D and 1-D overlap windows of 7.6", "[cortical][meso]") {
  // A 4 x 4 grid and 4 heads on a 2 x 2 lattice, width 2: the four quadrants.
  CHECK(meso_inputs(16, 4, 4, 2) ==
        std::vector<int64_t>{0, 1, 4, 5, 2, 3, 6, 7, 8, 9, 12, 13, 10, 11, 14, 15});
  struct Case {
    int64_t m, width, d_s;
  };
  // The paper's patterns at D 128, H 8; each covers all 128 dimensions, the
  // parallel one (8 x 16 = 128) without overlap.
  for (Case c : {Case{8, 4, 16}, Case{8, 6, 36}, Case{1, 23, 23}}) {
    INFO("m " << c.m << ", width " << c.width);
    const std::vector<int64_t> inputs = meso_inputs(128, 8, c.m, c.width);
    REQUIRE(inputs.size() == size_t(8 * c.d_s));
    std::set<int64_t> all;
    for (int64_t h = 0; h < 8; ++h) {
      std::set<int64_t> head(inputs.begin() + h * c.d_s, inputs.begin() + (h + 1) * c.d_s);
      CHECK(head.size() == size_t(c.d_s));  // no dimension twice in one head
      all.insert(head.begin(), head.end());
      if (c.m == 1) {  // 1-D: width consecutive dimensions, wrapping at D
        const int64_t first = inputs[size_t(h * c.d_s)];
        for (int64_t i = 0; i < c.d_s; ++i) CHECK(inputs[size_t(h * c.d_s + i)] == (first + i) % 128);
      }
    }
    CHECK(all.size() == 128);
  }
  // 2-D overlap: neighbouring heads on the 4 x 2 lattice share a 2-row band.
  const std::vector<int64_t> overlap = meso_inputs(128, 8, 8, 6);
  std::set<int64_t> h0(overlap.begin(), overlap.begin() + 36), h2(overlap.begin() + 72, overlap.begin() + 108);
  int64_t shared = 0;
  for (int64_t i : h2) shared += int64_t(h0.count(i));
  CHECK(shared == 2 * 6);
}

TEST_CASE("Meso selection is a gather equal to S^h W~ (7.6)", "[cortical][meso]") {
  const int64_t R = 2, D = 8, H = 2;
  RegionAttentionOptions o = options(R, D, H, 2, 3);
  o.inputs = meso_inputs(D, H, 2, 3);  // 4 x 2 grid, windows of 3 rows x 2 columns: D_s 6
  MultiRegionAttention meso(o);
  meso.init_parameters(3);
  REQUIRE(meso.d_s == 6);
  // The dense equivalent: W^{E,h} = S^h W~^{E,h}, rows outside the window zero.
  MultiRegionAttention dense(options(R, D, H, 2, 3));
  for (Tensor* w : {&dense.q, &dense.k, &dense.v}) *w = Tensor::zeros(w->shape());
  dense.o = meso.o;
  for (int64_t r = 0; r < R; ++r)
    for (int64_t h = 0; h < H; ++h)
      for (int64_t p = 0; p < meso.d_s; ++p) {
        const int64_t row = o.inputs[size_t(h * meso.d_s + p)];
        for (int64_t j = 0; j < 2; ++j) {
          dense.q.set({r, h, row, j}, meso.q.at({r, h, p, j}));
          dense.k.set({r, h, row, j}, meso.k.at({r, h, p, j}));
        }
        for (int64_t j = 0; j < 3; ++j) dense.v.set({r, h, row, j}, meso.v.at({r, h, p, j}));
      }
  Tensor z = Tensor::randn({R, 2, 4, D}, 4);
  std::vector<float> a = meso.forward(z).to_vector(), b = dense.forward(z).to_vector();
  for (size_t i = 0; i < a.size(); ++i) CHECK(a[i] == Approx(b[i]).margin(1e-5));
}

TEST_CASE("MRSA parameters: H D_s (2 d_qk + d_v) + H d_v D per region, kept entries only (7.7)",
          "[cortical][attention]") {
  const int64_t R = 3, D = 16, H = 4;
  for (bool sparse_qk : {false, true})
    for (bool meso : {false, true}) {
      RegionAttentionOptions o = options(R, D, H, 2, 4);
      o.density = 0.25;
      o.sparse_qk = sparse_qk;
      o.seed = 5;
      if (meso) o.inputs = meso_inputs(D, H, 4, 2);  // 2 x 2 windows on a 4 x 4 grid
      MultiRegionAttention mrsa(o);
      const int64_t d_s = meso ? 2 * 2 : D;
      CHECK(mrsa.num_parameters() == R * (H * d_s * (2 * 2 + 4) + H * 4 * D));
      const Tensor& m1 = sparse_qk ? mrsa.q_mask : mrsa.v_mask;
      const Tensor& m2 = sparse_qk ? mrsa.k_mask : mrsa.o_mask;
      CHECK(!(sparse_qk ? mrsa.v_mask : mrsa.q_mask).defined());
      const int64_t dense = sparse_qk ? R * H * d_s * 4 + R * H * 4 * D : R * H * d_s * 2 * 2;
      CHECK(mrsa.learnable_parameters() == dense + ones(m1) + ones(m2));
      // Each entry kept with probability s: within 4 sigma of s n.
      const double n = double(m1.numel() + m2.numel());
      CHECK(std::fabs(double(ones(m1) + ones(m2)) - 0.25 * n) <= 4 * std::sqrt(n * 0.25 * 0.75));
      // Masks are a function of the seed.
      MultiRegionAttention same(o);
      o.seed = 6;
      MultiRegionAttention other(o);
      CHECK((sparse_qk ? same.q_mask : same.v_mask).to_vector() == m1.to_vector());
      CHECK((sparse_qk ? other.q_mask : other.v_mask).to_vector() != m1.to_vector());
    }
}

TEST_CASE("Sparse weights stay at their sparsity through AdamW steps with weight decay", "[cortical][attention]") {
  const int64_t R = 2, D = 8, H = 2;
  for (bool sparse_qk : {false, true}) {
    RegionAttentionOptions o = options(R, D, H, 4, 4);
    o.density = 0.125;
    o.sparse_qk = sparse_qk;
    MultiRegionAttention mrsa(o);
    const std::vector<std::pair<Tensor*, const Tensor*>> sparse =
        sparse_qk ? std::vector<std::pair<Tensor*, const Tensor*>>{{&mrsa.q, &mrsa.q_mask}, {&mrsa.k, &mrsa.k_mask}}
                  : std::vector<std::pair<Tensor*, const Tensor*>>{{&mrsa.v, &mrsa.v_mask}, {&mrsa.o, &mrsa.o_mask}};
    const int64_t kept = mrsa.learnable_parameters();
    AdamW opt(weight_decay_groups(mrsa, 0.1f), 1e-2f);
    Tensor z = Tensor::randn({R, 4, 3, D}, 6), target = Tensor::randn({R, 4, 3, D}, 7);
    for (int step = 0; step < 5; ++step) {
      opt.zero_grad();
      sum(mul(mrsa.forward(z), target)).backward();
      for (auto [w, mask] : sparse)
        for (int64_t i = 0; i < w->numel(); ++i)
          if (mask->data()[i] == 0.0f) REQUIRE(w->grad().data()[i] == 0.0f);
      opt.step();
    }
    for (auto [w, mask] : sparse) {
      Tensor effective = mul(*w, *mask);
      int64_t nonzero = 0;
      for (float v : effective.to_vector()) nonzero += v != 0.0f;
      CHECK(nonzero == ones(*mask));
      CHECK(double(nonzero) / double(w->numel()) < 0.3);
    }
    CHECK(mrsa.learnable_parameters() == kept);
  }
}

TEST_CASE("MRSA gradients: dense, reduced, sparse, meso", "[cortical][attention][grad]") {
  const int64_t R = 2, D = 4, H = 2;
  for (int variant = 0; variant < 4; ++variant) {
    INFO("variant " << variant);
    RegionAttentionOptions o = options(R, D, H, variant == 1 ? 1 : 2, 2);
    if (variant == 1) o.density = 0.5;
    if (variant == 2) o.inputs = meso_inputs(D, H, 2, 1);  // 2 x 2 grid, one row per head
    if (variant == 3) o.density = 0.5, o.sparse_qk = true;  // the masks on W^Q, W^K
    MultiRegionAttention mrsa(o);
    mrsa.init_parameters(8);
    for (Tensor* w : {&mrsa.q, &mrsa.k})  // scores of order 1, not 1e-3
      *w = mul_scalar(w->detach(), 30.0f).requires_grad_();
    for (Tensor* w : {&mrsa.v, &mrsa.o})  // std 0.5: at 0.02, q's gradient is below tolerance
      *w = mul_scalar(w->detach(), 25.0f).requires_grad_();
    for (bool keep_map : {false, true}) {  // the fused op, and the map formed
      INFO("keep_map " << keep_map);
      mrsa.keep_map = keep_map;
      require_module_gradcheck(mrsa, Tensor::randn({R, 1, 3, D}, 9),
                               [&](const Tensor& x) { return mrsa.forward(x); });
    }
  }
}

TEST_CASE("Meso patterns that do not fit name the key and the value", "[cortical][meso][errors]") {
  CHECK(error_of([] { meso_inputs(128, 8, 7, 4); }) ==
        "config: key \"meso_m\" has value \"7\"; it must divide dim 128");
  CHECK(contains(error_of([] { meso_inputs(128, 8, 8, 17); }),
                 "config: key \"meso_width\" has value \"17\"; a head's window must fit the 16 x 8 grid"));
  CHECK(contains(error_of([] { meso_inputs(128, 8, 8, -1); }), "key \"meso_width\" has value \"-1\""));
}
