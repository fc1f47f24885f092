#include "nn/aft.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>

#include "autograd/error.h"
#include "autograd/ops.h"

namespace cf {

Tensor aft_core(const Tensor& q, const Tensor& k, const Tensor& v, const AftMix& mix) {
  const int64_t C = k.size(-1);
  // max_t' K_t' per channel, outside the graph: it cancels in the ratio, so
  // its gradient is zero anyway.
  Tensor e = exp(sub(k, max(k.detach(), 1, true)));
  Tensor mixed = mix(concat({mul(e, v), e}, 2));
  Tensor num = slice(mixed, 2, 0, C), den = slice(mixed, 2, C, 2 * C);
  return mul(sigmoid(q), div(num, den));  // (F1)
}

namespace {

const char* const kVariants[] = {"full", "local", "simple", "conv"};

const AftOptions& checked(const AftOptions& o) {
  bool known = false;
  for (const char* name : kVariants) known = known || o.variant == name;
  CF_CHECK(known, "AFT: variant \"" << o.variant << "\" is unknown (full, local, simple, conv)");
  CF_CHECK(o.dim > 0 && o.hidden >= 0, "AFT: dim " << o.dim << " and hidden " << o.hidden
                                                   << " must be positive (hidden 0: dim)");
  const int64_t hidden = o.hidden > 0 ? o.hidden : o.dim;
  if (o.variant == "full" || o.variant == "local")
    CF_CHECK(o.tokens > 0, "AFT: the " << o.variant << " variant needs the number of tokens, got "
                                       << o.tokens);
  CF_CHECK(o.grid >= 0 && (o.grid == 0 || o.grid * o.grid == o.tokens),
           "AFT: a grid of side " << o.grid << " does not hold " << o.tokens << " tokens");
  CF_CHECK(o.rank >= 0 && (o.rank == 0 || o.variant == "full"),
           "AFT: rank " << o.rank << " (a factorised bias) is an option of the full variant only");
  if (o.variant == "local") {
    const int64_t extent = o.grid > 0 ? o.grid : o.tokens;
    CF_CHECK(o.window >= 1 && o.window <= extent,
             "AFT: window " << o.window << " is not allowed: local windows run from 1 to "
                            << extent << (o.grid > 0 ? ", the grid's side" : ", the tokens"));
  }
  if (o.variant == "conv") {
    CF_CHECK(o.grid > 0, "AFT: the conv variant needs the token grid, got grid " << o.grid);
    CF_CHECK(o.window >= 1 && o.window % 2 == 1 && o.window <= 2 * o.grid - 1,
             "AFT: window " << o.window << " is not allowed: conv kernels are odd, from 1 to "
                            << 2 * o.grid - 1 << " on a " << o.grid << "x" << o.grid << " grid");
    CF_CHECK(o.heads > 0 && hidden % o.heads == 0,
             "AFT: heads " << o.heads << " must divide the hidden width " << hidden);
  }
  return o;
}

// Whether w_tt' is learned by AFT-local: |t - t'| < s along a sequence, or
// the Chebyshev distance of the patch coordinates < s on a grid (section 5).
bool in_window(int64_t t, int64_t u, int64_t grid, int64_t window) {
  if (grid == 0) return std::llabs(t - u) < window;
  return std::llabs(t / grid - u / grid) < window && std::llabs(t % grid - u % grid) < window;
}

}  // namespace

AFT::AFT(const AftOptions& o)
    : options(checked(o)),
      hidden(o.hidden > 0 ? o.hidden : o.dim),
      q(o.dim, hidden, o.qkv_bias),
      k(o.dim, hidden, o.qkv_bias),
      v(o.dim, hidden, o.qkv_bias),
      proj(hidden, o.dim) {
  register_module("q", q);
  register_module("k", k);
  register_module("v", v);
  register_module("proj", proj);
  const int64_t n = o.tokens;
  if (o.variant == "full" && o.rank == 0) {
    register_parameter("pos_bias", &pos_bias, {n, n}, Init::zeros(), Decay::no);
  } else if (o.variant == "full") {
    register_parameter("pos_u", &pos_u, {n, o.rank}, Init::trunc_normal(0.02f), Decay::no);
    register_parameter("pos_v", &pos_v, {n, o.rank}, Init::trunc_normal(0.02f), Decay::no);
  } else if (o.variant == "local") {
    // Only the pairs inside the window are parameters; entry 0 of the
    // gathered table is the constant 0 of every pair outside it.
    int64_t learned = 0;
    for (int64_t t = 0; t < n; ++t)
      for (int64_t u = 0; u < n; ++u)
        local_index_.push_back(in_window(t, u, o.grid, o.window) ? ++learned : 0);
    register_parameter("pos_bias", &pos_bias, {learned}, Init::zeros(), Decay::no);
  } else if (o.variant == "conv") {
    // gamma 0 makes every kernel 0 at init: the model starts as AFT-simple
    // (the spec's invariant) and learns its locality.
    const int64_t s = o.window;
    register_parameter("pos_bias", &pos_bias, {o.heads, s, s}, Init::trunc_normal(0.02f),
                       Decay::no);
    register_parameter("gamma", &gamma, {o.heads}, Init::zeros());
    register_parameter("beta", &beta, {o.heads}, Init::zeros());
    for (int64_t c = 0; c < 2 * hidden; ++c) channel_head_.push_back((c % hidden) / (hidden / o.heads));
  }
}

Tensor AFT::position_bias() const {
  if (options.variant == "full") return options.rank > 0 ? matmul(pos_u, transpose(pos_v, 0, 1)) : pos_bias;
  CF_CHECK(options.variant == "local",
           "AFT: the " << options.variant << " variant has no (N, N) position bias");
  const int64_t n = options.tokens;
  return reshape(index_select(concat({Tensor::zeros({1}), pos_bias}, 0), 0, local_index_), {n, n});
}

Tensor AFT::mix(const Tensor& z) const {
  const std::string& variant = options.variant;
  if (variant == "simple") return sum(z, 1, true);  // w = 0: one sum over positions
  if (variant == "full" || variant == "local") {
    Tensor w = position_bias();
    return matmul(exp(sub(w, max(w.detach()))), z);  // exp(w - max w) @ z
  }
  // conv: per head kernel gamma (w - mean w) / std w + beta, then
  // M z = conv_dw(z, exp(w) - 1) + sum z. With m = max(max w, 0) both terms
  // are scaled by exp(-m), which cancels in the ratio: exp(w - m) - exp(-m)
  // and exp(-m) sum z keep every exp <= 1.
  const int64_t H = options.heads, s = options.window, g = options.grid, B = z.size(0);
  const int64_t channels = z.size(2);
  Tensor w = reshape(pos_bias, {H, s * s});
  Tensor centred = sub(w, mean(w, 1, true));
  Tensor normalised = div(centred, sqrt(add_scalar(mean(mul(centred, centred), 1, true), 1e-5f)));
  w = add(mul(normalised, reshape(gamma, {H, 1})), reshape(beta, {H, 1}));
  const float m = std::max(max(w.detach()).item(), 0.0f);
  const float global = std::exp(-m);
  Tensor kernel = add_scalar(exp(add_scalar(w, -m)), -global);
  kernel = reshape(index_select(kernel, 0, channel_head_), {channels, 1, s, s});
  Tensor image = reshape(permute(z, {0, 2, 1}), {B, channels, g, g});
  Tensor local = conv2d(image, kernel, Tensor(), 1, s / 2, channels);
  local = permute(reshape(local, {B, channels, g * g}), {0, 2, 1});
  return add(local, mul_scalar(sum(z, 1, true), global));
}

Tensor AFT::forward(const Tensor& x) {
  CF_CHECK(x.defined() && x.dim() == 3 && x.size(2) == options.dim &&
               (options.tokens == 0 || x.size(1) == options.tokens),
           "AFT: input of shape " << (x.defined() ? shape_str(x.shape()) : "undefined") << ", expected [B, "
                                  << (options.tokens ? std::to_string(options.tokens) : "N") << ", "
                                  << options.dim << "]");
  // AFT-simple's mix is one sum over positions: the fused op (ops/aft.cpp)
  // gives the same values in one pass each way instead of about ten.
  if (options.variant == "simple") return proj.forward(aft_simple(q.forward(x), k.forward(x), v.forward(x)));
  return proj.forward(aft_core(q.forward(x), k.forward(x), v.forward(x), [this](const Tensor& z) { return mix(z); }));
}

AftBlock::AftBlock(const AftOptions& o, int64_t mlp_hidden, const std::string& act)
    : norm1(o.dim), aft(o), norm2(o.dim), mlp(o.dim, mlp_hidden, act) {
  register_module("norm1", norm1);
  register_module("aft", aft);
  register_module("norm2", norm2);
  register_module("mlp", mlp);
}

Tensor AftBlock::forward(const Tensor& x) {
  Tensor h = add(x, aft.forward(norm1.forward(x)));
  return add(h, mlp.forward(norm2.forward(h)));
}

Config AftModel::defaults() {
  return PatchModel::defaults()
      .define("variant", "full", "AFT variant: full, local, simple or conv (5)")
      .define("depth", 6, "number of blocks L")
      .define("mlp_ratio", 2.0, "MLP hidden width D_ff = floor(mlp_ratio D)")
      .define("act", "gelu", "MLP activation: gelu, relu or squared_relu")
      .define("hidden", 0, "AFT width D' of Q, K, V (0: D)")
      .define("window", 3, "local: window s (Chebyshev distance < s); conv: kernel s x s")
      .define("heads", 4, "conv: heads, each with its own kernel")
      .define("rank", 0, "full: factorised bias w = u v^T of this rank (0: w free)")
      .define("qkv_bias", true, "biases on the Q, K, V projections");
}

Config AftModel::cifar_config(const std::string& variant) { return defaults().set("variant", variant); }

std::unique_ptr<Model> AftModel::create(const Config& config) { return std::make_unique<AftModel>(config); }

AftModel::AftModel(const Config& c) : PatchModel(c, true) {
  AftOptions o;
  o.variant = c.get_string("variant");
  o.dim = dim;
  o.hidden = c.get_int("hidden");
  o.tokens = tokens;
  o.grid = grid;
  o.window = c.get_int("window");
  o.heads = c.get_int("heads");
  o.rank = c.get_int("rank");
  o.qkv_bias = c.get_bool("qkv_bias");
  const int64_t depth = c.get_int("depth");
  CF_CHECK(depth >= 1, "config: key \"depth\" has value \"" << depth << "\"; at least 1 block");
  for (int64_t i = 0; i < depth; ++i) {
    blocks.push_back(std::make_unique<AftBlock>(o, mlp_hidden(dim, c.get_float("mlp_ratio")), c.get_string("act")));
    register_module("blocks." + std::to_string(i), *blocks.back());
  }
  finish(c);
}

Tensor AftModel::encode(const Tensor& x) { return run_blocks(blocks, x); }

std::vector<ModelInfo> aft_models() {
  return {
      {"aft_full_cifar", "AFT-full, learned (N, N) bias, D 128, 6 blocks, mlp 2, patch 4 (5)",
       AftModel::cifar_config("full"), AftModel::create},
      {"aft_simple_cifar", "AFT-simple, no position bias, linear in N, D 128, 6 blocks (5)",
       AftModel::cifar_config("simple"), AftModel::create},
      {"aft_local_cifar", "AFT-local, bias within Chebyshev distance < 3 on the 8x8 grid, D 128 (5)",
       AftModel::cifar_config("local"), AftModel::create},
      {"aft_conv_cifar", "AFT-conv, 4 heads with 3x3 kernels, linear in N, D 128, 6 blocks (5)",
       AftModel::cifar_config("conv"), AftModel::create},
  };
}

}  // namespace cf
