// The fused AFT-simple op against (F1) with w = 0 composed from ops
// (aft_core with a sum over positions), its gradients against finite
// differences, its bits across thread counts, and its errors.
#include <algorithm>
#include <cmath>

#include "autograd/graph.h"
#include "autograd/kernels/threads.h"
#include "nn/aft.h"
#include "tests/helpers.h"

using namespace cf;
using cf::test::error_of;
using cf::test::require_close;
using cf::test::require_gradcheck;

namespace {

Tensor composed(const Tensor& q, const Tensor& k, const Tensor& v) {
  return aft_core(q, k, v, [](const Tensor& z) { return sum(z, 1, true); });
}

struct Grads {
  Tensor y, dq, dk, dv;
};

// y and the gradients of sum(y * r) with respect to q, k, v.
template <class F>
Grads run(F&& op, const Tensor& q0, const Tensor& k0, const Tensor& v0, const Tensor& r) {
  Tensor q = q0.detach().requires_grad_(), k = k0.detach().requires_grad_(),
         v = v0.detach().requires_grad_();
  Tensor y = op(q, k, v);
  sum(mul(y, r)).backward();
  return {y, q.grad(), k.grad(), v.grad()};
}

}  // namespace

TEST_CASE("aft_simple equals (F1) with w = 0 composed from ops, values and gradients", "[ops][aft]") {
  // One token, one channel, and a block of 70 x 33 (odd widths, vector tails).
  for (auto [B, T, C] : {std::array<int64_t, 3>{2, 9, 4}, {1, 1, 3}, {3, 5, 1}, {2, 70, 33}}) {
    INFO("B " << B << " T " << T << " C " << C);
    Tensor q = Tensor::randn({B, T, C}, 1), k = Tensor::randn({B, T, C}, 2, 0.0f, 3.0f),
           v = Tensor::randn({B, T, C}, 3), r = Tensor::randn({B, T, C}, 4);
    const Grads fused = run(aft_simple, q, k, v, r), reference = run(composed, q, k, v, r);
    require_close(fused.y, reference.y, 1e-5f);
    require_close(fused.dq, reference.dq, 1e-5f);
    require_close(fused.dk, reference.dk, 1e-4f);
    require_close(fused.dv, reference.dv, 1e-5f);
  }
}

TEST_CASE("aft_simple gradients", "[ops][aft][grad]") {
  for (auto [B, T, C] : {std::array<int64_t, 3>{2, 4, 3}, {1, 1, 2}, {1, 7, 9}}) {
    INFO("B " << B << " T " << T << " C " << C);
    require_gradcheck([](const std::vector<Tensor>& t) { return aft_simple(t[0], t[1], t[2]); },
                      {Tensor::randn({B, T, C}, 5), Tensor::randn({B, T, C}, 6),
                       Tensor::randn({B, T, C}, 7)});
  }
}

TEST_CASE("aft_simple is stable with keys of size 1e4 and exact for one dominant key", "[ops][aft]") {
  NoGradGuard no_grad;
  // Key 0 of every channel 50 above the rest: its softmax weight is 1 to
  // float precision, so y_t = sigmoid(q_t) v_0.
  Tensor q = Tensor::randn({2, 6, 5}, 8), v = Tensor::randn({2, 6, 5}, 9);
  Tensor k = Tensor::randn({2, 6, 5}, 10, 0.0f, 1e4f);
  for (float y : aft_simple(q, k, v).to_vector()) REQUIRE(std::isfinite(y));
  Tensor sharp = Tensor::zeros({2, 6, 5});
  for (int64_t b = 0; b < 2; ++b)
    for (int64_t c = 0; c < 5; ++c) sharp.set({b, 0, c}, 50.0f);
  Tensor y = aft_simple(q, sharp, v);
  for (int64_t b = 0; b < 2; ++b)
    for (int64_t t = 0; t < 6; ++t)
      for (int64_t c = 0; c < 5; ++c)
        CHECK(y.at({b, t, c}) ==
              Approx(v.at({b, 0, c}) / (1.0 + std::exp(-double(q.at({b, t, c}))))).margin(1e-6));
}

TEST_CASE("aft_simple sums a long token axis as accurately as a double evaluation", "[ops][aft]") {
  // 20000 tokens: summed in float, r would drift by ~1e-5 relative.
  NoGradGuard no_grad;
  const int64_t T = 20000, C = 3;
  Tensor q = Tensor::full({1, T, C}, 30.0f);  // sigmoid(q) = 1 in float
  Tensor k = Tensor::randn({1, T, C}, 15), v = Tensor::randn({1, T, C}, 16, 1.0f, 0.5f);
  Tensor y = aft_simple(q, k, v);
  for (int64_t c = 0; c < C; ++c) {
    double m = -1e30, num = 0, den = 0;
    for (int64_t t = 0; t < T; ++t) m = std::max(m, double(k.at({0, t, c})));
    for (int64_t t = 0; t < T; ++t) {
      const double e = std::exp(double(k.at({0, t, c})) - m);
      num += e * v.at({0, t, c});
      den += e;
    }
    CHECK(y.at({0, T - 1, c}) == Approx(num / den).epsilon(1e-6));
  }
}

TEST_CASE("aft_simple gives the same bits on 1, 2 and 3 threads", "[ops][aft][threads]") {
  Tensor q = Tensor::randn({5, 17, 12}, 11), k = Tensor::randn({5, 17, 12}, 12),
         v = Tensor::randn({5, 17, 12}, 13), r = Tensor::randn({5, 17, 12}, 14);
  const int saved = kernels::num_threads();
  kernels::set_num_threads(1);
  const Grads one = run(aft_simple, q, k, v, r);
  for (int threads : {2, 3}) {
    INFO(threads << " threads");
    kernels::set_num_threads(threads);
    const Grads many = run(aft_simple, q, k, v, r);
    CHECK(many.y.to_vector() == one.y.to_vector());
    CHECK(many.dq.to_vector() == one.dq.to_vector());
    CHECK(many.dk.to_vector() == one.dk.to_vector());
    CHECK(many.dv.to_vector() == one.dv.to_vector());
  }
  kernels::set_num_threads(saved);
}

TEST_CASE("aft_simple: bad shapes name the op and the shapes", "[ops][aft][errors]") {
  const Tensor x = Tensor::randn({2, 3, 4}, 1);
  CHECK(error_of([&] { aft_simple(x, x, Tensor::randn({2, 3, 5}, 2)); }) ==
        "aft_simple: q, k, v must be [B, T, C] of one shape, got [2, 3, 4], [2, 3, 4] and [2, 3, 5]");
  const Tensor flat = Tensor::randn({3, 4}, 3);
  CHECK(error_of([&] { aft_simple(flat, flat, flat); }) ==
        "aft_simple: q, k, v must be [B, T, C] of one shape, got [3, 4], [3, 4] and [3, 4]");
  const Tensor none = Tensor::zeros({2, 0, 4});
  CHECK(error_of([&] { aft_simple(none, none, none); }) == "aft_simple: input of shape [2, 0, 4] is empty");
}
