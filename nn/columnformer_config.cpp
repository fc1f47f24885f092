// The Columnformer's config keys, their translation into encoder options
// (with errors that name the key and the value), and the registered
// configurations of ARCHITECTURES.md 3.7.
#include <sstream>

#include "autograd/error.h"
#include "nn/columnformer.h"

namespace cf {

Config VisionColumnformer::defaults() {
  Config c;
  c.define("image_size", 32, "input height = width in pixels")
      .define("in_channels", 3, "input channels C_in")
      .define("num_classes", 10, "classes K")
      .define("patch_size", 4, "patch size p of PatchEmbed; the input sheet is (image/p)^2 columns")
      .define("dim", 128, "model width D")
      .define("depth", 6, "blocks (feed-forward) or timesteps (recurrent) L")
      .define("heads", 4, "attention heads H")
      .define("qk_dim", 0, "per-head query/key width d_qk (0: D / H)")
      .define("qkv_bias", false, "biases on the q, k, v projections")
      .define("attn_mode", "classic", "token mixer: classic, untied, selection, mixing, linmixing, moe (3.3)")
      .define("mlp_mode", "classic", "MLP weights: classic, untied, moe (3.4)")
      .define("norm_mode", "classic", "norm weights: classic, untied, moe (3.4)")
      .define("mlp_ratio", 4.0, "MLP hidden width D_ff = floor(mlp_ratio D)")
      .define("act", "gelu", "MLP activation: gelu, relu or squared_relu")
      .define("experts", "1", "experts E per block: one number, or one per block (\"1,1,2,2,4,4\")")
      .define("mlp_conserve", true, "moe MLPs: D_ff = floor(mlp_ratio D / E) (3.2)")
      .define("temp_scale", true, "mixture coefficients: learned temperature per column (C2)")
      .define("attn_bias", false, "learned (N, N) attention bias (classic, untied, moe)")
      .define("head_bias", false, "learned (H, N, N) attention bias per head (needs attn_bias)")
      .define("no_vp", false, "no value and output projections")
      .define("skip_attn", true, "residual connection around the token mixer (C3)")
      .define("recurrent", false, "one block applied depth times over every layer's sheet (3.5)")
      .define("seq_len", 0, "columns N the encoder holds (0: patches, times depth if recurrent)")
      .define("pos_embed", true, "learned position embedding (1, N, D)")
      .define("time_embed", false, "learned embedding per timestep (recurrent only)")
      .define("direct_edges", "none",
              "recurrent only: none, arange (sheet k takes sheet k-1) or N indices into [input, columns]")
      .define("geometry", "multilayer", "column positions: multilayer (stacked square sheets, C7) or none")
      .define("sheet_offset", 2.0, "distance between stacked sheets (C7)")
      .define("init_local_attn", false, "Gaussian local attention bias init (C8; needs geometry, attn_bias)")
      .define("local_attn_sigma", 2.0, "sigma of the local attention init (C8)")
      .define("wiring_lambda", 0.1, "weight of the L1 wiring cost (C9; 0: off)")
      .define("wiring_p", 1.0, "distance exponent p of the wiring cost (C9)")
      .define("tv_lambda", 0.001, "weight of the TV loss on mixture coefficients (C10; 0: off)")
      .define("pool", "avg", "pooling: avg or spatial (per class, 1.4)")
      .define("output_len", 0, "pool the last output_len columns (0: the number of patches)")
      .define("seed", 0, "initialisation seed");
  return c;
}

namespace {

std::string choice(const Config& c, const std::string& key, const std::vector<std::string>& allowed) {
  const std::string& v = c.get_string(key);
  std::string list;
  for (const std::string& a : allowed) {
    if (a == v) return v;
    list += (list.empty() ? "" : ", ") + a;
  }
  bad_value(c, key, "allowed: " + list);
}

// "1, 2,3" -> {1, 2, 3}.
std::vector<int64_t> int_list(const Config& c, const std::string& key) {
  std::vector<int64_t> out;
  std::stringstream in(c.get_string(key));
  std::string item;
  while (std::getline(in, item, ',')) {
    size_t used = 0;
    try {
      out.push_back(std::stoll(item, &used));
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || item.find_first_not_of(" \t", used) != std::string::npos)
      bad_value(c, key, "expected integers separated by commas");
  }
  if (out.empty()) bad_value(c, key, "expected integers separated by commas");
  return out;
}

// (C6): an index into concat([u (n_in), x (N)]) for each of the N columns.
std::vector<int64_t> direct_edges(const Config& c, int64_t n_in, int64_t N) {
  const std::string& v = c.get_string("direct_edges");
  if (v == "none") return {};
  if (v == "arange") {
    std::vector<int64_t> edges(size_t(N), 0);
    for (int64_t i = 0; i < N; ++i) edges[size_t(i)] = i;
    return edges;
  }
  std::vector<int64_t> edges = int_list(c, "direct_edges");
  if (int64_t(edges.size()) != N)
    bad_value(c, "direct_edges", "expected none, arange or " + std::to_string(N) + " indices, got " +
                                     std::to_string(edges.size()));
  for (int64_t e : edges)
    if (e < 0 || e >= n_in + N)
      bad_value(c, "direct_edges", "index " + std::to_string(e) + " is outside [0, " + std::to_string(n_in + N) +
                                       ") (input columns then encoder columns)");
  return edges;
}

}  // namespace

EncoderOptions VisionColumnformer::encoder_options(const Config& c) {
  const int64_t n_in = PatchEmbed::tokens(c.get_int("image_size"), c.get_int("patch_size"));
  EncoderOptions e;
  e.depth = c.get_int("depth");
  if (e.depth < 1) bad_value(c, "depth", "at least 1 block");
  e.recurrent = c.get_bool("recurrent");
  const int64_t seq_len = c.get_int("seq_len");
  if (seq_len < 0) bad_value(c, "seq_len", "it must be >= 0 (0: the default)");
  e.seq_len = seq_len > 0 ? seq_len : e.recurrent ? e.depth * n_in : n_in;
  if (e.recurrent ? e.seq_len < n_in : e.seq_len != n_in)
    bad_value(c, "seq_len", "the encoder must hold " + std::string(e.recurrent ? "at least " : "exactly ") +
                                std::to_string(n_in) + " columns (the patches)");
  e.pos_embed = c.get_bool("pos_embed");
  e.time_embed = c.get_bool("time_embed");
  if (e.time_embed && !e.recurrent) bad_value(c, "time_embed", "needs recurrent = true");
  e.direct_edges = direct_edges(c, n_in, e.seq_len);
  if (!e.direct_edges.empty() && !e.recurrent) bad_value(c, "direct_edges", "needs recurrent = true");

  ColumnBlockOptions b;
  b.attn.mode = c.get_string("attn_mode");
  b.attn.dim = c.get_int("dim");
  b.attn.heads = c.get_int("heads");
  b.attn.qk_dim = c.get_int("qk_dim");
  b.attn.tokens = e.seq_len;
  b.attn.qkv_bias = c.get_bool("qkv_bias");
  b.attn.attn_bias = c.get_bool("attn_bias");
  b.attn.head_bias = c.get_bool("head_bias");
  b.attn.no_vp = c.get_bool("no_vp");
  b.mlp_mode = choice(c, "mlp_mode", {"classic", "untied", "moe"});
  b.norm_mode = choice(c, "norm_mode", {"classic", "untied", "moe"});
  choice(c, "attn_mode", {"classic", "untied", "selection", "mixing", "linmixing", "moe"});
  b.mlp_ratio = c.get_float("mlp_ratio");
  b.mlp_conserve = c.get_bool("mlp_conserve");
  b.act = c.get_string("act");
  b.temp_scale = c.get_bool("temp_scale");
  b.skip_attn = c.get_bool("skip_attn");

  const bool projected = b.attn.mode == "classic" || b.attn.mode == "untied" || b.attn.mode == "moe";
  if (c.get_bool("init_local_attn")) {
    if (c.get_string("geometry") == "none") bad_value(c, "init_local_attn", "needs a geometry (geometry = multilayer)");
    if (projected && !b.attn.attn_bias) bad_value(c, "init_local_attn", "needs attn_bias = true");
  }
  const std::vector<int64_t> experts = int_list(c, "experts");
  const size_t blocks = e.recurrent ? 1 : size_t(e.depth);
  if (experts.size() != 1 && experts.size() != blocks)
    bad_value(c, "experts", "expected one number or " + std::to_string(blocks) + " (one per block)");
  for (size_t i = 0; i < blocks; ++i) {
    b.experts = experts[experts.size() == 1 ? 0 : i];
    if (b.experts < 1) bad_value(c, "experts", "every count must be >= 1");
    if (b.experts > 1 && !ColumnBlock::any_moe(b))
      bad_value(c, "experts", "experts need a moe layer (attn_mode, mlp_mode or norm_mode = moe)");
    e.blocks.push_back(b);
  }
  return e;
}

namespace {

// A registered configuration: the reference row at 128x128 (patch 16, K 100)
// and its CIFAR version (32x32, patch 4, K 10, head width 32). The CIFAR
// version is the spec's D 128, L 6 except for the recurrent rows, which are
// our CPU budget: at 6 sheets (N 384) one block runs 6 times over 384
// columns, 20 to 60 times the work of a feed-forward row, so they hold 3
// sheets (L 3, N 192), and the TUT rows D 96 on top, to train a CIFAR-10
// epoch in under 15 minutes on 2 cores (docs/COLUMNFORMER.md, Performance).
struct Row {
  const char* name;
  const char* description;
  const char* settings;  // `key = value` lines over the defaults
  int64_t heads;         // H at D 384; at CIFAR size, 1 stays 1, else head width 32
  int64_t cifar_dim, cifar_depth;
};

const Row kRows[] = {
    {"vision_transformer_tiny", "ViT baseline in the Columnformer frame: classic attention, MLP, norms",
     "", 6, 128, 6},
    {"vision_columnformer_ff_tiny", "Columnformer, feed-forward: untied attention, MLP and norms, local attention init",
     "attn_mode = untied\nmlp_mode = untied\nnorm_mode = untied\nmlp_ratio = 0.16666666666666666\n"
     "attn_bias = true\nqk_dim = 64\nno_vp = true\ninit_local_attn = true\n",
     1, 128, 6},
    {"vision_columnformer_r_tiny", "Columnformer, recurrent over stacked sheets (one per step), no attention skip",
     "attn_mode = untied\nmlp_mode = untied\nnorm_mode = untied\nmlp_ratio = 0.16666666666666666\n"
     "attn_bias = true\nqk_dim = 64\nno_vp = true\ninit_local_attn = true\nrecurrent = true\nskip_attn = false\n",
     1, 128, 3},
    {"vision_moemixer_tiny", "MoE mixer: static linear mixing, moe MLP with experts 1,1,2,2,4,4",
     "attn_mode = linmixing\nmlp_mode = moe\nexperts = 1,1,2,2,4,4\nmlp_conserve = true\n", 6, 128, 6},
    {"vision_tut_tiny", "Topographic universal transformer: recurrent, classic attention, moe MLP with 24 experts",
     "mlp_mode = moe\nrecurrent = true\nmlp_ratio = 1\nexperts = 24\nmlp_conserve = false\nattn_bias = true\n", 6, 96, 3},
    {"vision_tut_ff_tiny", "TUT with direct edges arange(N): a feed-forward pipeline unrolled in time",
     "mlp_mode = moe\nrecurrent = true\nmlp_ratio = 1\nexperts = 24\nmlp_conserve = false\nattn_bias = true\n"
     "direct_edges = arange\n",
     6, 96, 3},
};

}  // namespace

std::vector<ModelInfo> columnformer_models() {
  std::vector<ModelInfo> models;
  for (const Row& row : kRows) {
    Config settings = Config::parse(row.settings, row.name);
    Config tiny = settings.resolved_against(VisionColumnformer::defaults(), row.name);
    tiny.set("image_size", 128).set("patch_size", 16).set("num_classes", 100).set("dim", 384).set("depth", 6)
        .set("heads", row.heads);
    models.push_back({row.name, std::string(row.description) + " (3.7, 128x128, D 384)", tiny,
                      VisionColumnformer::create});
    Config cifar = settings.resolved_against(VisionColumnformer::defaults(), row.name);
    const std::string name = std::string(row.name) + "_cifar";
    cifar.set("dim", row.cifar_dim).set("depth", row.cifar_depth)
        .set("heads", row.heads == 1 ? int64_t(1) : row.cifar_dim / 32);
    std::string size = " (3.7, CIFAR 32x32, D " + std::to_string(row.cifar_dim) + ")";
    if (row.cifar_dim != 128 || row.cifar_depth != 6)
      size = " (3.7, CIFAR 32x32, D " + std::to_string(row.cifar_dim) + " and " + std::to_string(row.cifar_depth) +
             " sheets and steps instead of 128 and 6: sized for an epoch in minutes on 2 cores, docs/COLUMNFORMER.md)";
    models.push_back({name, std::string(row.description) + size, cifar, VisionColumnformer::create});
  }
  return models;
}

}  // namespace cf
