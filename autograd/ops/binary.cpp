// add, sub, mul, div with NumPy broadcasting, and sum_to, their gradient's
// reduction back to each input's shape.
#include <algorithm>
#include <optional>

#include "autograd/error.h"
#include "autograd/graph.h"
#include "autograd/kernels/threads.h"
#include "autograd/ops.h"
#include "autograd/ops/broadcast.h"
#include "autograd/ops/check.h"
#include "autograd/ops/reduce.h"

namespace cf {

namespace detail {
std::vector<int64_t> broadcast_strides(const Shape& shape, const Shape& out) {
  std::vector<int64_t> strides(out.size(), 0);
  int64_t stride = 1;
  for (size_t k = 0; k < shape.size(); ++k) {
    size_t d = shape.size() - 1 - k, o = out.size() - 1 - k;
    strides[o] = shape[d] == 1 ? 0 : stride;
    stride *= shape[d];
  }
  return strides;
}
}  // namespace detail

Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op) {
  Shape out(std::max(a.size(), b.size()), 1);
  for (size_t k = 0; k < out.size(); ++k) {
    int64_t da = k < a.size() ? a[a.size() - 1 - k] : 1;
    int64_t db = k < b.size() ? b[b.size() - 1 - k] : 1;
    CF_CHECK(da == db || da == 1 || db == 1,
             op << ": shapes " << shape_str(a) << " and " << shape_str(b)
                << " cannot be broadcast together");
    out[out.size() - 1 - k] = da == 1 ? db : da;
  }
  return out;
}

namespace {

// When the axes that sum_to reduces are consecutive (a bias or a positional
// table summed over the batch: [B, T, D] to [T, D] or [D]), the reduction is
// one axis sum: (outer, size, inner) around that block of axes.
std::optional<detail::AxisSplit> summed_block(const Shape& from, const Shape& to) {
  const size_t rank = from.size(), pad = rank - to.size();
  auto target = [&](size_t d) { return d < pad ? int64_t(1) : to[d - pad]; };
  size_t lo = rank, hi = 0;
  for (size_t d = 0; d < rank; ++d)
    if (target(d) == 1 && from[d] != 1) lo = std::min(lo, d), hi = d + 1;
  if (lo >= hi) return std::nullopt;
  detail::AxisSplit split{1, 1, 1};
  for (size_t d = 0; d < rank; ++d) {
    if (d >= lo && d < hi && target(d) != 1) return std::nullopt;  // a kept axis inside
    (d < lo ? split.outer : d < hi ? split.size : split.inner) *= from[d];
  }
  return split;
}

}  // namespace

Tensor sum_to(const Tensor& g, const Shape& shape) {
  if (g.shape() == shape) return g;
  CF_CHECK(broadcast_shapes(shape, g.shape(), "sum_to") == g.shape(),
           "sum_to: shape " << shape_str(shape) << " does not broadcast to "
                            << shape_str(g.shape()));
  if (const auto split = summed_block(g.shape(), shape)) {
    Tensor out = Tensor::empty(shape);  // sum_axis writes every element
    detail::sum_axis(g.data(), out.data(), split->outer, split->size, split->inner);
    return out;
  }
  Tensor out = Tensor::zeros(shape);
  const float* pg = g.data();
  float* po = out.data();
  // Serial: several elements of g add into one element of out.
  detail::for_each_broadcast(g.shape(), g.shape(), shape, 0, detail::broadcast_rows(g.shape()),
                             [&](int64_t i, int64_t, int64_t io) { po[io] += pg[i]; });
  return out;
}

