// Layer norm over the last axis (ARCHITECTURES.md section 0: eps 1e-5, biased
// variance), with or without the affine weight and bias.
#include "autograd/error.h"
#include "autograd/graph.h"
#include "autograd/kernels/rowops.h"
#include "autograd/ops.h"
#include "autograd/ops/check.h"

namespace cf {

Tensor layer_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, float eps) {
  detail::check_input("layer_norm", x);
  CF_CHECK(x.dim() >= 1, "layer_norm: input must have an axis to normalise, got shape "
                             << shape_str(x.shape()));
  const int64_t cols = x.shape().back(), rows = x.numel() / cols;
  for (const Tensor* p : {&weight, &bias})
    CF_CHECK(!p->defined() || p->shape() == Shape{cols},
             "layer_norm: " << (p == &weight ? "weight" : "bias") << " of shape "
                            << shape_str(p->shape()) << " for input of shape "
                            << shape_str(x.shape()) << " (expected [" << cols << "])");
  Tensor y = Tensor::empty(x.shape());
  Tensor mean = Tensor::empty({rows}), rstd = Tensor::empty({rows});
  kernels::layernorm_forward(x.data(), weight.defined() ? weight.data() : nullptr,
                             bias.defined() ? bias.data() : nullptr, y.data(), mean.data(),
                             rstd.data(), rows, cols, eps);
  return record("layer_norm", y, {x, weight, bias},
                [x, weight, bias, mean, rstd, rows, cols](const Tensor& g) {
                  Tensor dx = Tensor::empty(x.shape());
                  Tensor dw = weight.requires_grad() ? Tensor::zeros({cols}) : Tensor();
                  Tensor db = bias.requires_grad() ? Tensor::zeros({cols}) : Tensor();
                  kernels::layernorm_backward(
                      x.data(), weight.defined() ? weight.data() : nullptr, mean.data(),
                      rstd.data(), g.data(), dx.data(), dw.defined() ? dw.data() : nullptr,
                      db.defined() ? db.data() : nullptr, rows, cols);
                  return std::vector<Tensor>{x.requires_grad() ? dx : Tensor(), dw, db};
                });
}

}  // namespace cf
