// The Cortical Transformer as a model (ARCHITECTURES.md 7.4, 7.7, 7.8): the
// feed-forward invariant against nn's pre-norm transformer, parameter counts
// by formula, the paper's attention compression, config errors, gradients.
#include <cmath>
#include <sstream>

#include "nn/cortical.h"
#include "nn/vision_transformer.h"
#include "tests/test_nn_util.h"

using namespace cf;
using cf::test::contains;
using cf::test::error_of;
using cf::test::require_module_gradcheck;

namespace {

// `keys` over the defaults; a key given again overrides (a tiny base
// followed by a case's keys), which Config::parse refuses.
Config cortical(const std::string& keys) {
  Config c;
  std::istringstream lines(keys);
  for (std::string line; std::getline(lines, line);) {
    const Config one = Config::parse(line);
    for (const std::string& key : one.keys()) c.set(key, one.get_string(key));
  }
  return c.resolved_against(CorticalTransformer::defaults(), "cortical");
}

std::unique_ptr<CorticalTransformer> build(const Config& config) {
  return std::make_unique<CorticalTransformer>(config);
}

int64_t ones(const Tensor& mask) {
  int64_t n = 0;
  for (float v : mask.to_vector()) n += v == 1.0f;
  return n;
}

// Copies a LayerNorm's (D) affine into region r of a RegionNorm parameter
// (R, D) or (R, N, D).
void set_region(Tensor& dst, int64_t r, const Tensor& src) {
  const int64_t D = src.numel(), per_region = dst.numel() / dst.size(0);
  for (int64_t i = 0; i < per_region; ++i) dst.data()[r * per_region + i] = src.data()[i % D];
}

// dst[prefix..., i, j] = src[j, i]: nn's [out, in] weight into our (in, out) layout.
void set_transposed(Tensor& dst, const std::vector<int64_t>& prefix, const Tensor& src, int64_t out_offset = 0,
                    int64_t out_count = -1) {
  const int64_t in = src.size(1), out = out_count < 0 ? src.size(0) : out_count;
  for (int64_t i = 0; i < in; ++i)
    for (int64_t j = 0; j < out; ++j) {
      std::vector<int64_t> at = prefix;
      at.push_back(i);
      at.push_back(j);
      dst.set(at, src.at({out_offset + j, i}));
    }
}

// Gives the cortical model the transformer's weights: layer l -> region l
// (7.4, feed-forward invariant). The transformer's attention output bias is
// zeroed, since (4) has none.
void copy_transformer(VisionTransformer& vt, CorticalTransformer& ct) {
  NamedTensors theirs = vt.state_dict();
  for (auto& [name, t] : ct.state_dict())
    for (auto& [other, value] : theirs)
      if (name == other) std::copy(value.data(), value.data() + value.numel(), t.data());
  CorticalBlock& c = ct.cortex;
  const int64_t H = c.attn.options.heads, d_qk = c.attn.options.qk_dim, d_v = c.attn.options.v_dim;
  for (int64_t l = 0; l < int64_t(vt.blocks.size()); ++l) {
    Block& b = *vt.blocks[size_t(l)];
    set_region(c.norm1.weight, l, b.norm1.weight);
    set_region(c.norm1.bias, l, b.norm1.bias);
    set_region(c.norm2.weight, l, b.norm2.weight);
    set_region(c.norm2.bias, l, b.norm2.bias);
    for (int64_t h = 0; h < H; ++h) {
      set_transposed(c.attn.q, {l, h}, b.attn.q.weight, h * d_qk, d_qk);
      set_transposed(c.attn.k, {l, h}, b.attn.k.weight, h * d_qk, d_qk);
      set_transposed(c.attn.v, {l, h}, b.attn.v->weight, h * d_v, d_v);
    }
    set_transposed(c.attn.o, {l}, b.attn.proj->weight);
    b.attn.proj->bias = Tensor::zeros(b.attn.proj->bias.shape());
    set_transposed(c.fc1.weight, {l}, b.mlp.fc1.weight);
    set_region(c.fc1.bias, l, b.mlp.fc1.bias);
    if (c.fc2) {
      set_transposed(c.fc2->weight, {l}, b.mlp.fc2.weight);
      set_region(c.fc2->bias, l, b.mlp.fc2.bias);
    } else {  // eq. 6: the second layer sits in block (l + 1 <- l); the readout is port R
      set_transposed(c.second_layer->weight, {l + 1, l}, b.mlp.fc2.weight);
      set_region(c.out_bias, l + 1, b.mlp.fc2.bias);
    }
  }
}

}  // namespace

