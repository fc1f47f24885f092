// sum, mean, max, var over one axis or over everything. sum and max have their
// own backward; mean and var are compositions, so their gradients come from
// the ops they are built of.
#include "autograd/ops/reduce.h"

#include <algorithm>

#include "autograd/error.h"
#include "autograd/graph.h"
#include "autograd/kernels/threads.h"
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

// Tiles of up to kTile consecutive i for one o: each tile is one task, read
// row by row along a so that memory is streamed, with one accumulator per i.
// When outer is small (a bias gradient: one o, a few hundred i) the tiles
// narrow, down to 16 floats, so that every thread gets some; each y element
// is still summed by one task in the order of a, so the width never changes
// a bit.
constexpr int64_t kTile = 512;

template <class F>
void for_axis_tiles(int64_t outer, int64_t size, int64_t inner, F tile) {
  const int64_t want = (8 + outer - 1) / outer;  // tiles per o for 8 tasks in all
  const int64_t width = std::clamp<int64_t>((inner / want + 15) / 16 * 16, 16, kTile);
  const int64_t tiles = (inner + width - 1) / width;
  const int64_t per_task = std::max<int64_t>(1, 32768 / (size * std::min(inner, width)));
  kernels::parallel_for(outer * tiles, per_task, [&](int64_t b, int64_t e) {
    for (int64_t t = b; t < e; ++t) {
      const int64_t i0 = (t % tiles) * width;
      tile(t / tiles, i0, std::min(inner, i0 + width));
    }
  });
}

}  // namespace

namespace detail {

void sum_axis(const float* x, float* y, int64_t outer, int64_t size, int64_t inner) {
  for_axis_tiles(outer, size, inner, [&](int64_t o, int64_t i0, int64_t i1) {
    double acc[kTile] = {};
    for (int64_t a = 0; a < size; ++a) {
      const float* row = x + (o * size + a) * inner;
      for (int64_t i = i0; i < i1; ++i) acc[i - i0] += double(row[i]);
    }
    for (int64_t i = i0; i < i1; ++i) y[o * inner + i] = float(acc[i - i0]);
  });
}

}  // namespace detail

// y[o, i] = sum_a x[o, a, i]; dx[o, a, i] = dy[o, i].
Tensor sum(const Tensor& x, int64_t axis, bool keepdim) {
  detail::check_input("sum", x);
  axis = detail::normalize_axis("sum", axis, x.shape());
  const detail::AxisSplit split = detail::split_at(x.shape(), axis);
  const int64_t outer = split.outer, size = split.size, inner = split.inner;
  Tensor y = Tensor::empty(reduced_shape(x.shape(), axis, keepdim));
  detail::sum_axis(x.data(), y.data(), outer, size, inner);
  return record("sum", y, {x}, [shape = x.shape(), outer, size, inner](const Tensor& g) {
    Tensor dx = Tensor::empty(shape);
    const float* pg = g.data();
    float* pd = dx.data();
    kernels::parallel_for(outer * size, std::max<int64_t>(1, 32768 / inner), [&](int64_t b, int64_t e) {
      for (int64_t r = b; r < e; ++r)
        std::copy(pg + (r / size) * inner, pg + (r / size + 1) * inner, pd + r * inner);
    });
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

// y[o, i] = max_a x[o, a, i]; the gradient flows to the first arg max only
// (a NaN is never greater, so it is skipped unless it comes first).
Tensor max(const Tensor& x, int64_t axis, bool keepdim) {
  detail::check_input("max", x);
  axis = detail::normalize_axis("max", axis, x.shape());
  const detail::AxisSplit split = detail::split_at(x.shape(), axis);
  const int64_t outer = split.outer, size = split.size, inner = split.inner;
  Tensor y = Tensor::empty(reduced_shape(x.shape(), axis, keepdim));
  std::vector<int64_t> argmax(size_t(outer * inner), 0);
  const float* px = x.data();
  float* py = y.data();
  for_axis_tiles(outer, size, inner, [&](int64_t o, int64_t i0, int64_t i1) {
    float* best = py + o * inner;
    int64_t* arg = argmax.data() + o * inner;
    std::copy(px + o * size * inner + i0, px + o * size * inner + i1, best + i0);
    for (int64_t a = 1; a < size; ++a) {
      const float* row = px + (o * size + a) * inner;
      for (int64_t i = i0; i < i1; ++i)
        if (row[i] > best[i]) best[i] = row[i], arg[i] = a;
    }
  });
  return record("max", y, {x}, [shape = x.shape(), outer, size, inner,
                               argmax = std::move(argmax)](const Tensor& g) {
    Tensor dx = Tensor::zeros(shape);
    float* pdx = dx.data();
    const float* pg = g.data();
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t i = 0; i < inner; ++i) {
        int64_t a = argmax[size_t(o * inner + i)];
        pdx[(o * size + a) * inner + i] = pg[o * inner + i];
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
