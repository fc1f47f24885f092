// sum, mean, max, var over one axis or over everything. sum and max have their
// own backward; mean and var are compositions, so their gradients come from
// the ops they are built of.
#include "autograd/error.h"
#include "autograd/graph.h"
#include "autograd/ops.h"
#include "autograd/ops/check.h"

namespace cf {

namespace {

Shape reduced_shape(const Shape& shape, int64_t axis, bool keepdim) {
  Shape out = shape;
  if (keepdim)
    out[size_t(axis)] = 1;
  else
    out.erase(out.begin() + axis);
  return out;
}

Tensor flat(const Tensor& x) { return reshape(x, {x.numel()}); }

}  // namespace

// y[o, i] = sum_a x[o, a, i]; dx[o, a, i] = dy[o, i]. Summed in double, in
// index order, so the result does not depend on how the work is split.
Tensor sum(const Tensor& x, int64_t axis, bool keepdim) {
  detail::check_input("sum", x);
  axis = detail::normalize_axis("sum", axis, x.shape());
  const auto [outer, size, inner] = detail::split_at(x.shape(), axis);
  Tensor y = Tensor::empty(reduced_shape(x.shape(), axis, keepdim));
  const float* px = x.data();
  float* py = y.data();
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < inner; ++i) {
      double s = 0.0;
      for (int64_t a = 0; a < size; ++a) s += px[(o * size + a) * inner + i];
      py[o * inner + i] = float(s);
    }
  return record("sum", y, {x}, [x, axis](const Tensor& g) {
    const auto [outer, size, inner] = detail::split_at(x.shape(), axis);
    Tensor dx = Tensor::empty(x.shape());
    const float* pg = g.data();
    float* pd = dx.data();
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t a = 0; a < size; ++a)
        for (int64_t i = 0; i < inner; ++i) pd[(o * size + a) * inner + i] = pg[o * inner + i];
    return std::vector<Tensor>{dx};
  });
}

Tensor sum(const Tensor& x) {
  detail::check_input("sum", x);
  return sum(flat(x), 0, false);
}

Tensor mean(const Tensor& x, int64_t axis, bool keepdim) {
  detail::check_input("mean", x);
  axis = detail::normalize_axis("mean", axis, x.shape());
  return mul_scalar(sum(x, axis, keepdim), 1.0f / float(x.shape()[size_t(axis)]));
}

Tensor mean(const Tensor& x) {
  detail::check_input("mean", x);
  return mean(flat(x), 0, false);
}

// y[o, i] = max_a x[o, a, i]; the gradient flows to the first arg max only.
Tensor max(const Tensor& x, int64_t axis, bool keepdim) {
  detail::check_input("max", x);
  axis = detail::normalize_axis("max", axis, x.shape());
  const auto [outer, size, inner] = detail::split_at(x.shape(), axis);
  Tensor y = Tensor::empty(reduced_shape(x.shape(), axis, keepdim));
  std::vector<int64_t> argmax(size_t(outer * inner));
  const float* px = x.data();
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < inner; ++i) {
      int64_t best = 0;
      for (int64_t a = 1; a < size; ++a)
        if (px[(o * size + a) * inner + i] > px[(o * size + best) * inner + i]) best = a;
      argmax[size_t(o * inner + i)] = best;
      y.data()[o * inner + i] = px[(o * size + best) * inner + i];
    }
  return record("max", y, {x}, [x, axis, argmax = std::move(argmax)](const Tensor& g) {
    const auto [outer, size, inner] = detail::split_at(x.shape(), axis);
    Tensor dx = Tensor::zeros(x.shape());
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t i = 0; i < inner; ++i) {
        int64_t a = argmax[size_t(o * inner + i)];
        dx.data()[(o * size + a) * inner + i] = g.data()[o * inner + i];
      }
    return std::vector<Tensor>{dx};
  });
}

Tensor max(const Tensor& x) {
  detail::check_input("max", x);
  return max(flat(x), 0, false);
}

// var = mean((x - mean x)^2), times n / (n - 1) when unbiased.
Tensor var(const Tensor& x, int64_t axis, bool keepdim, bool unbiased) {
  detail::check_input("var", x);
  axis = detail::normalize_axis("var", axis, x.shape());
  const int64_t n = x.shape()[size_t(axis)];
  CF_CHECK(!unbiased || n > 1, "var: the unbiased variance of " << n
                                   << " element along axis " << axis << " of shape "
                                   << shape_str(x.shape()) << " is undefined");
  Tensor centred = sub(x, mean(x, axis, true));
  Tensor v = sum(mul(centred, centred), axis, keepdim);
  return mul_scalar(v, 1.0f / float(unbiased ? n - 1 : n));
}

Tensor var(const Tensor& x) {
  detail::check_input("var", x);
  return var(flat(x), 0, false, false);
}

}  // namespace cf
