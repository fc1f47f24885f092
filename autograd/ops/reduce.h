// The axis sum shared by sum, sum_to (a broadcast gradient) and linear (its
// bias gradient). Internal to ops/.
#pragma once
#include <cstdint>

namespace cf::detail {

// y[o, i] = sum_a x[o, a, i] for x of (outer, size, inner) elements, summed
// in double with a in increasing order, over the thread pool. Each y element
// is one task's, so the bits do not depend on the thread count.
void sum_axis(const float* x, float* y, int64_t outer, int64_t size, int64_t inner);

}  // namespace cf::detail
