#include "nn/untied.h"

#include <algorithm>

#include "autograd/error.h"
#include "autograd/graph.h"
#include "autograd/kernels/gemm.h"
#include "autograd/kernels/rowops.h"
#include "autograd/kernels/threads.h"
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
  // Product n: y_n (B, out) = x_n (B, in) W_n^T + b_n, where x_n is every
  // N-th row of x viewed as (B N, in): leading dimension N in, column n at
  // offset n in. The GEMM adds the bias row b_n (D, ldd = 0) as it stores.
  kernels::sgemm_batched(false, true, B, out, in, 1.0f, x.data(), N * in, in, weight.data(), in,
                         out * in, bias.defined() ? 1.0f : 0.0f, y.data(), N * out, out, N,
                         bias.defined() ? bias.data() : nullptr, 0, out);

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
      db = Tensor::empty(bias.shape());
      // Ranges of (n, out) in parallel, each summing b in order: the same
      // bits for any thread count.
      kernels::parallel_for(N * out, 64, [&](int64_t begin, int64_t end) {
        float acc[64] = {};
        for (int64_t b = 0; b < B; ++b) {
          const float* row = g.data() + b * N * out + begin;
          for (int64_t i = 0; i < end - begin; ++i) acc[i] += row[i];
        }
        std::copy(acc, acc + (end - begin), db.data() + begin);
      });
    }
    return std::vector<Tensor>{dx, dw, db};
  });
}

Tensor shared_linear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  CF_CHECK(weight.defined() && weight.dim() == 2 && x.defined() && x.dim() >= 1 && x.size(-1) == weight.size(1),
           "Linear: input of shape " << (x.defined() ? shape_str(x.shape()) : "undefined") << " for weight of shape "
                                     << (weight.defined() ? shape_str(weight.shape()) : "undefined")
                                     << ", expected [..., " << (weight.defined() ? weight.size(1) : 0) << "]");
  const int64_t out = weight.size(0), in = weight.size(1);
  Shape shape = x.shape();
  shape.back() = out;
  Tensor y = untied_linear(reshape(x, {-1, 1, in}), reshape(weight, {1, out, in}),
                           bias.defined() ? reshape(bias, {1, out}) : Tensor());
  return reshape(y, shape);
}

UntiedLinear::UntiedLinear(int64_t n, int64_t in, int64_t out, bool with_bias)
    : tokens(n), in_features(in), out_features(out) {
  CF_CHECK(n > 0 && in > 0 && out > 0,
           "UntiedLinear: sizes N " << n << ", in " << in << ", out " << out << " must be positive");
  register_parameter("weight", &weight, {n, out, in}, Init::trunc_normal(0.02f));
  if (with_bias) register_parameter("bias", &bias, {n, out}, Init::zeros(), Decay::no);
}

UntiedLayerNorm::UntiedLayerNorm(int64_t tokens, int64_t dim) {
  CF_CHECK(tokens > 0 && dim > 0,
           "UntiedLayerNorm: sizes N " << tokens << ", D " << dim << " must be positive");
  register_parameter("weight", &weight, {tokens, dim}, Init::ones(), Decay::no);
  register_parameter("bias", &bias, {tokens, dim}, Init::zeros(), Decay::no);
}

Tensor UntiedLayerNorm::forward(const Tensor& x) { return untied_layer_norm(x, weight, bias); }

Tensor untied_layer_norm(const Tensor& x, const Tensor& gamma, const Tensor& beta, float eps) {
  const bool grouped = gamma.defined() && gamma.dim() == 3;
  CF_CHECK(gamma.defined() && (gamma.dim() == 2 || grouped) && beta.defined() && beta.shape() == gamma.shape() &&
               x.defined() && x.dim() >= 2 && x.size(-2) == gamma.size(-2) && x.size(-1) == gamma.size(-1) &&
               (!grouped || (x.dim() == 4 && x.size(0) == gamma.size(0))),
           "untied_layer_norm: input of shape " << (x.defined() ? shape_str(x.shape()) : "undefined")
                                                << " for gamma of shape "
                                                << (gamma.defined() ? shape_str(gamma.shape()) : "undefined")
                                                << " and beta of the same, expected [B, N, D] and [N, D], or "
                                                   "[G, B, N, D] and [G, N, D]");
  const int64_t G = grouped ? gamma.size(0) : 1, N = gamma.size(-2), D = gamma.size(-1);
  const int64_t rows = x.numel() / (G * D);  // per group: B N
  Tensor y = Tensor::empty(x.shape());
  Tensor mean = Tensor::empty({G * rows}), rstd = Tensor::empty({G * rows});
  // Row (b, n) is layer norm with column n's affine: rows of period N.
  for (int64_t grp = 0; grp < G; ++grp)
    kernels::layernorm_forward_untied(x.data() + grp * rows * D, gamma.data() + grp * N * D,
                                      beta.data() + grp * N * D, y.data() + grp * rows * D,
                                      mean.data() + grp * rows, rstd.data() + grp * rows, rows, D, N,
                                      eps);
  const auto backward = [x, gamma, beta, mean, rstd, G, N, D, rows](const Tensor& g) {
    Tensor dx = Tensor::empty(x.shape());
    Tensor dgamma = gamma.requires_grad() ? Tensor::zeros(gamma.shape()) : Tensor();
    Tensor dbeta = beta.requires_grad() ? Tensor::zeros(beta.shape()) : Tensor();
    for (int64_t grp = 0; grp < G; ++grp)
      kernels::layernorm_backward_untied(x.data() + grp * rows * D, gamma.data() + grp * N * D,
                                         mean.data() + grp * rows, rstd.data() + grp * rows,
                                         g.data() + grp * rows * D, dx.data() + grp * rows * D,
                                         dgamma.defined() ? dgamma.data() + grp * N * D : nullptr,
                                         dbeta.defined() ? dbeta.data() + grp * N * D : nullptr,
                                         rows, D, N);
    return std::vector<Tensor>{x.requires_grad() ? dx : Tensor(), dgamma, dbeta};
  };
  return record("untied_layer_norm", y, {x, gamma, beta}, backward);
}

}  // namespace cf
