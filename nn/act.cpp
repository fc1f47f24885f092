#include "nn/act.h"

#include "autograd/error.h"
#include "autograd/ops.h"

namespace cf {

AdaptiveHalting::AdaptiveHalting(float eps, int64_t steps) : epsilon(eps), max_steps(steps) {
  CF_CHECK(eps > 0.0f && eps < 1.0f, "ACT: epsilon " << eps << " must lie in (0, 1)");
  CF_CHECK(steps >= 1, "ACT: max_steps " << steps << " must be at least 1");
}

void AdaptiveHalting::begin(int64_t positions, int64_t dim) {
  t_ = 0;
  running_ = Tensor::ones({positions, 1});
  sum_ = Tensor::zeros({positions, 1});
  remainders_ = Tensor::zeros({positions, 1});
  steps_ = Tensor::zeros({positions, 1});
  weights_ = Tensor::zeros({positions, 1});
  state_ = Tensor::zeros({positions, dim});
}

bool AdaptiveHalting::step(const Tensor& h, const Tensor& p) {
  const int64_t P = running_.size(0);
  CF_CHECK(h.dim() == 2 && h.size(0) == P && h.size(1) == state_.size(1) && p.shape() == Shape({P, 1}),
           "ACT: step with h " << shape_str(h.shape()) << " and p " << shape_str(p.shape())
                               << " for " << P << " positions of width " << state_.size(1));
  ++t_;
  // The discrete decision, on values: which running positions continue and
  // which halt at this step.
  Tensor continues = Tensor::zeros({P, 1}), halts = Tensor::zeros({P, 1});
  for (int64_t i = 0; i < P; ++i) {
    if (running_.data()[i] == 0.0f) continue;
    const bool go_on = sum_.data()[i] + p.data()[i] < 1.0f - epsilon && t_ < max_steps;
    (go_on ? continues : halts).data()[i] = 1.0f;
  }
  Tensor remainder = add_scalar(neg(sum_), 1.0f);                      // 1 - S
  weights_ = add(mul(continues, p), mul(halts, remainder));            // u
  remainders_ = add(remainders_, mul(halts, remainder));               // R
  sum_ = add(sum_, mul(continues, p));                                 // S += p
  steps_ = add(steps_, running_);                                      // n += 1
  state_ = add(mul(weights_, h), mul(add_scalar(neg(weights_), 1.0f), state_));  // (U3)
  running_ = continues;
  for (int64_t i = 0; i < P; ++i)
    if (running_.data()[i] != 0.0f) return true;
  return false;
}

Tensor AdaptiveHalting::ponder_cost() const { return mean(add(steps_, remainders_)); }

}  // namespace cf
