// Adaptive Computation Time (Graves 2016) as the Universal Transformer uses
// it (ARCHITECTURES.md section 6). Each position i keeps a running sum S_i
// of its halting probabilities, a remainder R_i and a step count n_i; at
// step t, for the positions still running,
//
//   if S_i + p^t_i < 1 - eps and t < T_max:  u^t_i = p^t_i, S_i += p^t_i, n_i += 1
//   else (halts now):                       u^t_i = R_i = 1 - S_i, n_i += 1, stop
//   state_i = u^t_i h^t_i + (1 - u^t_i) state_i                              (U3)
//
// Halted positions get u = 0, so their state no longer changes. The ponder
// cost is rho = mean_i (n_i + R_i). Gradients flow through p (hence S, R,
// u and rho); the halting decision itself is discrete and has none.
//
// The arithmetic is kept apart from the model so that a test can drive it
// with hand-set probabilities.
#pragma once
#include <cstdint>

#include "autograd/tensor.h"

namespace cf {

class AdaptiveHalting {
 public:
  AdaptiveHalting(float epsilon, int64_t max_steps);

  // Starts a pass over `positions` positions with states of width `dim`.
  void begin(int64_t positions, int64_t dim);
  // One step: h (P, D) the step's output, p (P, 1) its halting probability.
  // Returns whether any position is still running afterwards.
  bool step(const Tensor& h, const Tensor& p);

  const Tensor& state() const { return state_; }            // (P, D), with graph
  const Tensor& weights() const { return weights_; }        // u of the last step (P, 1)
  const Tensor& remainders() const { return remainders_; }  // R (P, 1), 0 while running
  const Tensor& steps() const { return steps_; }            // n (P, 1), no graph
  Tensor ponder_cost() const;                               // rho, shape []

  const float epsilon;
  const int64_t max_steps;

 private:
  int64_t t_ = 0;
  Tensor running_;  // 1 for positions still running, no graph
  Tensor sum_, remainders_, steps_, weights_, state_;
};

}  // namespace cf
