// Learning-rate schedules, evaluated per optimiser step (not per epoch), so a
// run resumed at any step continues on the same curve.
//
//   constant: lr
//   step:     lr * gamma^floor(step / step_size)
//   cosine:   linear warmup from 0 to lr over `warmup` steps, then
//             min_lr + (lr - min_lr) (1 + cos(pi t)) / 2, t = progress after warmup
// Warmup applies to every kind.
#pragma once
#include <cstdint>
#include <string>

namespace cf {

struct Schedule {
  enum class Kind { constant, step, cosine };
  Kind kind = Kind::cosine;
  float lr = 1e-3f;
  int64_t warmup = 0;       // steps of linear warmup
  int64_t total = 1;        // steps in the whole run (cosine)
  float min_lr = 0.0f;      // cosine's floor
  int64_t step_size = 1;    // step: decay every step_size steps
  float gamma = 0.1f;       // step: decay factor

  float at(int64_t step) const;

  // "constant", "step" or "cosine"; anything else is a cf::Error listing them.
  static Kind parse_kind(const std::string& name);
};

}  // namespace cf