namespace {

// The element count of `small` when it is `out`'s trailing axes (leading 1s
// aside): a row that repeats down the other operand, like a bias or a
// positional table. 0 otherwise.
int64_t repeated_row(const Shape& small, const Shape& out) {
  size_t first = 0;
  while (first < small.size() && small[first] == 1) ++first;
  const size_t n = small.size() - first;
  if (n > out.size() || !std::equal(small.begin() + long(first), small.end(), out.end() - long(n)))
    return 0;
  return numel(small);
}

// The shared forward: out = f(a, b) over the broadcast shape.
template <class F>
Tensor broadcast_map(const char* op, const Tensor& a, const Tensor& b, F f) {
  detail::check_input(op, a);
  detail::check_input(op, b);
  Shape shape = broadcast_shapes(a.shape(), b.shape(), op);
  Tensor out = Tensor::empty(shape);
  const float *pa = a.data(), *pb = b.data();
  float* po = out.data();
  const int64_t b_row = a.shape() == shape ? repeated_row(b.shape(), shape) : 0;
  const int64_t a_row = b.shape() == shape ? repeated_row(a.shape(), shape) : 0;
  if (a.shape() == b.shape()) {
    kernels::parallel_for(out.numel(), 32768, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) po[i] = f(pa[i], pb[i]);
    });
  } else if (a_row > 0 || b_row > 0) {
    // Plain loops along the row, which the compiler vectorises.
    const int64_t cols = std::max(a_row, b_row);
    kernels::parallel_for(out.numel() / cols, std::max<int64_t>(1, 32768 / cols),
                          [&](int64_t begin, int64_t end) {
                            for (int64_t r = begin; r < end; ++r) {
                              const int64_t at = r * cols;
                              if (b_row > 0)
                                for (int64_t j = 0; j < cols; ++j) po[at + j] = f(pa[at + j], pb[j]);
                              else
                                for (int64_t j = 0; j < cols; ++j) po[at + j] = f(pa[j], pb[at + j]);
                            }
                          });
  } else {
    kernels::parallel_for(detail::broadcast_rows(shape), detail::rows_per_chunk(shape),
                          [&](int64_t begin, int64_t end) {
                            detail::for_each_broadcast(shape, a.shape(), b.shape(), begin, end,
                                                       [&](int64_t i, int64_t ia, int64_t ib) {
                                                         po[i] = f(pa[ia], pb[ib]);
                                                       });
                          });
  }
  return out;
}

// What add's and sub's backward need of an input: its shape and whether it
// wants a gradient, not its data, which may then be freed before backward.
struct GradTarget {
  Shape shape;
  bool needed;
  explicit GradTarget(const Tensor& t) : shape(t.shape()), needed(t.requires_grad()) {}
  // The gradient reduced to the input's shape, or undefined if unneeded.
  Tensor operator()(const Tensor& g) const { return needed ? sum_to(g, shape) : Tensor(); }
};

}  // namespace

// d(a+b) = da + db
Tensor add(const Tensor& a, const Tensor& b) {
  Tensor out = broadcast_map("add", a, b, [](float x, float y) { return x + y; });
  return record("add", out, {a, b}, [da = GradTarget(a), db = GradTarget(b)](const Tensor& g) {
    return std::vector<Tensor>{da(g), db(g)};
  });
}

// d(a-b) = da - db
Tensor sub(const Tensor& a, const Tensor& b) {
  Tensor out = broadcast_map("sub", a, b, [](float x, float y) { return x - y; });
  return record("sub", out, {a, b}, [da = GradTarget(a), db = GradTarget(b)](const Tensor& g) {
    return std::vector<Tensor>{da(g), db.needed ? neg(db(g)) : Tensor()};
  });
}

// d(ab) = b da + a db
Tensor mul(const Tensor& a, const Tensor& b) {
  Tensor out = broadcast_map("mul", a, b, [](float x, float y) { return x * y; });
  return record("mul", out, {a, b}, [a, b](const Tensor& g) {
    return std::vector<Tensor>{a.requires_grad() ? sum_to(mul(g, b), a.shape()) : Tensor(),
                               b.requires_grad() ? sum_to(mul(g, a), b.shape()) : Tensor()};
  });
}

// d(a/b) = da / b - (a/b) db / b
Tensor div(const Tensor& a, const Tensor& b) {
  Tensor out = broadcast_map("div", a, b, [](float x, float y) { return x / y; });
  return record("div", out, {a, b}, [a, b, out = out.detach()](const Tensor& g) {
    Tensor g_over_b = div(g, b);
    return std::vector<Tensor>{
        a.requires_grad() ? sum_to(g_over_b, a.shape()) : Tensor(),
        b.requires_grad() ? sum_to(neg(mul(g_over_b, out)), b.shape()) : Tensor()};
  });
}

Tensor operator+(const Tensor& a, const Tensor& b) { return add(a, b); }
Tensor operator-(const Tensor& a, const Tensor& b) { return sub(a, b); }
Tensor operator*(const Tensor& a, const Tensor& b) { return mul(a, b); }
Tensor operator/(const Tensor& a, const Tensor& b) { return div(a, b); }

}  // namespace cf