TEST_CASE("Feed-forward pattern with R = T = L is an L-layer pre-norm transformer (7.4)", "[cortical][model]") {
  const int64_t L = 3, B = 2;
  Config vt_config = VisionTransformer::cct_config(1, 3, 8, L, 2, 2.0).set("image_size", 8).set("num_classes", 3);
  for (const char* variant : {"", "norm_affine = region_token", "token_interactions = false"}) {
    INFO(variant);
    VisionTransformer vt(vt_config);
    auto ct = build(cortical(std::string("image_size = 8\nconv_layers = 1\ndim = 8\nheads = 2\nnum_classes = 3\n"
                                         "regions = 3\ntimesteps = 3\nnorm_affine = region\n") + variant));
    copy_transformer(vt, *ct);
    Tensor images = Tensor::randn({B, 3, 8, 8}, 11);
    std::vector<float> expected = vt.forward(images).to_vector(), got = ct->forward(images).to_vector();
    for (size_t i = 0; i < got.size(); ++i) CHECK(got[i] == Approx(expected[i]).margin(1e-4));
    // Region l + 1 holds layer l's output after step l; the readout is layer L's.
    const std::vector<Tensor> layers = vt.block_outputs(), regions = ct->block_outputs();
    REQUIRE(regions.size() == size_t((L - 1) * L + 1));
    for (int64_t l = 0; l < L; ++l) {
      const int64_t at = l + 1 < L ? l * L + l + 1 : (L - 1) * L;
      std::vector<float> a = layers[size_t(l)].to_vector(), b = regions[size_t(at)].to_vector();
      for (size_t i = 0; i < a.size(); ++i) CHECK(b[i] == Approx(a[i]).margin(1e-4));
    }
  }
}

namespace {

// The spec's parameter counts (sections 1, 7.3, 7.5-7.7) from the config;
// `kept` counts only the kept entries of masked weights, otherwise whole tensors.
int64_t expected_params(const CorticalTransformer& m, const Config& c, bool kept) {
  const int64_t D = c.get_int("dim"), H = c.get_int("heads"), R = c.get_int("regions"),
                K = c.get_int("num_classes"), C = c.get_int("in_channels"), k = c.get_int("conv_kernel");
  const int64_t N = m.cortex.options.tokens, F = int64_t(c.get_float("mlp_ratio") * double(D));
  int64_t tokenizer = 0, c_prev = C;
  for (int64_t i = 0, n = c.get_int("conv_layers"); i < n; ++i) {  // 1.2
    const int64_t c_i = i + 1 == n ? D : c.get_int("conv_channels");
    tokenizer += k * k * c_prev * c_i;
    c_prev = c_i;
  }
  const int64_t pos = c.get_string("pos") == "learned" ? N * D : 0;
  const std::string affine = c.get_string("norm_affine");
  const int64_t norm = 2 * (affine == "region" ? R * D : affine == "shared" ? D : R * N * D);  // 7.3

  // 7.5-7.7: d_qk, d_v and D_s per head, sparse weights by their kept entries.
  const int64_t width = D / H, d = c.get_int("reduction"), w = c.get_int("meso_width");
  const std::string reduced = c.get_string("reduction_target");
  const int64_t d_qk = reduced == "vo" ? width : width / d, d_v = reduced == "qk" ? width : width / d;
  const int64_t d_s = w ? w * std::min(w, c.get_int("meso_m")) : D;
  int64_t attention = R * (H * d_s * (2 * d_qk + d_v) + H * d_v * D);
  const MultiRegionAttention& a = m.cortex.attn;
  if (kept)
    for (const Tensor* mask : {&a.q_mask, &a.k_mask, &a.v_mask, &a.o_mask})
      if (mask->defined()) attention -= mask->numel() - ones(*mask);

  // 7.1, 7.2: the MLPs and what the pattern makes learnable.
  const std::string pattern = c.get_string("pattern");
  int64_t mlp = R * (D * F + F);
  if (c.get_bool("token_interactions")) {
    const int64_t blocks = pattern == "recurrent" ? R * R : pattern == "feedforward_ti" ? R - 1 : 0;
    mlp += R * (F * D + D) + (kept ? blocks * N * N : blocks ? (R + 1) * R * N * N : 0);
  } else {  // the successor blocks (readout included), or all R^2 plus the readout
    const int64_t blocks = pattern == "recurrent" ? R * R + 1 : R;
    mlp += (kept ? blocks : (R + 1) * R) * F * D + (R + 1) * D;
  }
  return tokenizer + pos + 2 * norm + attention + mlp + 2 * D + D + 1 + D * K + K;  // LN, SeqPool, head
}

}  // namespace

