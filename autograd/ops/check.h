// Input checks every op shares. Internal to ops/.
#pragma once
#include <cstdint>

#include "autograd/tensor.h"

namespace cf::detail {

// x is defined and has at least one element; else an error naming the op.
void check_input(const char* op, const Tensor& x);

// An axis in [-rank, rank) made non-negative; else an error naming the op,
// the axis and the shape.
int64_t normalize_axis(const char* op, int64_t axis, const Shape& shape);

// Splits `shape` around `axis` into (outer, size, inner) element counts, so
// that element (o, a, i) sits at (o * size + a) * inner + i.
struct AxisSplit {
  int64_t outer, size, inner;
};
AxisSplit split_at(const Shape& shape, int64_t axis);

}  // namespace cf::detail
