#include "autograd/ops/check.h"

#include "autograd/error.h"

namespace cf::detail {

void check_input(const char* op, const Tensor& x) {
  CF_CHECK(x.defined(), op << ": an input tensor is undefined");
  CF_CHECK(x.numel() > 0, op << ": input of shape " << shape_str(x.shape())
                             << " is empty");
}

int64_t normalize_axis(const char* op, int64_t axis, const Shape& shape) {
  const int64_t rank = int64_t(shape.size());
  CF_CHECK(axis >= -rank && axis < rank,
           op << ": axis " << axis << " is out of range for shape "
              << shape_str(shape) << " (rank " << rank << ")");
  return axis < 0 ? axis + rank : axis;
}

AxisSplit split_at(const Shape& shape, int64_t axis) {
  AxisSplit s{1, shape[size_t(axis)], 1};
  for (int64_t d = 0; d < axis; ++d) s.outer *= shape[size_t(d)];
  for (size_t d = size_t(axis) + 1; d < shape.size(); ++d) s.inner *= shape[d];
  return s;
}

}  // namespace cf::detail
