// Where the columns sit on the cortical sheet, and what attention across the
// sheet costs (ARCHITECTURES.md 3.6).
#pragma once
#include <cstdint>
#include <vector>

#include "autograd/tensor.h"

namespace cf {

// One column's place: sheet (layer) index, row and column in its sheet, and
// the coordinates (z, y, x) = (sheet * offset, y, x) the distances use.
struct SheetPosition {
  int64_t sheet, row, col;
  float z, y, x;
};

struct Geometry {
  std::vector<int64_t> widths;          // one square sheet of widths[i]^2 columns each
  float offset = 2.0f;                  // distance between stacked sheets
  std::vector<SheetPosition> columns;   // N, sheet by sheet, row-major (y outer)
  Tensor dist;                          // (N, N) Euclidean distances

  int64_t size() const { return int64_t(columns.size()); }
};

// Stacked square sheets: sheet i of width w has points linspace(-w/2, w/2, w)
// on each axis, at height i * offset; dist is Euclidean. With one sheet,
// dist = sqrt(dist^2 + offset^2): a column talks to the next layer's sheet.  (C7)
Geometry multilayer_geometry(const std::vector<int64_t>& widths, float offset = 2.0f);

// max(-dist^2 / (2 sigma^2), -8): the Gaussian local attention bias.       (C8)
Tensor local_attention_bias(const Tensor& dist, float sigma);

// Wd = dist^p / mean(dist^p), the weights of the wiring cost.
Tensor wiring_weights(const Tensor& dist, float p = 1.0f);

// mean over (b, h, query) of sum over keys of |Wd * A|, for one attention
// map A (B, H, N, N) (or (1, H, N, N) for static mixing) and Wd (N, N)
// (C9, without lambda). A custom op: its gradient Wd sign(A) / (B H N) is
// written straight into dA, with no (B, H, N, N) temporaries.
Tensor wiring_cost(const Tensor& attention, const Tensor& weights);

}  // namespace cf
