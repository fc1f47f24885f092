#include "nn/region_norm.h"

#include "autograd/error.h"
#include "autograd/ops.h"
#include "nn/untied.h"

namespace cf {

namespace {
Shape affine_shape(NormAffine affine, int64_t R, int64_t N, int64_t D) {
  switch (affine) {
    case NormAffine::region: return {R, D};
    case NormAffine::shared: return {D};
    case NormAffine::region_token: return {R, N, D};
  }
  throw Error("RegionNorm: unknown affine shape");
}
}  // namespace

RegionNorm::RegionNorm(int64_t R, int64_t N, int64_t D, NormStats s, NormAffine a, float e)
    : regions(R), tokens(N), dim(D), stats(s), affine(a), eps(e) {
  CF_CHECK(R > 0 && N > 0 && D > 0, "RegionNorm: regions " << R << ", tokens " << N << ", dim "
                                                           << D << " must be positive");
  register_parameter("weight", &weight, affine_shape(a, R, N, D), Init::ones(), Decay::no);
  register_parameter("bias", &bias, affine_shape(a, R, N, D), Init::zeros(), Decay::no);
}

Tensor RegionNorm::forward(const Tensor& z) const {
  CF_CHECK(z.defined() && z.dim() == 4 && z.size(0) == regions && z.size(2) == tokens &&
               z.size(3) == dim,
           "RegionNorm: input of shape " << (z.defined() ? shape_str(z.shape()) : "undefined")
                                         << ", expected [" << regions << ", B, " << tokens << ", "
                                         << dim << "]");
  const int64_t R = regions, B = z.size(1), N = tokens, D = dim;
  // Statistics per region and token: one op with the affine inside the layer
  // norm kernel (the bits of the mul and add below, without their passes).
  if (stats == NormStats::token) {
    switch (affine) {
      case NormAffine::shared: return layer_norm(z, weight, bias, eps);
      case NormAffine::region_token: return untied_layer_norm(z, weight, bias, eps);
      case NormAffine::region: {  // groups of B N rows, each of one affine row
        const Shape s{R, 1, D};
        const Tensor rows = reshape(z, {R, B * N, 1, D});
        return reshape(untied_layer_norm(rows, reshape(weight, s), reshape(bias, s), eps), z.shape());
      }
    }
  }
  // Global statistics: (x - mu) / sigma of (7) over one row of R D values per
  // (b, n), then the affine.
  Tensor rows = reshape(permute(z, {1, 2, 0, 3}), {B, N, R * D});
  Tensor normalised = permute(reshape(layer_norm(rows, Tensor(), Tensor(), eps), {B, N, R, D}), {2, 0, 1, 3});
  // gamma and beta broadcast over the batch (and the tokens unless region_token).
  const Shape s = affine == NormAffine::region   ? Shape{R, 1, 1, D}
                  : affine == NormAffine::shared ? Shape{D}
                                                 : Shape{R, 1, N, D};
  return add(mul(normalised, reshape(weight, s)), reshape(bias, s));
}

}  // namespace cf