TEST_CASE("Cortical parameter counts by formula", "[cortical][model]") {
  const std::string tiny =
      "image_size = 8\nconv_layers = 1\ndim = 16\nheads = 4\nnum_classes = 3\nregions = "
      "3\ntimesteps = 3\n";
  for (const char* keys :
       {"", "pattern = recurrent", "pattern = feedforward_ti", "token_interactions = false",
        "token_interactions = false\npattern = recurrent", "norm_affine = shared\nnorm_stats = global",
        "norm_affine = region\npos = none", "reduction = 2\ndensity = 0.25",
        "reduction = 2\nreduction_target = vo\ndensity = 0.5\nsparse_target = qk",
        "reduction = 4\nreduction_target = all", "heads = 8\nmeso_m = 4\nmeso_width = 3",
        "heads = 2\nmeso_m = 1\nmeso_width = 5\nconv_layers = 2\nconv_channels = 4"}) {
    INFO(keys);
    const Config c = cortical(tiny + keys);
    auto m = build(c);
    CHECK(m->learnable_parameters() == expected_params(*m, c, true));
    CHECK(m->num_parameters() == expected_params(*m, c, false));
  }
  // Drop-off: the learnable routing entries are the kept ones of the learnable blocks.
  const Config c = cortical(tiny + "pattern = recurrent\ndropoff_lambda = 0.5");
  auto m = build(c);
  const RegionRouting& w = *m->cortex.token_routing;
  double kept = 0;
  for (int64_t o = 0; o < 3; ++o)
    for (int64_t r = 0; r < 3; ++r) kept += w.kept_fraction(o, r) * double(w.block_shape[0] * w.block_shape[1]);
  CHECK(w.learnable_parameters() == int64_t(std::lround(kept)));
  CHECK(m->learnable_parameters() == expected_params(*m, c, false) - w.weight.numel() + w.learnable_parameters());
}

TEST_CASE("Attention parameters of the paper's configurations and their compression (7.7)", "[cortical][model]") {
  auto attention = [](const std::string& name) {
    std::unique_ptr<Model> m = build_model(name);
    return dynamic_cast<const CorticalTransformer&>(*m).attention_parameters();
  };
  const int64_t R = 4, D = 128, H = 4, width = D / H;
  const int64_t baseline = R * (H * D * (2 * width + width) + H * width * D);  // 7.7: 4 x 65,536
  CHECK(attention("cortical_baseline") == baseline);
  // Macro patterns leave attention alone; micro's masks depend on the seed and shapes only.
  CHECK(attention("cortical_macro") == baseline);
  CHECK(attention("cortical_macro_micro") == attention("cortical_micro"));
  // micro: Q, K at d_qk = 8 dense; V, O kept with probability 1/8 (expected 12,288 per region).
  const double micro = double(baseline) / double(attention("cortical_micro"));
  const double expected_micro = double(baseline / R) / (2.0 * H * D * (width / 4) + 2 * H * D * width / 8.0);
  CHECK(micro == Approx(expected_micro).epsilon(0.03));
  CHECK(micro == Approx(5.0).epsilon(0.1));  // the paper: "5x"
  // micro + meso: H 8, D_s 36, d_v 16, d_qk 4 (expected 4,928 per region).
  const double meso = double(baseline) / double(attention("cortical_macro_micro_meso"));
  const double expected_meso = double(baseline / R) / (2 * 8 * 36 * 4 + 8 * 36 * 16 / 8.0 + D * D / 8.0);
  CHECK(meso == Approx(expected_meso).epsilon(0.03));
  CHECK(meso == Approx(15.0).epsilon(0.15));  // the paper: "15x"
  // Naive controls: d_qk and d_v both reduced, exactly 4x and 8x.
  CHECK(attention("cortical_naive_4") * 4 == baseline);
  CHECK(attention("cortical_naive_8") * 8 == baseline);
  // The table for docs/CORTICAL.md holds the same counts.
  const std::string table = cortical_attention_table();
  CHECK(contains(table, "| `cortical_baseline` | 4 | 32 | 32 | 128 | 1 | " + std::to_string(baseline) + " | " +
                           std::to_string(baseline / R) + " | 1.00x |"));
  CHECK(contains(table, "| " + std::to_string(attention("cortical_macro_micro_meso")) + " |"));
}

