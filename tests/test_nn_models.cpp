// ViT-lite and CCT (ARCHITECTURES.md 2.4, 2.5) built through the registry:
// parameter counts from the spec's formulas, gradient checks at a tiny size,
// PyTorch (timm) names, and overfitting a fixed batch.
#include <chrono>

#include "nn/registry.h"
#include "nn/vision_transformer.h"
#include "train/optim.h"
#include "tests/test_nn_util.h"

using namespace cf;
using cf::test::contains;
using cf::test::error_of;
using cf::test::require_module_gradcheck;
using cf::test::sharpen_attention;

namespace {

// The spec's parameter formulas, written out from the config.
int64_t block_params(int64_t D, int64_t H, int64_t N, const Config& c) {
  const int64_t d_qk = c.get_int("qk_dim") ? c.get_int("qk_dim") : D / H;
  const bool no_vp = c.get_bool("no_vp"), qkv_bias = c.get_bool("qkv_bias");
  const int64_t attn = 2 * D * H * d_qk + !no_vp * (2 * D * D + D) +                 // 2.1
                       qkv_bias * (2 * H * d_qk + !no_vp * D) +
                       c.get_bool("attn_bias") * N * N + c.get_bool("head_bias") * H * N * N;
  const int64_t D_ff = int64_t(c.get_float("mlp_ratio") * double(D));
  const int64_t mlp = 2 * D * D_ff + D_ff + D;                                       // 2.2
  const int64_t layer_scale = c.get_float("layer_scale") > 0 ? 2 * D : 0;            // 2.3
  return 2 * D + attn + 2 * D + mlp + layer_scale;                                   // LN1, LN2
}

int64_t expected_params(const Config& c) {
  const int64_t D = c.get_int("dim"), H = c.get_int("heads"), L = c.get_int("depth");
  const int64_t C = c.get_int("in_channels"), K = c.get_int("num_classes"), S = c.get_int("image_size");
  int64_t tokenizer = 0, N = 0;
  if (c.get_string("tokenizer") == "patch") {
    const int64_t p = c.get_int("patch_size");
    tokenizer = p * p * C * D + D;                                                   // 1.1
    N = (S / p) * (S / p);
  } else {
    const int64_t k = c.get_int("conv_kernel"), n = c.get_int("conv_layers");
    int64_t c_prev = C, size = S;
    for (int64_t i = 0; i < n; ++i) {                                               // 1.2
      const int64_t c_i = i + 1 == n ? D : c.get_int("conv_channels");
      tokenizer += k * k * c_prev * c_i;
      c_prev = c_i;
      size = (size - 1) / 2 + 1;  // 3x3 "same" conv, then max pool 3 / 2 / 1
    }
    N = size * size;
  }
  const bool cls = c.get_string("pool") == "cls";
  N += cls;
  const int64_t pos = c.get_string("pos") == "learned" ? N * D : 0;                  // 1.3
  const int64_t pool = c.get_string("pool") == "seq" ? D + 1 : 0;                    // 1.4
  return tokenizer + cls * D + pos + L * block_params(D, H, N, c) + 2 * D + pool +   // final LN
         D * K + K;                                                                  // 1.5
}

Config tiny(const std::string& model) {
  Config c = Config::parse("image_size = 8\ndim = 8\ndepth = 1\nheads = 2\nnum_classes = 3\n");
  if (model.rfind("cct", 0) == 0) c.set("conv_layers", 1).set("conv_channels", 4);
  return c;
}

std::vector<std::string> names_of(const NamedTensors& named) {
  std::vector<std::string> out;
  for (const auto& [name, t] : named) out.push_back(name);
  return out;
}

}  // namespace

TEST_CASE("Registered models and their parameter counts", "[nn][models]") {
  const std::vector<std::string> names = model_names();
  for (const char* expected : {"vit_lite_cpu", "vit_lite_7_4", "cct_2_3x2", "cct_7_3x1"})
    CHECK(std::find(names.begin(), names.end(), expected) != names.end());
  for (std::string name : {"vit_lite_cpu", "vit_lite_7_4", "cct_2_3x2", "cct_7_3x1"}) {
    INFO(name);
    auto model = build_model(name);
    CHECK(model->name() == name);
    CHECK(model->num_parameters() == expected_params(model->config()));
  }
  // CCT-2/3x2 is reported at 0.28 M parameters.
  CHECK(build_model("cct_2_3x2")->num_parameters() == 283723);

  // Every option changes the count as the formulas say.
  const char* variants[] = {"pool = cls", "pos = sinusoidal", "qkv_bias = true",
                            "attn_bias = true\nhead_bias = true", "no_vp = true\nqkv_bias = true",
                            "layer_scale = 0.1", "qk_dim = 8\nmlp_ratio = 1.5", "pos = none"};
  for (std::string model : {"vit_lite_cpu", "cct_2_3x2"})
    for (const char* v : variants) {
      INFO(model << ": " << v);
      Config c = Config::parse(v).resolved_against(tiny(model).resolved_against(model_info(model).defaults, model), model);
      CHECK(build_model(model, c)->num_parameters() == expected_params(c));
    }
}

