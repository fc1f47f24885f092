// Ops that move elements without computing on them: reshape (free: it shares
// the storage), permute and transpose (copy, DESIGN.md), concat, slice,
// index_select and gather. Each backward moves the gradient back.
#include <algorithm>
#include <utility>

#include "autograd/error.h"
#include "autograd/graph.h"
#include "autograd/kernels/threads.h"
#include "autograd/kernels/transpose.h"
#include "autograd/ops.h"
#include "autograd/ops/check.h"

namespace cf {

namespace {
std::string index_str(const std::vector<int64_t>& v) { return shape_str(v); }

// dst (contiguous, of `shape`) gets src read through `stride`: element i_0..
// i_{r-1} of dst is src[sum_d i_d stride_d]. Axes of size 1 are dropped and
// neighbours that are contiguous in both merged; then either the last axis
// reads contiguous runs (copied as rows), or it is strided and the axis that
// reads contiguously is transposed with it (kernels/transpose.h).
// The other axes are split over the thread pool; a copy gives the same bits
// however it is split.
void strided_copy(const float* src, float* dst, const Shape& shape, const std::vector<int64_t>& stride) {
  std::vector<int64_t> size, from;  // the axes that matter, outermost first
  for (size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] == 1) continue;
    if (!size.empty() && from.back() == stride[d] * shape[d]) {
      size.back() *= shape[d];
      from.back() = stride[d];
    } else {
      size.push_back(shape[d]);
      from.push_back(stride[d]);
    }
  }
  if (size.empty()) size = {1}, from = {1};
  const size_t last = size.size() - 1;
  const int64_t run = size[last];
  // The axis whose source stride is 1, when the last one's is not: the
  // transposed pair (j, last) forms the tiles. src is contiguous, so its
  // innermost axis of size > 1 has stride 1 and j is always found.
  size_t j = last;
  if (from[last] != 1)
    for (size_t d = 0; d < last; ++d)
      if (from[d] == 1) j = d;
  std::vector<int64_t> dst_stride(size.size(), 1);
  for (size_t d = last; d-- > 0;) dst_stride[d] = dst_stride[d + 1] * size[d + 1];
  // The outer index: every axis but the last and j, odometer-decoded.
  std::vector<size_t> outer_axes;
  int64_t outer = 1;
  for (size_t d = 0; d < last; ++d)
    if (d != j || j == last) outer_axes.push_back(d), outer *= size[d];
  const int64_t per_outer = j == last ? run : run * size[j];
  kernels::parallel_for(outer, std::max<int64_t>(1, 32768 / per_outer), [&](int64_t b, int64_t e) {
    for (int64_t o = b; o < e; ++o) {
      int64_t s0 = 0, d0 = 0;
      for (size_t k = outer_axes.size(), rest = size_t(o); k-- > 0;) {
        const size_t d = outer_axes[k];
        const int64_t i = int64_t(rest % size_t(size[d]));
        rest /= size_t(size[d]);
        s0 += i * from[d];
        d0 += i * dst_stride[d];
      }
      if (from[last] == 1) {  // one contiguous run
        std::copy(src + s0, src + s0 + run, dst + d0);
        continue;
      }
      kernels::transpose(src + s0, from[last], dst + d0, dst_stride[j], size[j], run);
    }
  });
}

}  // namespace

Tensor reshape(const Tensor& x, const Shape& shape) {
  detail::check_input("reshape", x);
  Shape target = shape;
  int64_t known = 1, infer = -1;
  auto mismatch = [&] {
    return "reshape: cannot reshape " + shape_str(x.shape()) + " (" + std::to_string(x.numel()) +
           " elements) to " + shape_str(shape);
  };
  for (size_t d = 0; d < target.size(); ++d) {
    if (target[d] == -1) {
      CF_CHECK(infer < 0, "reshape: more than one -1 in " << shape_str(shape));
      infer = int64_t(d);
    } else {
      CF_CHECK(target[d] > 0, "reshape: bad size " << target[d] << " in " << shape_str(shape));
      // Checked before multiplying, so that huge sizes cannot overflow `known`.
      CF_CHECK(target[d] <= x.numel() / known, mismatch());
      known *= target[d];
    }
  }
  if (infer >= 0) {
    CF_CHECK(x.numel() % known == 0, mismatch());
    target[size_t(infer)] = x.numel() / known;
  }
  CF_CHECK(numel(target) == x.numel(), mismatch());
  auto impl = std::make_shared<TensorImpl>();
  impl->shape = target;
  impl->storage = x.impl()->storage;
  return record("reshape", Tensor(std::move(impl)), {x}, [shape = x.shape()](const Tensor& g) {
    return std::vector<Tensor>{reshape(g, shape)};
  });
}