TEST_CASE("Every cortical configuration is registered and runs, with its state per region and step",
          "[cortical][model]") {
  const std::vector<std::string> names = model_names();
  for (const ModelInfo& info : cortical_models()) {
    INFO(info.name);
    CHECK(std::find(names.begin(), names.end(), info.name) != names.end());
    CHECK(contains(model_help(info.name), "dropoff_lambda"));
  }
  auto model =
      build_model("cortical_macro", cortical("image_size = 8\nconv_layers = 1\ndim = 8\nheads = 2\n"
                                             "regions = 2\ntimesteps = 3\nnum_classes = 3\n"
                                             "pattern = recurrent"));
  CHECK(model->forward(Tensor::randn({2, 3, 8, 8}, 1)).shape() == Shape{2, 3});
  CHECK(model->attention_maps().empty());  // fused unless asked
  keep_attention_maps(*model);
  model->forward(Tensor::randn({2, 3, 8, 8}, 1));
  REQUIRE(model->attention_maps().size() == 3 * 2);
  CHECK(model->attention_maps()[5].shape() == Shape{2, 2, 16, 16});
  REQUIRE(model->block_outputs().size() == 2 * 2 + 1);
  CHECK(model->block_outputs()[4].shape() == Shape{2, 16, 8});
}

TEST_CASE("Bad cortical config values name the key and the value", "[cortical][model][errors]") {
  auto error = [](const std::string& keys) { return error_of([&] { build(cortical(keys)); }); };
  CHECK(error("heads = 3") == "config: key \"heads\" has value \"3\"; it must divide dim 128");
  CHECK(error("pattern = sideways") ==
        "config: key \"pattern\" has value \"sideways\"; allowed: feedforward, feedforward_ti, recurrent");
  CHECK(error("density = 0") == "config: key \"density\" has value \"0\"; it must be in (0, 1]");
  CHECK(error("density = 1.5") == "config: key \"density\" has value \"1.5\"; it must be in (0, 1]");
  CHECK(error("meso_width = 4\nmeso_m = 7") == "config: key \"meso_m\" has value \"7\"; it must divide dim 128");
  CHECK(contains(error("meso_width = 17"), "config: key \"meso_width\" has value \"17\"; a head's window must fit"));
  CHECK(error("reduction = 3") ==
        "config: key \"reduction\" has value \"3\"; it must divide the head width dim / heads = 32");
  CHECK(error("token_interactions = false\npattern = feedforward_ti") ==
        "config: key \"pattern\" has value \"feedforward_ti\"; it needs token_interactions = true");
  CHECK(error("regions = 0") == "config: key \"regions\" has value \"0\"; it must be at least 1");
  CHECK(error("timesteps = -2") == "config: key \"timesteps\" has value \"-2\"; it must be at least 1");
  // Feed-forward: the readout region sees the image at step R = 4 only.
  CHECK(error("timesteps = 3") ==
        "config: key \"timesteps\" has value \"3\"; with pattern feedforward the image reaches the "
        "readout region only at step regions = 4, so it must be 4 (or reinject = true and at least "
        "that)");
  CHECK(error("timesteps = 3\nreinject = true\npattern = feedforward_ti") ==
        "config: key \"timesteps\" has value \"3\"; with pattern feedforward_ti the image reaches "
        "the "
        "readout region only at step regions = 4 and after, so it must be at least 4");
  CHECK(error_of([] { build(cortical("timesteps = 6\nreinject = true")); }).empty());
  CHECK(error_of([] { build(cortical("timesteps = 3\npattern = recurrent")); }).empty());
  CHECK(error("timesteps = 1\npattern = recurrent") ==
        "config: key \"timesteps\" has value \"1\"; with pattern recurrent the image reaches the "
        "readout region after one step, so it must be at least 2");
  CHECK(error_of([] { build(cortical("timesteps = 1\nregions = 1\npattern = recurrent")); })
            .empty());
  CHECK(error("dropoff_lambda = -1") ==
        "config: key \"dropoff_lambda\" has value \"-1\"; it must be >= 0 (0: no drop-off)");
  CHECK(contains(error("norm_stats = batch"), "key \"norm_stats\" has value \"batch\"; allowed: token, global"));
  CHECK(contains(error("norm_affine = token"), "key \"norm_affine\" has value \"token\"; allowed: region, shared"));
  CHECK(contains(error("reduction_target = q"), "key \"reduction_target\" has value \"q\"; allowed: qk, vo, all"));
  CHECK(contains(error("sparse_target = v"), "key \"sparse_target\" has value \"v\"; allowed: vo, qk"));
  CHECK(contains(error_of([] { build_model("cortical_baseline", Config().set("region", 2)); }),
                 "did you mean \"regions\""));
}

