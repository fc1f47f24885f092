// Region-to-region routing of the multi-region perceptron (ARCHITECTURES.md
// 7.1, 7.2; paper eq. 2 and 6, appendix A.1). One matrix of blocks, block
// (o, r) carrying source region r into output port o:
//
//   out_o = sum_r apply(block(o, r), x_r)
//
// Ports 0..R-1 are the regions of the next latent; port R is the readout,
// region R's block output at the last step (7.4), which is always fed by
// region R alone. The same class serves the three routed matrices:
//
//   tokens        W^{M,r}: (N, N) blocks, applied on the token axis (K2)
//   residual      B_r: (D, D) blocks; every pattern makes them (masked)
//                 identities, so each is stored as its diagonal (D)
//   second_layer  W~^{2,r} of the variant without token interactions (eq. 6):
//                 (D_ff, D) blocks, applied on the feature axis
//
// Which blocks are fixed to the identity and which are learnable follows the
// pattern (7.2). With drop-off (lambda > 0) each element of every region block
// is masked to 0, once at construction from the seed, with probability
// p_m = 1 - exp(-|o - r| / lambda) (7.2, Decision (sign)); the readout block
// is never masked.
//
// A block's effective value is F + P * M: F the fixed identity (times the
// drop-off mask), P the learnable parameter and M the non-persistent mask of
// learnable entries (learnable block and kept by drop-off). Masked entries of
// P get zero gradient and never reach the output. Learnable blocks that start
// from the feed-forward pattern (7.2, Decision (init)) hold the identity in F
// and the noise in P, so that init_parameters(seed), which draws P from
// trunc_normal(0.02), always reproduces that init; weight decay then pulls a
// learnable block toward the feed-forward network rather than toward 0.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "nn/module.h"

namespace cf {

enum class ConnectivityPattern {
  feedforward,     // W^{r+1<-r} = I, B^{r+1<-r} = I, frozen; other blocks 0
  feedforward_ti,  // as feedforward, but the W^{r+1<-r} blocks learnable
  recurrent,       // every W block learnable, every B block I
};

enum class RoutedMatrix { tokens, residual, second_layer };

class RegionRouting : public Module {
 public:
  // `block` is the shape of one block: {N, N}, {D} or {D_ff, D}. The
  // drop-off mask is drawn from Rng(seed, stream_id(mask_name)).
  RegionRouting(RoutedMatrix matrix, ConnectivityPattern pattern, int64_t regions,
                const Shape& block, double dropoff_lambda, uint64_t seed,
                const std::string& mask_name);

  // The effective blocks F + P * M, index o * R + r, undefined where a block
  // is always zero. Computed once per forward pass and used at every step.
  std::vector<Tensor> blocks() const;
  // out[o - first] for ports first..last-1: the sum over source regions r
  // of apply(blocks[o R + r], x[r]), x[r] itself where the block is a
  // frozen identity; undefined for a port nothing reaches.
  using Apply = std::function<Tensor(const Tensor& block, const Tensor& x)>;
  std::vector<Tensor> route(const std::vector<Tensor>& blocks, const std::vector<Tensor>& x,
                            int64_t first, int64_t last, const Apply& apply) const;

  // Learnable scalars: the entries of P that M keeps.
  int64_t learnable_parameters() const;
  // The fraction of the entries of block (o, r) kept by drop-off (1 without it).
  double kept_fraction(int64_t o, int64_t r) const;
  bool learnable() const { return weight.defined(); }

  const RoutedMatrix matrix;
  const ConnectivityPattern pattern;
  const int64_t regions;
  const Shape block_shape;
  Tensor weight;  // P (R + 1, R, block...), only when some block is learnable
  Tensor fixed;   // F, non-persistent buffer
  Tensor mask;    // M, non-persistent buffer, with weight

 private:
  Tensor dropoff_;            // (R + 1, R, block...): 1 kept, 0 masked
  std::vector<bool> active_;     // per block: fixed or learnable
  std::vector<bool> learnable_;  // per block: learnable
};

}  // namespace cf
