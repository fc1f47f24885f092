#include "nn/universal.h"

#include <sstream>

#include "autograd/error.h"
#include "autograd/ops.h"
#include "nn/act.h"
#include "nn/position.h"

namespace cf {

namespace {

bool act_of(const Config& c) {
  const std::string& halting = c.get_string("halting");
  CF_CHECK(halting == "act" || halting == "fixed",
           "config: key \"halting\" has value \"" << halting << "\"; allowed: fixed, act");
  return halting == "act";
}

int64_t steps_of(const Config& c) {
  const char* key = act_of(c) ? "max_steps" : "steps";
  const int64_t steps = c.get_int(key);
  CF_CHECK(steps >= 1, "config: key \"" << key << "\" has value \"" << steps << "\"; at least 1 step");
  return steps;
}

float epsilon_of(const Config& c) {
  const double eps = c.get_float("act_epsilon");
  CF_CHECK(eps > 0.0 && eps < 1.0,
           "config: key \"act_epsilon\" has value \"" << c.get_string("act_epsilon") << "\"; it must lie in (0, 1)");
  return float(eps);
}

BlockOptions block_options(const Config& c, int64_t dim, int64_t tokens, int64_t grid) {
  BlockOptions o;
  o.attention.dim = dim;
  o.attention.heads = c.get_int("heads");
  o.attention.tokens = tokens;
  o.attention.grid = grid;
  o.attention.qkv_bias = c.get_bool("qkv_bias");
  o.attention.multi_query = c.get_bool("multi_query");
  o.attention.qk_norm = c.get_bool("qk_norm");
  o.attention.rel_pos_bias = c.get_bool("rel_pos_bias");
  o.attention.linear = c.get_bool("linear_attn");
  o.mlp_hidden = mlp_hidden(dim, c.get_float("mlp_ratio"));
  o.act = c.get_string("act");
  o.layer_scale = float(c.get_float("layer_scale"));
  o.post_norm = c.get_bool("post_norm");
  return o;
}

}  // namespace

Config UniversalTransformer::defaults() {
  return PatchModel::defaults()
      .define("heads", 4, "attention heads H")
      .define("mlp_ratio", 2.0, "MLP hidden width D_ff = floor(mlp_ratio D)")
      .define("act", "gelu", "MLP activation: gelu, relu or squared_relu")
      .define("qkv_bias", false, "biases on the q, k, v projections")
      .define("multi_query", false, "one key/value head shared by all query heads (8)")
      .define("qk_norm", false, "L2-normalised q and k with a learned scale (8)")
      .define("rel_pos_bias", false, "learned bias per head and relative 2-D offset (8)")
      .define("linear_attn", false, "linear attention with the elu+1 feature map (8)")
      .define("layer_scale", 0.0, "LayerScale init value (0: off)")
      .define("post_norm", false, "LayerNorm after each skip (the original UT) instead of pre-norm (U2)")
      .define("halting", "fixed", "fixed (T steps) or act (Adaptive Computation Time, 6)")
      .define("steps", 6, "fixed: the number of steps T")
      .define("max_steps", 8, "act: the most steps a position may take, T_max")
      .define("act_epsilon", 0.01, "act: a position halts once its probabilities reach 1 - epsilon")
      .define("ponder_weight", 0.01, "act: weight tau of the ponder cost in the loss")
      .define("halt_bias", 1.0, "act: initial bias b_h of the halting unit");
}

Config UniversalTransformer::cifar_config(bool act) { return defaults().set("halting", act ? "act" : "fixed"); }

std::unique_ptr<Model> UniversalTransformer::create(const Config& config) {
  return std::make_unique<UniversalTransformer>(config);
}

UniversalTransformer::UniversalTransformer(const Config& c)
    : PatchModel(c, false),
      act(act_of(c)),
      max_steps(steps_of(c)),
      epsilon(epsilon_of(c)),
      ponder_weight(float(c.get_float("ponder_weight"))),
      block(block_options(c, dim, tokens, grid)) {
  register_module("block", block);
  if (act) {
    register_parameter("halt_weight", &halt_weight, {1, dim}, Init::trunc_normal(0.02f));
    register_parameter("halt_bias", &halt_bias, {1}, Init::constant(float(c.get_float("halt_bias"))));
  }
  finish(c);
  // (U1): positions i along the tokens, steps t along a second table.
  const Tensor positions = sinusoidal_positions(tokens, dim);
  const Tensor timing = sinusoidal_positions(max_steps + 1, dim);
  for (int64_t t = 1; t <= max_steps; ++t)
    coordinates_.push_back(add(positions, reshape(slice(timing, 1, t, t + 1), {1, 1, dim})));
}

const Tensor& UniversalTransformer::coordinates(int64_t t) const {
  CF_CHECK(t >= 1 && t <= max_steps, "UniversalTransformer: step " << t << " outside 1.." << max_steps);
  return coordinates_[size_t(t - 1)];
}

Tensor UniversalTransformer::encode(const Tensor& x) {
  const int64_t B = x.size(0), N = x.size(1);
  attention_maps_.clear();
  auto step = [&](const Tensor& h, int64_t t) {
    Tensor out = block.forward(add(h, coordinates(t)));  // (U2)
    block_outputs_.push_back(out);
    if (block.attention_map().defined()) attention_maps_.push_back(block.attention_map());
    return out;
  };
  if (!act) {
    Tensor h = x;
    for (int64_t t = 1; t <= max_steps; ++t) h = step(h, t);
    steps_taken_ = Tensor::full({B, N}, float(max_steps));
    return h;
  }
  AdaptiveHalting halting(epsilon, max_steps);
  halting.begin(B * N, dim);
  Tensor h = x;
  for (int64_t t = 1; t <= max_steps; ++t) {
    h = step(h, t);
    Tensor p = sigmoid(linear(h, halt_weight, halt_bias));  // p^t_i (section 6)
    if (!halting.step(reshape(h, {B * N, dim}), reshape(p, {B * N, 1}))) break;
  }
  steps_taken_ = reshape(halting.steps(), {B, N});
  ponder_cost_ = halting.ponder_cost();
  return reshape(halting.state(), {B, N, dim});
}

std::vector<std::pair<std::string, Tensor>> UniversalTransformer::aux_losses() const {
  if (!act || !ponder_cost_.defined()) return {};
  return {{"ponder_cost", mul_scalar(ponder_cost_, ponder_weight)}};  // tau rho (section 6)
}

double UniversalTransformer::mean_steps() const {
  CF_CHECK(steps_taken_.defined(), "UniversalTransformer: no forward pass yet");
  return double(mean(steps_taken_).item());
}

std::vector<ModelInfo> universal_models() {
  return {
      {"ut_cifar", "Universal Transformer, one shared block x 6 steps, D 128, 4 heads, mlp 2, patch 4 (6)",
       UniversalTransformer::cifar_config(false), UniversalTransformer::create},
      {"ut_act_cifar", "Universal Transformer with ACT, at most 8 steps, eps 0.01, tau 0.01, D 128 (6)",
       UniversalTransformer::cifar_config(true), UniversalTransformer::create},
  };
}

}  // namespace cf