TEST_CASE("Models: shapes, attention maps by block, seeded init", "[nn][models]") {
  for (std::string name : {"vit_lite_cpu", "cct_7_3x1"}) {
    INFO(name);
    Config c = tiny(name).set("depth", 2);
    auto model = build_model(name, c);
    Tensor logits = model->forward(Tensor::randn({2, 3, 8, 8}, 1));
    CHECK(logits.shape() == Shape{2, 3});
    CHECK(model->attention_maps().empty());  // not kept unless asked
    keep_attention_maps(*model);
    model->forward(Tensor::randn({2, 3, 8, 8}, 1));
    const int64_t N = name == "vit_lite_cpu" ? 4 : 16;
    REQUIRE(model->attention_maps().size() == 2);
    CHECK(model->attention_maps()[1].shape() == Shape{2, 2, N, N});
    CHECK(model->block_outputs()[0].shape() == Shape{2, N, 8});
    CHECK(model->aux_losses().empty());

    auto same = build_model(name, c), other = build_model(name, c.set("seed", 1));
    CHECK(same->state_dict()[0].second.to_vector() == model->state_dict()[0].second.to_vector());
    CHECK(other->state_dict()[0].second.to_vector() != model->state_dict()[0].second.to_vector());
  }
}

TEST_CASE("Model gradients at a tiny size", "[nn][models][grad]") {
  for (std::string name : {"vit_lite_cpu", "cct_2_3x2"}) {
    INFO(name);
    auto model = build_model(name, tiny(name).set("dropout", 0.1).set("drop_path", 0.1));
    Model& m = *model;
    auto forward = [&](const Tensor& x) { return m.forward(x); };
    Tensor images = cf::test::away_from_zero({1, 3, 8, 8}, 2, 0.1f);
    sharpen_attention(m, {"blocks.0.attn.q.weight", "blocks.0.attn.k.weight"});
    require_module_gradcheck(m, images, forward, {"pos_embed.weight", "blocks.0.attn.q.weight", "head.bias"});
    std::vector<std::string> first_and_last = {"head.weight", "blocks.0.mlp.fc2.weight"};
    first_and_last.push_back(name == "vit_lite_cpu" ? "patch_embed.proj.weight" : "attention_pool.weight");
    require_module_gradcheck(m, images, forward, first_and_last);
  }
  // The options that add tensors: class token, attention biases, LayerScale.
  auto model = build_model("vit_lite_cpu", tiny("vit_lite_cpu").set("pool", "cls").set("attn_bias", true)
                                               .set("head_bias", true).set("layer_scale", 0.5));
  Model& m = *model;
  require_module_gradcheck(m, Tensor::randn({1, 3, 8, 8}, 3), [&](const Tensor& x) { return m.forward(x); },
                           {"cls_token", "blocks.0.attn.attn_bias", "blocks.0.attn.head_bias", "blocks.0.ls2.gamma"});
}

TEST_CASE("State dict names follow timm's ViT and CCT", "[nn][models]") {
  auto vit = build_model("vit_lite_cpu", tiny("vit_lite_cpu").set("pool", "cls").set("layer_scale", 0.1));
  CHECK(names_of(vit->state_dict()) ==
        std::vector<std::string>{"cls_token", "patch_embed.proj.weight", "patch_embed.proj.bias", "pos_embed.weight",
                                 "blocks.0.norm1.weight", "blocks.0.norm1.bias", "blocks.0.attn.q.weight",
                                 "blocks.0.attn.k.weight", "blocks.0.attn.v.weight", "blocks.0.attn.proj.weight",
                                 "blocks.0.attn.proj.bias", "blocks.0.ls1.gamma", "blocks.0.norm2.weight",
                                 "blocks.0.norm2.bias", "blocks.0.mlp.fc1.weight", "blocks.0.mlp.fc1.bias",
                                 "blocks.0.mlp.fc2.weight", "blocks.0.mlp.fc2.bias", "blocks.0.ls2.gamma",
                                 "norm.weight", "norm.bias", "head.weight", "head.bias"});
  auto cct = build_model("cct_2_3x2", tiny("cct_2_3x2").set("conv_layers", 2));
  CHECK(names_of(cct->state_dict()) ==
        std::vector<std::string>{"tokenizer.conv_layers.0.weight", "tokenizer.conv_layers.1.weight",
                                 "pos_embed.weight", "blocks.0.norm1.weight", "blocks.0.norm1.bias",
                                 "blocks.0.attn.q.weight", "blocks.0.attn.k.weight", "blocks.0.attn.v.weight",
                                 "blocks.0.attn.proj.weight", "blocks.0.attn.proj.bias", "blocks.0.norm2.weight",
                                 "blocks.0.norm2.bias", "blocks.0.mlp.fc1.weight", "blocks.0.mlp.fc1.bias",
                                 "blocks.0.mlp.fc2.weight", "blocks.0.mlp.fc2.bias", "norm.weight", "norm.bias",
                                 "attention_pool.weight", "attention_pool.bias", "head.weight", "head.bias"});
}