Tensor flatten(const Tensor& x, int64_t start_axis, int64_t end_axis) {
  detail::check_input("flatten", x);
  if (x.dim() == 0) return reshape(x, {1});
  start_axis = detail::normalize_axis("flatten", start_axis, x.shape());
  end_axis = detail::normalize_axis("flatten", end_axis, x.shape());
  CF_CHECK(start_axis <= end_axis, "flatten: start axis " << start_axis
                                       << " is after end axis " << end_axis);
  Shape s(x.shape().begin(), x.shape().begin() + start_axis);
  int64_t merged = 1;
  for (int64_t d = start_axis; d <= end_axis; ++d) merged *= x.shape()[size_t(d)];
  s.push_back(merged);
  s.insert(s.end(), x.shape().begin() + end_axis + 1, x.shape().end());
  return reshape(x, s);
}

// y[i_0, ..., i_{r-1}] = x[j] where axis d of y is axis axes[d] of x.
Tensor permute(const Tensor& x, const std::vector<int64_t>& axes) {
  detail::check_input("permute", x);
  const size_t rank = x.shape().size();
  CF_CHECK(axes.size() == rank, "permute: " << axes.size() << " axes "
                                            << index_str(axes) << " for shape "
                                            << shape_str(x.shape()));
  std::vector<int64_t> perm(rank), inverse(rank, -1);
  for (size_t d = 0; d < rank; ++d) {
    perm[d] = detail::normalize_axis("permute", axes[d], x.shape());
    CF_CHECK(inverse[size_t(perm[d])] < 0, "permute: axis " << axes[d] << " repeated in "
                                                            << index_str(axes));
    inverse[size_t(perm[d])] = int64_t(d);
  }
  Shape out_shape(rank);
  std::vector<int64_t> x_strides(rank), src_stride(rank);
  for (size_t d = rank, s = 1; d-- > 0;) {
    x_strides[d] = int64_t(s);
    s *= size_t(x.shape()[d]);
  }
  for (size_t d = 0; d < rank; ++d) {
    out_shape[d] = x.shape()[size_t(perm[d])];
    src_stride[d] = x_strides[size_t(perm[d])];
  }
  Tensor y = Tensor::empty(out_shape);
  strided_copy(x.data(), y.data(), out_shape, src_stride);
  return record("permute", y, {x}, [inverse](const Tensor& g) {
    return std::vector<Tensor>{permute(g, inverse)};
  });
}

Tensor transpose(const Tensor& x, int64_t axis0, int64_t axis1) {
  detail::check_input("transpose", x);
  axis0 = detail::normalize_axis("transpose", axis0, x.shape());
  axis1 = detail::normalize_axis("transpose", axis1, x.shape());
  std::vector<int64_t> axes(x.shape().size());
  for (size_t d = 0; d < axes.size(); ++d) axes[d] = int64_t(d);
  std::swap(axes[size_t(axis0)], axes[size_t(axis1)]);
  return permute(x, axes);
}

// Along `axis`, the inputs' blocks follow each other; backward slices the
// gradient into the same blocks.
Tensor concat(const std::vector<Tensor>& xs, int64_t axis) {
  CF_CHECK(!xs.empty(), "concat: no tensors to concatenate");
  for (const Tensor& x : xs) detail::check_input("concat", x);
  const Shape& first = xs[0].shape();
  axis = detail::normalize_axis("concat", axis, first);
  Shape out_shape = first;
  out_shape[size_t(axis)] = 0;
  for (const Tensor& x : xs) {
    Shape s = x.shape();
    bool same_rank = s.size() == first.size();
    if (same_rank) s[size_t(axis)] = first[size_t(axis)];
    CF_CHECK(same_rank && s == first, "concat: shape " << shape_str(x.shape())
                                          << " does not match " << shape_str(first)
                                          << " outside axis " << axis);
    out_shape[size_t(axis)] += x.shape()[size_t(axis)];
  }
  Tensor y = Tensor::empty(out_shape);
  const auto [outer, total, inner] = detail::split_at(out_shape, axis);
  int64_t offset = 0;
  for (const Tensor& x : xs) {
    const int64_t len = x.shape()[size_t(axis)] * inner;
    for (int64_t o = 0; o < outer; ++o)
      std::copy(x.data() + o * len, x.data() + (o + 1) * len,
                y.data() + o * total * inner + offset);
    offset += len;
  }
  // Backward needs each input's length along the axis and whether it wants a
  // gradient, not the inputs themselves.
  std::vector<std::pair<int64_t, bool>> parts;
  for (const Tensor& x : xs) parts.emplace_back(x.shape()[size_t(axis)], x.requires_grad());
  return record("concat", y, xs, [parts, axis](const Tensor& g) {
    std::vector<Tensor> grads;
    int64_t start = 0;
    for (const auto& [len, needed] : parts) {
      grads.push_back(needed ? slice(g, axis, start, start + len) : Tensor());
      start += len;
    }
    return grads;
  });
}

