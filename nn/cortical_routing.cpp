#include "nn/cortical_routing.h"

#include <cmath>
#include <cstdlib>

#include "autograd/error.h"
#include "autograd/ops.h"
#include "autograd/random.h"

namespace cf {

namespace {

struct BlockRole {
  bool identity;   // holds the feed-forward identity (frozen, or the start of a learnable block)
  bool learnable;
};

// The patterns of 7.2 for block (o, r); o = R is the readout port, fed by
// region R as its successor (o = r + 1), so feed-forward reaches it.
BlockRole block_role(RoutedMatrix matrix, ConnectivityPattern pattern, int64_t o, int64_t r,
                     int64_t R) {
  const bool successor = o == r + 1, readout = o == R;
  const bool recurrent = pattern == ConnectivityPattern::recurrent;
  switch (matrix) {
    case RoutedMatrix::tokens:  // W^{M,r}: the readout block stays I
      return {successor, !readout && (recurrent || (successor && pattern == ConnectivityPattern::feedforward_ti))};
    case RoutedMatrix::residual:  // B_r: frozen; recurrent makes every block I
      return {successor || (recurrent && !readout), false};
    case RoutedMatrix::second_layer:  // W~^{2,r} (eq. 6): learnable where W would be non-zero
      return {false, successor || (recurrent && !readout)};
  }
  throw Error("RegionRouting: unknown matrix");
}

// The identity of a block: I for a square block, ones for a diagonal one.
float identity_entry(const Shape& block, int64_t i) {
  return block.size() == 1 || i / block.back() == i % block.back() ? 1.0f : 0.0f;
}

// Whether a block that learns nothing holds the identity: I of {N, N}, ones
// of {D}. x I and x * 1 are x, so route passes the region through. Every
// block of the feed-forward pattern is one, and so is the readout's (the
// Cortical baseline's R T token products per image and R T multiplications
// of a region by ones, at every step of training and inference).
bool is_identity(const Tensor& block) {
  const Shape& shape = block.shape();
  if (!(shape.size() == 1 || (shape.size() == 2 && shape[0] == shape[1]))) return false;
  const float* p = block.data();
  for (int64_t i = 0; i < block.numel(); ++i)
    if (p[i] != identity_entry(shape, i)) return false;
  return true;
}

}  // namespace

RegionRouting::RegionRouting(RoutedMatrix m, ConnectivityPattern p, int64_t R, const Shape& block,
                             double lambda, uint64_t seed, const std::string& mask_name)
    : matrix(m), pattern(p), regions(R), block_shape(block) {
  CF_CHECK(R > 0, "RegionRouting: regions " << R << " must be positive");
  CF_CHECK(lambda >= 0, "RegionRouting: drop-off lambda " << lambda << " must be >= 0 (0: off)");
  const int64_t size = numel(block);
  Shape full{R + 1, R};
  full.insert(full.end(), block.begin(), block.end());
  dropoff_ = Tensor::ones(full);
  Tensor identity = Tensor::zeros(full), learnable_entries = Tensor::zeros(full);
  const Rng rng(seed, stream_id(mask_name.c_str()));
  bool any_learnable = false;
  for (int64_t o = 0; o <= R; ++o)
    for (int64_t r = 0; r < R; ++r) {
      const BlockRole role = block_role(m, p, o, r, R);
      active_.push_back(role.identity || role.learnable);
      learnable_.push_back(role.learnable);
      any_learnable = any_learnable || role.learnable;
      // Keep probability 1 - p_m = exp(-|o - r| / lambda) (7.2).
      const double keep = lambda > 0 && o < R ? std::exp(-double(std::abs(o - r)) / lambda) : 1.0;
      for (int64_t i = 0; i < size; ++i) {
        const int64_t at = (o * R + r) * size + i;
        const float kept = keep >= 1.0 || rng.uniform(uint64_t(at)) < keep ? 1.0f : 0.0f;
        dropoff_.data()[at] = kept;
        if (role.identity) identity.data()[at] = kept * identity_entry(block, i);
        if (role.learnable) learnable_entries.data()[at] = kept;
      }
    }
  register_buffer("fixed", &fixed, identity, false);
  if (any_learnable) {
    register_parameter("weight", &weight, full, Init::trunc_normal(0.02f));
    register_buffer("mask", &mask, learnable_entries, false);
  }
}

std::vector<Tensor> RegionRouting::blocks() const {
  Tensor effective = learnable() ? add(fixed, mul(weight, mask)) : fixed;
  Shape rows_shape{(regions + 1) * regions};
  rows_shape.insert(rows_shape.end(), block_shape.begin(), block_shape.end());
  Tensor rows = reshape(effective, rows_shape);
  std::vector<Tensor> out(active_.size());
  for (size_t b = 0; b < active_.size(); ++b)
    if (active_[b]) out[b] = reshape(slice(rows, 0, int64_t(b), int64_t(b) + 1), block_shape);
  return out;
}

std::vector<Tensor> RegionRouting::route(const std::vector<Tensor>& blocks,
                                         const std::vector<Tensor>& x, int64_t first,
                                         int64_t last, const Apply& apply) const {
  CF_CHECK(int64_t(x.size()) == regions && 0 <= first && first < last && last <= regions + 1,
           "RegionRouting: " << x.size() << " inputs for " << regions << " regions, ports "
                             << first << ".." << last - 1);
  std::vector<Tensor> out;
  for (int64_t o = first; o < last; ++o) {
    Tensor sum;
    for (int64_t r = 0; r < regions; ++r) {
      const Tensor& b = blocks[size_t(o * regions + r)];
      if (!b.defined()) continue;
      const bool frozen_identity = !learnable_[size_t(o * regions + r)] && is_identity(b);
      Tensor part = frozen_identity ? x[size_t(r)] : apply(b, x[size_t(r)]);
      sum = sum.defined() ? add(sum, part) : part;
    }
    out.push_back(sum);
  }
  return out;
}

int64_t RegionRouting::learnable_parameters() const {
  if (!learnable()) return 0;
  int64_t kept = 0;
  for (float v : mask.to_vector()) kept += v != 0.0f;
  return kept;
}

double RegionRouting::kept_fraction(int64_t o, int64_t r) const {
  CF_CHECK(0 <= o && o <= regions && 0 <= r && r < regions,
           "RegionRouting: no block (" << o << ", " << r << ") among " << regions + 1 << " x "
                                       << regions);
  const int64_t size = numel(block_shape);
  double kept = 0;
  for (int64_t i = 0; i < size; ++i) kept += dropoff_.data()[(o * regions + r) * size + i];
  return kept / double(size);
}

}  // namespace cf
