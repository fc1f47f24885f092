// softmax and log_softmax along an axis. The row kernels work on the last
// axis; another axis is moved there and back with transpose.
#include "autograd/graph.h"
#include "autograd/kernels/rowops.h"
#include "autograd/ops.h"
#include "autograd/ops/check.h"

namespace cf {

namespace {

using RowKernel = void (*)(const float*, float*, int64_t, int64_t);
using RowBackward = void (*)(const float*, const float*, float*, int64_t, int64_t);

// y = forward(x) row by row over the last axis; dx = backward(y, dy).
Tensor along_axis(const char* op, const Tensor& x, int64_t axis, RowKernel forward,
                  RowBackward backward) {
  detail::check_input(op, x);
  axis = detail::normalize_axis(op, axis, x.shape());
  const int64_t last = x.dim() - 1;
  if (axis != last)
    return transpose(along_axis(op, transpose(x, axis, last), last, forward, backward),
                     axis, last);
  const int64_t cols = x.shape().back(), rows = x.numel() / cols;
  Tensor y = Tensor::empty(x.shape());
  forward(x.data(), y.data(), rows, cols);
  return record(op, y, {x}, [y = y.detach(), rows, cols, backward](const Tensor& g) {
    Tensor dx = Tensor::empty(y.shape());
    backward(y.data(), g.data(), dx.data(), rows, cols);
    return std::vector<Tensor>{dx};
  });
}

}  // namespace

// y = e^(x - max) / sum e^(x - max);  dx = y (dy - sum(dy y))
Tensor softmax(const Tensor& x, int64_t axis) {
  return along_axis("softmax", x, axis, kernels::softmax_forward, kernels::softmax_backward);
}

// y = x - logsumexp(x);  dx = dy - softmax(x) sum(dy)
Tensor log_softmax(const Tensor& x, int64_t axis) {
  return along_axis("log_softmax", x, axis, kernels::log_softmax_forward,
                    kernels::log_softmax_backward);
}

}  // namespace cf
