#include <cmath>

#include "tests/helpers.h"
#include "train/grad_clip.h"
#include "train/schedule.h"

using namespace cf;
using cf::test::error_of;

TEST_CASE("schedule values at chosen steps", "[train][schedule]") {
  Schedule constant{Schedule::Kind::constant, 0.1f};
  CHECK(constant.at(0) == 0.1f);
  CHECK(constant.at(1000) == 0.1f);

  Schedule step{Schedule::Kind::step, 1.0f};
  step.step_size = 10;
  step.gamma = 0.5f;
  CHECK(step.at(9) == 1.0f);
  CHECK(step.at(10) == 0.5f);
  CHECK(step.at(25) == 0.25f);

  Schedule cosine{Schedule::Kind::cosine, 1.0f};
  cosine.warmup = 10;
  cosine.total = 110;
  cosine.min_lr = 0.1f;
  CHECK(cosine.at(0) == Approx(0.1f));   // warmup: (step + 1) / warmup
  CHECK(cosine.at(4) == Approx(0.5f));
  CHECK(cosine.at(10) == Approx(1.0f));  // warmup done: the peak
  CHECK(cosine.at(60) == Approx(0.55f)); // halfway: (1 + 0.1) / 2
  CHECK(cosine.at(110) == Approx(0.1f)); // the floor
  CHECK(cosine.at(500) == Approx(0.1f));
}

TEST_CASE("schedule kinds parse and report bad names", "[train][schedule][errors]") {
  CHECK(Schedule::parse_kind("step") == Schedule::Kind::step);
  CHECK(error_of([] { Schedule::parse_kind("linear"); }).find("unknown kind 'linear'") != std::string::npos);
}

TEST_CASE("clip_grad_norm scales to the global norm", "[train][clip]") {
  // Gradients a.grad = [3], b.grad = [4, 0]: the global norm is 5.
  Tensor a = Tensor::ones({1}).requires_grad_(), b = Tensor::ones({2}).requires_grad_();
  sum(a * 3.0f + sum(b * Tensor::from({4.0f, 0.0f}, {2}))).backward();
  CHECK(clip_grad_norm({a, b}, 10.0) == Approx(5.0));
  CHECK(a.grad().item() == 3.0f);  // under the limit: untouched
  CHECK(clip_grad_norm({a, b}, 1.0) == Approx(5.0));
  CHECK(a.grad().item() == Approx(0.6f));
  CHECK(b.grad().at({0}) == Approx(0.8f));
  CHECK(error_of([&] { clip_grad_norm({a}, 0.0); }).find("max_norm") != std::string::npos);
}