TEST_CASE("Cortical model gradients at a tiny size", "[cortical][model][grad]") {
  // Feed-forward runs T = R = 2 steps; recurrent ones one more.
  const std::string tiny =
      "image_size = 4\nconv_layers = 1\ndim = 4\nheads = 2\nregions = 2\n"
      "mlp_ratio = 1\nnum_classes = 3\n";
  struct Case {
    std::string keys;
    std::vector<std::string> names;
  };
  const std::vector<Case> cases = {
      {"norm_stats = global\ntimesteps = 2",
       {"pos_embed.weight", "cortex.norm1.weight", "cortex.attn.q", "cortex.attn.o",
        "cortex.fc2.weight", "cortex.norm2.bias"}},
      {"pattern = recurrent\ntimesteps = 3\ndropoff_lambda = 1\nreinject = true",
       {"cortex.token_routing.weight", "cortex.fc1.weight"}},
      {"token_interactions = false\npattern = recurrent\ntimesteps = 3",
       {"cortex.second_layer.weight", "cortex.out_bias"}},
      {"dim = 8\nreduction = 2\ndensity = 0.5\nmeso_m = 2\nmeso_width = 2\ntimesteps = 2",
       {"cortex.attn.k", "cortex.attn.v", "head.weight"}},
      {"pattern = feedforward_ti\ntimesteps = 2", {"cortex.token_routing.weight", "cortex.attn.q"}},
      {"norm_affine = shared\ntimesteps = 2",
       {"cortex.norm1.weight", "cortex.norm1.bias", "cortex.norm2.weight", "cortex.norm2.bias"}},
      {"norm_affine = region\ntimesteps = 2", {"cortex.norm1.weight", "cortex.norm2.bias"}},
  };
  for (const Case& c : cases) {
    INFO(c.keys);
    auto m = build(cortical(tiny + c.keys));
    // The block's parameters of std 0.5 around their init (norm gains
    // around 1): at the init's 0.02 the scores are of order 1e-3 and the
    // gradients of q, k, the norms and the routing below the check's tolerance.
    uint64_t seed = 20;
    for (const auto& [name, t] : m->named_parameters()) {
      if (!contains(name, "cortex.")) continue;
      const bool gain = contains(name, "norm") && contains(name, "weight");
      Tensor value = add_scalar(Tensor::randn(t.shape(), seed++, 0.0f, 0.5f), gain ? 1.0f : 0.0f);
      m->parameter(name) = value.requires_grad_();
    }
    require_module_gradcheck(*m, cf::test::away_from_zero({1, 3, 4, 4}, 12, 0.1f),
                             [&](const Tensor& x) { return m->forward(x); }, c.names);
  }
}
