#include "nn/cortical.h"

#include <iomanip>
#include <sstream>
#include <utility>

#include "autograd/error.h"
#include "nn/mlp.h"

namespace cf {

Config CorticalTransformer::defaults() {
  Config c;
  c.define("image_size", 32, "input height = width in pixels")
      .define("in_channels", 3, "input channels C_in")
      .define("num_classes", 10, "classes K")
      .define("conv_layers", 2, "n_conv of the CCT tokenizer (1.2)")
      .define("conv_kernel", 3, "kernel k of the CCT tokenizer's convolutions")
      .define("conv_channels", 128, "intermediate channels of the CCT tokenizer (paper B.1: 128)")
      .define("pos", "learned", "position embedding: learned, sinusoidal or none")
      .define("dim", 128, "width D of each region")
      .define("heads", 4, "attention heads H per region")
      .define("regions", 4, "regions R of the latent")
      .define("timesteps", 4, "timesteps T of the recurrence")
      .define("mlp_ratio", 2.0, "MLP hidden width D_ff = floor(mlp_ratio D)")
      .define("pattern", "feedforward",
              "macro connectivity (7.2): feedforward, feedforward_ti or recurrent")
      .define("token_interactions", true,
              "route the MLP through W^{M,r} (K2); false: per-region second layers (eq. 6)")
      .define("dropoff_lambda", 0.0, "exponential drop-off lambda of the routing masks (0: off)")
      .define("norm_stats", "token", "RegionNorm statistics: token (per region) or global")
      .define("norm_affine", "region_token", "RegionNorm affine: region, shared or region_token")
      .define("reinject", false, "add the tokens to region 1 before every step")
      .define("reduction", 1, "micro dimensionality reduction factor d (1: off)")
      .define("reduction_target", "qk", "what d reduces: qk (cortical), vo (null control) or all (naive)")
      .define("density", 1.0, "micro sparsity: kept fraction s of the sparse weights (1: dense)")
      .define("sparse_target", "vo", "what is sparse: vo (cortical) or qk (null control)")
      .define("meso_m", 8, "meso grid: the D dimensions as D/m rows of m")
      .define("meso_width", 0, "meso window width per head (0: off, every head reads all D)")
      .define("seed", 0, "initialisation and mask seed");
  return c;
}

namespace {

// A string key's value mapped to its enum, checked against the allowed names.
template <class T>
T choice(const Config& c, const std::string& key, const std::vector<std::pair<std::string, T>>& allowed) {
  std::string names;
  for (const auto& [name, value] : allowed) {
    if (name == c.get_string(key)) return value;
    names += (names.empty() ? "" : ", ") + name;
  }
  bad_value(c, key, "allowed: " + names);
}

int64_t positive(const Config& c, const std::string& key) {
  const int64_t v = c.get_int(key);
  if (v < 1) bad_value(c, key, "it must be at least 1");
  return v;
}

}  // namespace

CorticalOptions CorticalTransformer::block_options(const Config& c) {
  CorticalOptions o;
  o.dim = positive(c, "dim");
  o.regions = positive(c, "regions");
  o.timesteps = positive(c, "timesteps");
  o.tokens = ConvTokenizer::tokens(c.get_int("image_size"), c.get_int("conv_layers"),
                                   c.get_int("conv_kernel"));
  o.mlp_hidden = mlp_hidden(o.dim, c.get_float("mlp_ratio"));
  using P = ConnectivityPattern;
  o.pattern = choice<P>(c, "pattern", {{"feedforward", P::feedforward},
                                       {"feedforward_ti", P::feedforward_ti},
                                       {"recurrent", P::recurrent}});
  o.token_interactions = c.get_bool("token_interactions");
  if (o.pattern == P::feedforward_ti && !o.token_interactions)
    bad_value(c, "pattern", "it needs token_interactions = true");
  o.dropoff_lambda = c.get_float("dropoff_lambda");
  if (o.dropoff_lambda < 0) bad_value(c, "dropoff_lambda", "it must be >= 0 (0: no drop-off)");
  o.norm_stats = choice<NormStats>(c, "norm_stats", {{"token", NormStats::token}, {"global", NormStats::global}});
  o.norm_affine = choice<NormAffine>(c, "norm_affine", {{"region", NormAffine::region},
                                                        {"shared", NormAffine::shared},
                                                        {"region_token", NormAffine::region_token}});
  o.reinject = c.get_bool("reinject");
  // Feed-forward patterns pass the image on one region a step: region R
  // (the readout's) holds it at step R only, or from step R on with reinject.
  // At any other T the logits would not depend on the image (7.4).
  if (o.pattern != P::recurrent &&
      (o.reinject ? o.timesteps < o.regions : o.timesteps != o.regions)) {
    const std::string R = std::to_string(o.regions);
    bad_value(c, "timesteps",
              "with pattern " + c.get_string("pattern") +
                  " the image reaches the readout region only at step regions = " + R +
                  (o.reinject ? " and after, so it must be at least " + R
                              : ", so it must be " + R + " (or reinject = true and at least that)"));
  }
  // The recurrent pattern routes region 1 to every region in one step, but
  // the last step reads region R of the latent before it, still zero at T 1.
  if (o.pattern == P::recurrent && o.regions > 1 && o.timesteps < 2)
    bad_value(c, "timesteps",
              "with pattern recurrent the image reaches the readout region after one step, so it "
              "must be at least 2");
  o.seed = uint64_t(c.get_int("seed"));

  RegionAttentionOptions& a = o.attention;
  a.regions = o.regions;
  a.dim = o.dim;
  a.heads = positive(c, "heads");
  if (o.dim % a.heads != 0) bad_value(c, "heads", "it must divide dim " + std::to_string(o.dim));
  // Micro (7.5): d divides the head width D / H of q/k (cortical), of v/o
  // (null control) or of both (naive compression).
  const int64_t width = o.dim / a.heads, d = positive(c, "reduction");
  if (width % d != 0)
    bad_value(c, "reduction", "it must divide the head width dim / heads = " + std::to_string(width));
  enum class Target { qk, vo, all };
  const Target reduced = choice<Target>(c, "reduction_target", {{"qk", Target::qk}, {"vo", Target::vo}, {"all", Target::all}});
  a.qk_dim = reduced == Target::vo ? width : width / d;
  a.v_dim = reduced == Target::qk ? width : width / d;
  a.density = c.get_float("density");
  if (!(a.density > 0 && a.density <= 1)) bad_value(c, "density", "it must be in (0, 1]");
  a.sparse_qk = choice<bool>(c, "sparse_target", {{"vo", false}, {"qk", true}});
  const int64_t meso_width = c.get_int("meso_width");
  if (meso_width != 0) a.inputs = meso_inputs(o.dim, a.heads, c.get_int("meso_m"), meso_width);
  a.seed = o.seed;
  return o;
}

std::unique_ptr<Model> CorticalTransformer::create(const Config& config) {
  return std::make_unique<CorticalTransformer>(config);
}

CorticalTransformer::CorticalTransformer(const Config& c)
    : image_size(c.get_int("image_size")),
      in_channels(c.get_int("in_channels")),
      num_classes(c.get_int("num_classes")),
      dim(c.get_int("dim")),
      tokenizer(in_channels, dim, c.get_int("conv_layers"), c.get_int("conv_kernel"),
                c.get_int("conv_channels")),
      cortex(block_options(c)),
      norm(dim),
      attention_pool(dim),
      head(dim, num_classes) {
  register_module("tokenizer", tokenizer);
  const std::string pos =
      choice<std::string>(c, "pos", {{"learned", "learned"}, {"sinusoidal", "sinusoidal"}, {"none", "none"}});
  if (pos != "none") {
    pos_embed = std::make_unique<PositionEmbedding>(pos, cortex.options.tokens, dim);
    register_module("pos_embed", *pos_embed);
  }
  register_module("cortex", cortex);
  register_module("norm", norm);
  register_module("attention_pool", attention_pool);
  register_module("head", head);
  init_parameters(uint64_t(c.get_int("seed")));
}

Tensor CorticalTransformer::forward(const Tensor& images) {
  CF_CHECK(images.defined() && images.dim() == 4 && images.size(1) == in_channels &&
               images.size(2) == image_size && images.size(3) == image_size,
           "CorticalTransformer: images of shape "
               << (images.defined() ? shape_str(images.shape()) : "undefined") << ", expected [B, "
               << in_channels << ", " << image_size << ", " << image_size << "]");
  Tensor x = tokenizer.forward(images);
  if (pos_embed) x = pos_embed->forward(x);
  return head.forward(attention_pool.forward(norm.forward(cortex.forward(x))));
}

int64_t CorticalTransformer::learnable_parameters() const {
  return num_parameters() - cortex.num_parameters() + cortex.learnable_parameters();
}

std::vector<ModelInfo> cortical_models() {
  // Each configuration is the baseline's defaults with a few keys changed.
  auto entry = [](const std::string& name, const std::string& description, const std::string& keys) {
    Config config = Config::parse(keys, name).resolved_against(CorticalTransformer::defaults(), name);
    return ModelInfo{name, description, config, CorticalTransformer::create};
  };
  const std::string macro = "pattern = recurrent\ntimesteps = 8\ndropoff_lambda = 0.5\n";
  const std::string micro = "reduction = 4\ndensity = 0.125\n";
  const std::string meso_2d = "heads = 8\nmeso_m = 8\nmeso_width = 6\n";
  const std::string cpu = "dim = 64\nconv_channels = 64\n";
  return {
      entry("cortical_baseline", "Cortical baseline: feed-forward R 4 = T 4, a 4-layer CCT encoder, D 128, H 4 (7.8)", ""),
      entry("cortical_macro", "Cortical macro: recurrent pattern (token interactions), T 8 (7.8)",
            "pattern = recurrent\ntimesteps = 8\n"),
      entry("cortical_macro_sparse", "Cortical macro: recurrent, T 8, exponential drop-off lambda 0.5 (7.8)", macro),
      entry("cortical_macro_ti", "Cortical macro: feed-forward + token interactions, T 4 (7.8)",
            "pattern = feedforward_ti\n"),
      entry("cortical_micro", "Cortical micro: q/k reduced by d 4, W^V, W^0 density 0.125 (7.8)", micro),
      entry("cortical_micro_nosparse", "Cortical micro: q/k reduced by d 4 only (7.8)", "reduction = 4\n"),
      entry("cortical_micro_null_d", "Null control: reduction by 4 on v/o instead of q/k, density 0.125 (7.8)",
            micro + "reduction_target = vo\n"),
      entry("cortical_micro_null_s", "Null control: q/k reduced by 4, density 0.125 on W^Q, W^K (7.8)",
            micro + "sparse_target = qk\n"),
      entry("cortical_meso_parallel", "Cortical meso: H 8, fully parallel head inputs, m 8, width 4 (7.8)",
            "heads = 8\nmeso_m = 8\nmeso_width = 4\n"),
      entry("cortical_meso_2d", "Cortical meso: H 8, 2-D overlapping head inputs, m 8, width 6 (7.8)", meso_2d),
      entry("cortical_meso_1d", "Null control: H 8, 1-D overlapping head inputs, m 1, width 23 (7.8)",
            "heads = 8\nmeso_m = 1\nmeso_width = 23\n"),
      entry("cortical_macro_micro", "Cortical macro+micro: recurrent T 8, lambda 0.5, d 4, density 0.125 (7.8)",
            macro + micro),
      entry("cortical_macro_micro_meso", "Cortical macro+micro+meso: as macro+micro, H 8, 2-D meso (7.8)",
            macro + micro + meso_2d),
      entry("cortical_naive_4", "Naive compression control: d_qk and d_v both reduced by 4 (paper sec. 3)",
            "reduction = 4\nreduction_target = all\n"),
      entry("cortical_naive_8", "Naive compression control: d_qk and d_v both reduced by 8 (paper sec. 3)",
            "reduction = 8\nreduction_target = all\n"),
      entry("cortical_cpu_baseline", "cortical_baseline at D 64 (CPU budget on CIFAR-10)", cpu),
      entry("cortical_cpu_macro_micro", "cortical_macro_micro at D 64 (CPU budget on CIFAR-10)", cpu + macro + micro),
      entry("cortical_cpu_macro_micro_meso", "cortical_macro_micro_meso at D 64 (CPU budget on CIFAR-10)",
            cpu + macro + micro + meso_2d),
  };
}

std::string cortical_attention_table() {
  std::ostringstream os;
  os << "| model | H | d_qk | d_v | D_s | density | attention params | per region | compression | all params |\n"
     << "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n";
  for (const ModelInfo& info : cortical_models()) {
    std::unique_ptr<Model> model = info.factory(info.defaults);
    const auto& m = dynamic_cast<const CorticalTransformer&>(*model);
    const RegionAttentionOptions& a = m.cortex.options.attention;
    // Dense attention of the same width (7.7 with d_qk = d_v = D / H): 4 D^2 per region.
    const int64_t dense = m.cortex.options.regions * 4 * m.dim * m.dim;
    const int64_t count = m.attention_parameters();
    std::ostringstream ratio, per_region;
    ratio << std::fixed << std::setprecision(2) << double(dense) / double(count);
    per_region << std::fixed << std::setprecision(count % a.regions ? 2 : 0)
               << double(count) / double(a.regions);
    os << "| `" << info.name << "` | " << a.heads << " | " << a.qk_dim << " | " << a.v_dim << " | "
       << m.cortex.attn.d_s << " | " << a.density << " | " << count << " | " << per_region.str()
       << " | " << ratio.str() << "x | " << m.learnable_parameters() << " |\n";
  }
  return os.str();
}

}  // namespace cf