TEST_CASE("Models reject images and configs that do not fit", "[nn][models][errors]") {
  CHECK(error_of([] { build_model("vit_lite_cpu", Config().set("image_size", 30)); }) ==
        "PatchEmbed: image size 30x30 is not a multiple of the patch size 4");
  auto model = build_model("vit_lite_cpu", tiny("vit_lite_cpu"));
  CHECK(error_of([&] { model->forward(Tensor::zeros({1, 3, 12, 12})); }) ==
        "VisionTransformer: images of shape [1, 3, 12, 12], expected [B, 3, 8, 8]");
  CHECK(contains(error_of([] { build_model("vit_lite_cpu", Config().set("dim", 130)); }),
                 "dim 130 must be a positive multiple of heads 4"));
}

TEST_CASE("The registry takes new models and lists keys with docs", "[nn][models]") {
  std::string help = model_help("cct_2_3x2");
  CHECK(contains(help, "cct_2_3x2: CCT-2/3x2"));
  CHECK(contains(help, "conv_layers"));
  CHECK(contains(help, "model width D"));
  Config defaults = VisionTransformer::vit_config(8, 1, 2, 1.0).set("image_size", 8);
  register_model("test_vit_tiny", "a tiny ViT for this test", defaults, VisionTransformer::create);
  CHECK(build_model("test_vit_tiny")->num_parameters() == expected_params(defaults));
  CHECK(contains(error_of([&] { register_model("test_vit_tiny", "again", defaults, VisionTransformer::create); }),
                 "a model named \"test_vit_tiny\" already exists"));
}

namespace {

// Trains on 64 random images with random labels (pure memorisation) and
// returns the training accuracy reached, stopping at 95% or `max_steps`.
double overfit(const std::string& name, const Config& config, int max_steps, float lr) {
  auto model = build_model(name, config);
  const int64_t B = 64, K = config.get_int("num_classes"), S = config.get_int("image_size");
  Tensor images = Tensor::randn({B, 3, S, S}, 99);
  std::vector<int64_t> labels;
  Tensor u = Tensor::rand({B}, 100);
  for (int64_t i = 0; i < B; ++i) labels.push_back(int64_t(u.data()[i] * float(K)) % K);

  return test::train_to_memorise(*model, images, labels, max_steps, lr);
}

}  // namespace

TEST_CASE("Each model overfits a fixed batch of 64 images", "[nn][models][overfit]") {
  const Config small = Config::parse("image_size = 16\ndim = 32\ndepth = 2\nheads = 2\n");
  struct Case {
    std::string name;
    Config config;
  };
  const std::vector<Case> cases = {
      {"vit_lite_cpu", small},
      // The convolutional tokenizer costs most: 8x8 images give CCT-2/3x2
      // 2x2 tokens and CCT-7/3x1 4x4.
      {"cct_2_3x2", Config(small).set("image_size", 8).set("conv_channels", 16)},
      {"cct_7_3x1", Config(small).set("image_size", 8)},
  };
  for (const Case& c : cases) {
    INFO(c.name);
    auto start = std::chrono::steady_clock::now();
    double accuracy = overfit(c.name, c.config.resolved_against(model_info(c.name).defaults, c.name), 200, 3e-3f);
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    INFO("accuracy " << accuracy << " after " << seconds << " s");
    CHECK(accuracy >= 0.95);
  }
}

TEST_CASE("attention_parameters counts every family's token mixers", "[nn]") {
  // MLP-Mixer: per layer the token MLP, Linear(64 -> 64) and Linear(64 -> 64)
  // with biases, over the 64 patches of a 32x32 image; 6 layers.
  CHECK(build_model("mixer_cifar", Config())->attention_parameters() == 6 * 2 * (64 * 64 + 64));
  // AFT: per block q, k, v and the output projection, D 128 with biases; 6 blocks.
  CHECK(build_model("aft_simple_cifar", Config())->attention_parameters() == 6 * 4 * (128 * 128 + 128));
  // CCT-2/3x2: per block qkv (no bias) and the projection (bias), D 128; 2 blocks.
  CHECK(build_model("cct_2_3x2", Config())->attention_parameters() == 2 * (3 * 128 * 128 + 128 * 128 + 128));
}
