#include "nn/mixer_vision.h"

#include "autograd/error.h"
#include "nn/pooling.h"

namespace cf {

Config PatchModel::defaults() {
  Config c;
  c.define("image_size", 32, "input height = width in pixels")
      .define("in_channels", 3, "input channels C_in")
      .define("num_classes", 10, "classes K")
      .define("patch_size", 4, "patch size p of PatchEmbed")
      .define("dim", 128, "model width D")
      .define("seed", 0, "initialisation seed");
  return c;
}

PatchModel::PatchModel(const Config& c, bool learned_positions, Init head_init)
    : image_size(c.get_int("image_size")),
      in_channels(c.get_int("in_channels")),
      num_classes(c.get_int("num_classes")),
      dim(c.get_int("dim")),
      tokens(PatchEmbed::tokens(image_size, c.get_int("patch_size"))),
      grid(image_size / c.get_int("patch_size")),
      patch_embed(image_size, c.get_int("patch_size"), in_channels, dim),
      norm(dim),
      head(dim, num_classes, true, head_init) {
  register_module("patch_embed", patch_embed);
  if (learned_positions) {
    pos_embed = std::make_unique<PositionEmbedding>("learned", tokens, dim);
    register_module("pos_embed", *pos_embed);
  }
}

void PatchModel::finish(const Config& c) {
  register_module("norm", norm);
  register_module("head", head);
  init_parameters(uint64_t(c.get_int("seed")));
}

Tensor PatchModel::forward(const Tensor& images) {
  CF_CHECK(images.defined() && images.dim() == 4 && images.size(1) == in_channels &&
               images.size(2) == image_size && images.size(3) == image_size,
           "model " << name() << ": images of shape "
                    << (images.defined() ? shape_str(images.shape()) : "undefined") << ", expected [B, "
                    << in_channels << ", " << image_size << ", " << image_size << "]");
  Tensor x = patch_embed.forward(images);
  if (pos_embed) x = pos_embed->forward(x);
  block_outputs_.clear();
  return head.forward(mean_pool(norm.forward(encode(x))));
}

}  // namespace cf
