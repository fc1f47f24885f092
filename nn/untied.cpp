#include "nn/untied.h"

#include <algorithm>

#include "autograd/error.h"
#include "autograd/graph.h"
#include "autograd/kernels/gemm.h"
#include "autograd/ops.h"

namespace cf {

namespace {

// Checks the shapes of (C1) and returns the number of rows per column
// (every leading axis of x folded into one batch axis B).
int64_t untied_rows(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  CF_CHECK(weight.defined() && weight.dim() == 3,
           "untied_linear: weight of shape "
               << (weight.defined() ? shape_str(weight.shape()) : "undefined") << ", expected [N, out, in]");
  const int64_t N = weight.size(0), out = weight.size(1), in = weight.size(2);
  CF_CHECK(x.defined() && x.dim() >= 2 && x.size(-2) == N && x.size(-1) == in,
           "untied_linear: input of shape " << (x.defined() ? shape_str(x.shape()) : "undefined")
                                            << " for weight of shape " << shape_str(weight.shape())
                                            << ", expected [B, " << N << ", " << in << "]");
  CF_CHECK(!bias.defined() || bias.shape() == Shape({N, out}),
           "untied_linear: bias of shape " << shape_str(bias.shape()) << " for weight of shape "
                                           << shape_str(weight.shape()) << ", expected [" << N
                                           << ", " << out << "]");
  return x.numel() / (N * in);
}

}  // namespace

Tensor untied_linear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  const int64_t B = untied_rows(x, weight, bias);
  const int64_t N = weight.size(0), out = weight.size(1), in = weight.size(2);
  Shape out_shape = x.shape();
  out_shape.back() = out;
  Tensor y = Tensor::empty(out_shape);
  if (bias.defined())  // start from the bias and accumulate the product on it
    for (int64_t b = 0; b < B; ++b)
      std::copy(bias.data(), bias.data() + N * out, y.data() + b * N * out);
  // Product n: y_n (B, out) = x_n (B, in) W_n^T, where x_n is every N-th row
  // of x viewed as (B N, in): leading dimension N in, column n at offset n in.
  kernels::sgemm_batched(false, true, B, out, in, 1.0f, x.data(), N * in, in, weight.data(), in,
                         out * in, bias.defined() ? 1.0f : 0.0f, y.data(), N * out, out, N);

  return record("untied_linear", y, {x, weight, bias}, [x, weight, bias, B, N, out, in](const Tensor& g) {
    Tensor dx, dw, db;
    if (x.requires_grad()) {  // dx_n (B, in) = g_n (B, out) W_n
      dx = Tensor::empty(x.shape());
      kernels::sgemm_batched(false, false, B, in, out, 1.0f, g.data(), N * out, out, weight.data(),
                             in, out * in, 0.0f, dx.data(), N * in, in, N);
    }
    if (weight.requires_grad()) {  // dW_n (out, in) = g_n^T x_n
      dw = Tensor::empty(weight.shape());
      kernels::sgemm_batched(true, false, out, in, B, 1.0f, g.data(), N * out, out, x.data(),
                             N * in, in, 0.0f, dw.data(), in, out * in, N);
    }
    if (bias.defined() && bias.requires_grad()) {  // db_n = sum over b of g_n
      db = Tensor::zeros(bias.shape());
      float* d = db.data();
      for (int64_t b = 0; b < B; ++b) {
        const float* row = g.data() + b * N * out;
        for (int64_t i = 0; i < N * out; ++i) d[i] += row[i];
      }
    }
    return std::vector<Tensor>{dx, dw, db};
  });
}

UntiedLinear::UntiedLinear(int64_t n, int64_t in, int64_t out, bool with_bias)
    : tokens(n), in_features(in), out_features(out) {
  CF_CHECK(n > 0 && in > 0 && out > 0,
           "UntiedLinear: sizes N " << n << ", in " << in << ", out " << out << " must be positive");
  register_parameter("weight", &weight, {n, out, in}, Init::trunc_normal(0.02f));
  if (with_bias) register_parameter("bias", &bias, {n, out}, Init::zeros());
}

UntiedLayerNorm::UntiedLayerNorm(int64_t tokens, int64_t dim) {
  CF_CHECK(tokens > 0 && dim > 0,
           "UntiedLayerNorm: sizes N " << tokens << ", D " << dim << " must be positive");
  register_parameter("weight", &weight, {tokens, dim}, Init::ones());
  register_parameter("bias", &bias, {tokens, dim}, Init::zeros());
}

Tensor UntiedLayerNorm::forward(const Tensor& x) {
  CF_CHECK(x.dim() >= 2 && x.size(-2) == weight.size(0) && x.size(-1) == weight.size(1),
           "UntiedLayerNorm: input of shape " << shape_str(x.shape()) << ", expected [B, "
                                              << weight.size(0) << ", " << weight.size(1) << "]");
  // gamma (N, D) and beta broadcast over the batch: the per-column affine.
  return add(mul(layer_norm(x, Tensor(), Tensor()), weight), bias);
}

}  // namespace cf
