#include "train/schedule.h"

#include <cmath>

#include "autograd/error.h"

namespace cf {

float Schedule::at(int64_t step) const {
  if (warmup > 0 && step < warmup) return lr * float(step + 1) / float(warmup);
  switch (kind) {
    case Kind::constant:
      return lr;
    case Kind::step:
      return lr * std::pow(gamma, float(step / (step_size > 0 ? step_size : 1)));
    case Kind::cosine: {
      const int64_t span = total - warmup;
      const double t = span > 0 ? std::fmin(1.0, double(step - warmup) / double(span)) : 1.0;
      return float(min_lr + (lr - min_lr) * 0.5 * (1.0 + std::cos(M_PI * t)));
    }
  }
  return lr;
}

Schedule::Kind Schedule::parse_kind(const std::string& name) {
  if (name == "constant") return Kind::constant;
  if (name == "step") return Kind::step;
  if (name == "cosine") return Kind::cosine;
  throw Error("schedule: unknown kind '" + name + "' (use constant, step or cosine)");
}

}  // namespace cf
