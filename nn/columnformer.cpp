#include "nn/columnformer.h"

#include <cmath>

#include "autograd/error.h"
#include "autograd/graph.h"
#include "autograd/ops.h"

namespace cf {

SpatialPool::SpatialPool(int64_t tokens, int64_t classes) {
  register_parameter("weight", &weight, {classes, tokens}, Init::trunc_normal(0.2f));
}

Tensor SpatialPool::forward(const Tensor& x) const {
  CF_CHECK(x.dim() == 3 && x.size(1) == weight.size(1),
           "SpatialPool: input of shape " << shape_str(x.shape()) << ", expected [B, " << weight.size(1) << ", D]");
  return matmul(softmax(weight, 1), x);  // (K, M) x (B, M, D) -> (B, K, D)
}

std::unique_ptr<Model> VisionColumnformer::create(const Config& config) {
  return std::make_unique<VisionColumnformer>(config);
}

namespace {

std::string pool_kind(const Config& c) {
  const std::string& v = c.get_string("pool");
  if (v != "avg" && v != "spatial") bad_value(c, "pool", "allowed: avg, spatial");
  return v;
}

int64_t output_columns(const Config& c, int64_t patches, int64_t seq_len) {
  const int64_t given = c.get_int("output_len");
  if (given < 0) bad_value(c, "output_len", "it must be >= 0 (0: one per patch)");
  // The patches always fit: only a given length can exceed the encoder.
  if (given > seq_len)
    bad_value(c, "output_len", "the encoder holds " + std::to_string(seq_len) + " columns");
  return given > 0 ? given : patches;
}

// A loss's weight (0: off): a negative or NaN weight is an error, not "off".
float loss_weight(const Config& c, const char* key) {
  const double v = c.get_float(key);
  if (!(v >= 0)) bad_value(c, key, "it must be >= 0 (0: off)");
  return float(v);
}

// Stacked sheets of the input sheet's width, as many as the encoder holds.
std::unique_ptr<Geometry> sheet_geometry(const Config& c, int64_t patches, int64_t seq_len) {
  const std::string& kind = c.get_string("geometry");
  if (kind != "multilayer" && kind != "none") bad_value(c, "geometry", "allowed: multilayer, none");
  if (kind == "none") return nullptr;
  const int64_t width = int64_t(std::lround(std::sqrt(double(patches))));
  // The default seq_len always is one: only a given one can fail.
  if (seq_len % patches != 0)
    bad_value(c, "seq_len", "a multilayer geometry needs a multiple of the " +
                                std::to_string(patches) + " patches");
  return std::make_unique<Geometry>(multilayer_geometry(
      std::vector<int64_t>(size_t(seq_len / patches), width), float(c.get_float("sheet_offset"))));
}

}  // namespace

VisionColumnformer::VisionColumnformer(const Config& c)
    : image_size(c.get_int("image_size")),
      in_channels(c.get_int("in_channels")),
      num_classes(c.get_int("num_classes")),
      dim(c.get_int("dim")),
      patches(PatchEmbed::tokens(image_size, c.get_int("patch_size"))),
      output_len(output_columns(c, patches, encoder_options(c).seq_len)),
      pool(pool_kind(c)),
      wiring_lambda(loss_weight(c, "wiring_lambda")),
      tv_lambda(loss_weight(c, "tv_lambda")),
      patch_embed(image_size, c.get_int("patch_size"), in_channels, dim),
      encoder(encoder_options(c)),
      norm(dim),
      head(dim, num_classes),
      geometry_(sheet_geometry(c, patches, encoder.seq_len)) {
  register_module("patch_embed", patch_embed);
  register_module("encoder", encoder);
  register_module("norm", norm);
  if (pool == "spatial") {
    spatial_pool = std::make_unique<SpatialPool>(output_len, num_classes);
    register_module("pool", *spatial_pool);
  }
  register_module("head", head);
  // The TV loss (C10) lays each block's mixture coefficients on sheets of
  // the patch grid: checked here rather than at the first training step.
  bool mixture = false;
  for (const auto& block : encoder.blocks) mixture = mixture || block->coeffs != nullptr;
  if (tv_lambda > 0 && mixture) {
    if (encoder.seq_len % patches != 0)
      bad_value(c, "seq_len", "the TV loss on the mixture coefficients (tv_lambda > 0) needs a "
                              "multiple of the " + std::to_string(patches) + " patches");
    if (patches < 4)
      bad_value(c, "patch_size", "the TV loss (tv_lambda > 0) needs a patch grid at least 2 "
                                 "wide, and this one is 1");
  }
  if (geometry_) wiring_weights_ = wiring_weights(geometry_->dist, float(c.get_float("wiring_p")));
  init_parameters(uint64_t(c.get_int("seed")));
  // After the seeded init, which would draw the attention biases again.
  if (c.get_bool("init_local_attn"))
    encoder.set_attention_bias(local_attention_bias(geometry_->dist, float(c.get_float("local_attn_sigma"))));
}

Tensor VisionColumnformer::forward(const Tensor& images) {
  CF_CHECK(images.defined() && images.dim() == 4 && images.size(1) == in_channels &&
               images.size(2) == image_size && images.size(3) == image_size,
           "VisionColumnformer: images of shape "
               << (images.defined() ? shape_str(images.shape()) : "undefined") << ", expected [B, "
               << in_channels << ", " << image_size << ", " << image_size << "]");
  Tensor x = norm.forward(encoder.forward(patch_embed.forward(images)));
  const int64_t N = x.size(1);
  x = slice(x, 1, N - output_len, N);  // the last sheet's columns in recurrent mode
  if (pool == "avg") return head.forward(mean(x, 1));
  // Spatial: y_k = sum_d P[b, k, d] W_head[k, d] + b_head[k] (1.4).
  return add(sum(mul(spatial_pool->forward(x), head.weight), -1), head.bias);
}

std::vector<std::pair<std::string, Tensor>> VisionColumnformer::aux_losses() const {
  std::vector<std::pair<std::string, Tensor>> losses;
  const std::vector<Tensor>& maps = encoder.attention_maps();
  if (geometry_ && wiring_lambda > 0 && !maps.empty()) {
    // (C9): every step's map has B H N queries, so the mean over
    // (b, block, head, query) is the mean of the per-step means.
    Tensor total;
    for (const Tensor& map : maps) {
      Tensor cost = wiring_cost(map, wiring_weights_);
      total = total.defined() ? add(total, cost) : cost;
    }
    losses.push_back({"wiring_cost", mul_scalar(total, wiring_lambda / float(maps.size()))});
  }
  std::vector<Tensor> coefficients;
  for (const auto& block : encoder.blocks)
    if (block->coeffs) coefficients.push_back(block->coefficients());
  if (tv_lambda > 0 && !coefficients.empty()) {
    const int64_t width = int64_t(std::lround(std::sqrt(double(patches))));
    losses.push_back({"tv_loss", tv_loss(coefficients, encoder.seq_len / patches, width, tv_lambda)});
  }
  return losses;
}

std::vector<Tensor> VisionColumnformer::attention_maps() const { return encoder.attention_maps(); }

std::vector<Tensor> VisionColumnformer::block_outputs() const { return encoder.step_outputs(); }

std::vector<float> VisionColumnformer::wiring_costs() const {
  std::vector<float> costs;
  if (!geometry_) return costs;
  NoGradGuard no_grad;
  for (const Tensor& map : encoder.attention_maps()) costs.push_back(wiring_cost(map, wiring_weights_).item());
  return costs;
}

}  // namespace cf
