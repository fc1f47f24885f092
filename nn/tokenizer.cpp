#include "nn/tokenizer.h"

#include "autograd/error.h"
#include "autograd/ops.h"

namespace cf {

namespace {
// (B, D, h, w) -> (B, h w, D), tokens in row-major spatial order.
Tensor to_tokens(const Tensor& maps) {
  const int64_t B = maps.size(0), D = maps.size(1);
  return transpose(reshape(maps, {B, D, -1}), 1, 2);
}

void check_images(const char* who, const Tensor& images, int64_t channels) {
  CF_CHECK(images.defined() && images.dim() == 4 && images.size(1) == channels,
           who << ": images of shape "
               << (images.defined() ? shape_str(images.shape()) : "undefined")
               << ", expected [B, " << channels << ", H, W]");
}
}  // namespace

PatchEmbed::PatchEmbed(int64_t image_size, int64_t p, int64_t in_channels, int64_t dim)
    : patch_size(p), proj(in_channels, dim, p, p, 0, true, Init::trunc_normal(0.02f)) {
  tokens(image_size, p);  // rejects a patch size that does not divide the image
  register_module("proj", proj);
}

int64_t PatchEmbed::tokens(int64_t image_size, int64_t p) {
  CF_CHECK(p > 0 && image_size > 0 && image_size % p == 0,
           "PatchEmbed: image size " << image_size << "x" << image_size
                                     << " is not a multiple of the patch size " << p);
  return (image_size / p) * (image_size / p);
}

Tensor PatchEmbed::forward(const Tensor& images) const {
  check_images("PatchEmbed", images, proj.in_channels);
  const int64_t H = images.size(2), W = images.size(3), p = patch_size;
  CF_CHECK(H % p == 0 && W % p == 0, "PatchEmbed: image size " << H << "x" << W
                                                               << " is not a multiple of the patch size "
                                                               << p);
  return to_tokens(proj.forward(images));
}

ConvTokenizer::ConvTokenizer(int64_t in_channels, int64_t dim, int64_t n_conv, int64_t kernel,
                             int64_t channels) {
  CF_CHECK(n_conv >= 1, "ConvTokenizer: n_conv " << n_conv << " must be at least 1");
  int64_t c_in = in_channels;
  for (int64_t i = 0; i < n_conv; ++i) {
    const int64_t c_out = i + 1 == n_conv ? dim : channels;
    conv_layers.push_back(std::make_unique<Conv2d>(c_in, c_out, kernel, 1, kernel / 2, false,
                                                   Init::kaiming_normal(c_in * kernel * kernel)));
    register_module("conv_layers." + std::to_string(i), *conv_layers.back());
    c_in = c_out;
  }
}

int64_t ConvTokenizer::tokens(int64_t image_size, int64_t n_conv, int64_t kernel) {
  int64_t s = image_size;
  for (int64_t i = 0; i < n_conv; ++i) {
    s = s + 2 * (kernel / 2) - kernel + 1;  // the convolution, stride 1
    s = (s + 2 * 1 - 3) / 2 + 1;            // max pool 3, stride 2, padding 1
    CF_CHECK(s > 0, "ConvTokenizer: image size " << image_size << " is too small for " << n_conv
                                                  << " conv layers of kernel " << kernel);
  }
  return s * s;
}

Tensor ConvTokenizer::forward(const Tensor& images) const {
  check_images("ConvTokenizer", images, conv_layers.front()->in_channels);
  // ReLU after the pool, on a quarter of the pixels: max and ReLU commute
  // (ReLU does not decrease), so the values are the same bits, and so are the
  // gradients: the window's first maximum is the same pixel before and after
  // the ReLU, or the window's maximum is <= 0 and no gradient passes either way.
  Tensor h = images;
  for (const auto& conv : conv_layers) h = relu(max_pool2d(conv->forward(h), 3, 2, 1));
  return to_tokens(h);
}

}  // namespace cf