Tensor slice(const Tensor& x, int64_t axis, int64_t start, int64_t end) {
  detail::check_input("slice", x);
  axis = detail::normalize_axis("slice", axis, x.shape());
  const int64_t n = x.shape()[size_t(axis)];
  const int64_t s = start < 0 ? start + n : start, e = end < 0 ? end + n : end;
  CF_CHECK(0 <= s && s < e && e <= n, "slice: range [" << start << ", " << end
                                          << ") is empty or out of bounds for axis "
                                          << axis << " of shape " << shape_str(x.shape()));
  const auto [outer, size, inner] = detail::split_at(x.shape(), axis);
  Shape out_shape = x.shape();
  out_shape[size_t(axis)] = e - s;
  Tensor y = Tensor::empty(out_shape);
  for (int64_t o = 0; o < outer; ++o)
    std::copy(x.data() + (o * size + s) * inner, x.data() + (o * size + e) * inner,
              y.data() + o * (e - s) * inner);
  return record("slice", y, {x}, [shape = x.shape(), axis, s, e](const Tensor& g) {
    const auto [outer, size, inner] = detail::split_at(shape, axis);
    Tensor dx = Tensor::zeros(shape);
    for (int64_t o = 0; o < outer; ++o)
      std::copy(g.data() + o * (e - s) * inner, g.data() + (o + 1) * (e - s) * inner,
                dx.data() + (o * size + s) * inner);
    return std::vector<Tensor>{dx};
  });
}

// y[o, k, i] = x[o, index[k], i]; backward adds dy back into the picked rows
// (an index may repeat, so it accumulates).
Tensor index_select(const Tensor& x, int64_t axis, const std::vector<int64_t>& index) {
  detail::check_input("index_select", x);
  axis = detail::normalize_axis("index_select", axis, x.shape());
  CF_CHECK(!index.empty(), "index_select: no indices");
  const auto [outer, size, inner] = detail::split_at(x.shape(), axis);
  for (int64_t k : index)
    CF_CHECK(0 <= k && k < size, "index_select: index " << k << " out of range for axis "
                                                        << axis << " of shape "
                                                        << shape_str(x.shape()));
  const int64_t m = int64_t(index.size());
  Shape out_shape = x.shape();
  out_shape[size_t(axis)] = m;
  Tensor y = Tensor::empty(out_shape);
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t k = 0; k < m; ++k)
      std::copy(x.data() + (o * size + index[size_t(k)]) * inner,
                x.data() + (o * size + index[size_t(k)] + 1) * inner,
                y.data() + (o * m + k) * inner);
  return record("index_select", y, {x}, [shape = x.shape(), axis, index](const Tensor& g) {
    const auto [outer, size, inner] = detail::split_at(shape, axis);
    const int64_t m = int64_t(index.size());
    Tensor dx = Tensor::zeros(shape);
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t k = 0; k < m; ++k) {
        float* dst = dx.data() + (o * size + index[size_t(k)]) * inner;
        const float* src = g.data() + (o * m + k) * inner;
        for (int64_t i = 0; i < inner; ++i) dst[i] += src[i];
      }
    return std::vector<Tensor>{dx};
  });
}

Tensor gather(const Tensor& x, int64_t axis, const std::vector<int64_t>& index,
              const Shape& index_shape) {
  detail::check_input("gather", x);
  axis = detail::normalize_axis("gather", axis, x.shape());
  CF_CHECK(int64_t(index.size()) == numel(index_shape) && !index.empty(),
           "gather: " << index.size() << " indices for index shape " << shape_str(index_shape));
  CF_CHECK(index_shape.size() == x.shape().size(),
           "gather: index shape " << shape_str(index_shape) << " and input shape "
                                  << shape_str(x.shape()) << " differ in rank");
  for (size_t d = 0; d < index_shape.size(); ++d)
    CF_CHECK(int64_t(d) == axis || index_shape[d] <= x.shape()[d],
             "gather: index shape " << shape_str(index_shape) << " exceeds input shape "
                                    << shape_str(x.shape()) << " on axis " << d);
  const int64_t size = x.shape()[size_t(axis)];
  for (int64_t k : index)
    CF_CHECK(0 <= k && k < size, "gather: index " << k << " out of range for axis " << axis
                                                  << " of shape " << shape_str(x.shape()));
  // Source offset of each output element: its own coordinates in x, with the
  // coordinate on `axis` replaced by the index.
  const size_t rank = index_shape.size();
  std::vector<int64_t> x_strides(rank), source(index.size());
  for (size_t d = rank, s = 1; d-- > 0;) {
    x_strides[d] = int64_t(s);
    s *= size_t(x.shape()[d]);
  }
  std::vector<int64_t> idx(rank, 0);
  for (size_t i = 0; i < index.size(); ++i) {
    int64_t off = 0;
    for (size_t d = 0; d < rank; ++d)
      off += (int64_t(d) == axis ? index[i] : idx[d]) * x_strides[d];
    source[i] = off;
    for (size_t d = rank; d-- > 0;) {
      if (++idx[d] < index_shape[d]) break;
      idx[d] = 0;
    }
  }
  Tensor y = Tensor::empty(index_shape);
  float* py = y.data();
  const float* px = x.data();
  for (size_t i = 0; i < source.size(); ++i) py[i] = px[source[i]];
  return record("gather", y, {x}, [shape = x.shape(), source](const Tensor& g) {
    Tensor dx = Tensor::zeros(shape);
    float* pdx = dx.data();
    const float* pg = g.data();
    for (size_t i = 0; i < source.size(); ++i) pdx[source[i]] += pg[i];
    return std::vector<Tensor>{dx};
  });
}

}  // namespace cf
