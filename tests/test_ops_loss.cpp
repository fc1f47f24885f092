#include "tests/helpers.h"

using namespace cf;
using cf::test::error_of;
using cf::test::require_gradcheck;

TEST_CASE("cross_entropy matches its definition", "[ops][loss]") {
  Tensor logits = Tensor::randn({4, 5}, 51);
  std::vector<int64_t> labels = {0, 4, 2, 2};
  Tensor lp = log_softmax(logits);
  double want = 0.0, want_smooth = 0.0;
  const double s = 0.1;
  for (int64_t n = 0; n < 4; ++n) {
    want -= lp.at({n, labels[size_t(n)]}) / 4.0;
    for (int64_t k = 0; k < 5; ++k)
      want_smooth -= ((k == labels[size_t(n)] ? 1 - s : 0) + s / 5) * lp.at({n, k}) / 4.0;
  }
  CHECK(cross_entropy(logits, labels).item() == Approx(want));
  CHECK(cross_entropy(logits, labels, 0.1f).item() == Approx(want_smooth));
}

TEST_CASE("cross_entropy gradients", "[ops][loss][grad]") {
  for (float smoothing : {0.0f, 0.2f}) {
    INFO("label smoothing " << smoothing);
    require_gradcheck([=](const std::vector<Tensor>& v) { return cross_entropy(v[0], {1, 0, 2}, smoothing); },
                      {Tensor::randn({3, 4}, 52)});
    require_gradcheck([=](const std::vector<Tensor>& v) { return cross_entropy(v[0], {0}, smoothing); },
                      {Tensor::randn({1, 1}, 53)});
    // Scaled downstream: the incoming gradient is not 1.
    require_gradcheck([=](const std::vector<Tensor>& v) { return cross_entropy(v[0], {1, 1}, smoothing) * 3.0f; },
                      {Tensor::randn({2, 2}, 54)});
  }
}

TEST_CASE("cross_entropy rejects bad labels", "[ops][loss][errors]") {
  Tensor logits = Tensor::zeros({2, 3});
  CHECK(error_of([&] { cross_entropy(logits, {0, 3}); }).find("label 3 of row 1 is not in [0, 3)") != std::string::npos);
  CHECK(error_of([&] { cross_entropy(logits, {0}); }).find("1 labels for logits of shape [2, 3]") != std::string::npos);
  CHECK(error_of([&] { cross_entropy(Tensor::zeros({6}), {0}); }).find("[N, K]") != std::string::npos);
  CHECK(error_of([&] { cross_entropy(logits, {0, 1}, 1.5f); }).find("label_smoothing") != std::string::npos);
}

TEST_CASE("cross_entropy of logits of size 1e4 is finite and exact", "[ops][loss]") {
  Tensor logits = Tensor::from({1e4f, -1e4f, 0.0f, -2e4f, 3e4f, 3e4f - 1.0f}, {2, 3}).requires_grad_();
  Tensor loss = cross_entropy(logits, {1, 0});
  // Row 0: -log p(1) = 2e4 (+ exp(-1e4) terms, far below float spacing).
  // Row 1: -log p(0) = 5e4 + log(1 + e^-1), since 3e4 dominates.
  CHECK(loss.item() == Approx((2e4 + 5e4 + std::log1p(std::exp(-1.0))) / 2));
  loss.backward();
  for (float g : logits.grad().to_vector()) CHECK(std::isfinite(g));
  CHECK(logits.grad().at({0, 0}) == Approx(0.5f));  // (p - onehot) / rows
  CHECK(logits.grad().at({0, 1}) == Approx(-0.5f));
}
