#include <cmath>

#include "autograd/graph.h"
#include "tests/helpers.h"

using namespace cf;
using cf::test::error_of;

TEST_CASE("backward computes gradients of a composition", "[autograd]") {
  Tensor x = Tensor::from({2.0f}, {1}).requires_grad_();
  Tensor w = Tensor::from({3.0f}, {1}).requires_grad_();
  Tensor y = sum(tanh(x * w) + x * x);  // dy/dx = w (1 - tanh^2(xw)) + 2x
  y.backward();
  const float t = std::tanh(6.0f);
  CHECK(x.grad().item() == Approx(3.0f * (1 - t * t) + 4.0f));
  CHECK(w.grad().item() == Approx(2.0f * (1 - t * t)));
}

TEST_CASE("backward with an explicit output gradient", "[autograd]") {
  Tensor x = Tensor::from({1, 2, 3}, {3}).requires_grad_();
  Tensor y = x * 2.0f;
  y.backward(Tensor::from({1, 10, 100}, {3}));
  CHECK(x.grad().to_vector() == std::vector<float>{2, 20, 200});
}

TEST_CASE("no-grad guard records nothing", "[autograd]") {
  Tensor x = Tensor::ones({3}).requires_grad_();
  {
    NoGradGuard guard;
    Tensor y = x * 2.0f;
    CHECK_FALSE(y.requires_grad());
    CHECK(y.is_leaf());
  }
  CHECK(grad_enabled());
  CHECK((x * 2.0f).requires_grad());
  CHECK((x * 2.0f).grad_fn()->op == std::string("mul_scalar"));
  CHECK_FALSE((Tensor::ones({3}) * 2.0f).requires_grad());
}

TEST_CASE("backward releases the tape", "[autograd]") {
  Tensor x = Tensor::ones({4}).requires_grad_();
  Tensor h = exp(x);
  std::weak_ptr<TensorImpl> intermediate = h.impl();
  Tensor y = sum(mul(h, h));  // mul's backward reads h
  h = Tensor();               // only the tape holds it now
  CHECK_FALSE(intermediate.expired());
  y.backward();
  CHECK(intermediate.expired());  // freed with the tape
  CHECK(y.grad_fn() == nullptr);
  // A second backward through the released graph is an error, not a no-op.
  CHECK(error_of([&] { y.backward(); }).find("released") != std::string::npos);
}

TEST_CASE("backward frees each activation as soon as its consumers' backward has run", "[autograd]") {
  // x -> a (a probe op) -> h = exp(a) -> y = sum(h h). When the probe's
  // backward runs, the nodes of h and of h h have run and h, which only
  // they held, must already be freed: its memory is free for the gradients.
  Tensor x = Tensor::ones({4}).requires_grad_();
  std::weak_ptr<TensorImpl> h_impl;
  bool h_freed_before_probe = false;
  Tensor a = record("probe", x.detach().clone(), {x}, [&](const Tensor& g) {
    h_freed_before_probe = h_impl.expired();
    return std::vector<Tensor>{g};
  });
  Tensor h = exp(a);
  h_impl = h.impl();
  Tensor y = sum(mul(h, h));
  h = Tensor();
  CHECK_FALSE(h_impl.expired());
  y.backward();
  CHECK(h_freed_before_probe);
  for (float g : x.grad().to_vector()) CHECK(g == Approx(2.0 * std::exp(2.0)).epsilon(1e-6));  // 2 h^2
}

TEST_CASE("an activation no backward captured is freed during the forward pass", "[autograd]") {
  // y = (x + 1) + 1: add_scalar's backward needs no input, so once the user
  // drops the middle tensor its data goes, while the graph still routes the
  // gradient through it. z = m * m captures m, which stays until backward.
  Tensor x = Tensor::ones({4}).requires_grad_();
  Tensor mid = add_scalar(x, 1.0f);
  const std::weak_ptr<float> mid_data = mid.impl()->storage;
  Tensor y = add_scalar(mid, 1.0f);
  Tensor m = add_scalar(x, 2.0f);
  const std::weak_ptr<float> m_data = m.impl()->storage;
  Tensor z = mul(m, m);
  mid = Tensor();
  m = Tensor();
  CHECK(mid_data.expired());
  CHECK_FALSE(m_data.expired());
  sum(add(y, z)).backward();
  CHECK(m_data.expired());
  CHECK(x.grad().to_vector() == std::vector<float>(4, 1.0f + 2.0f * 3.0f));  // 1 + 2m
}

TEST_CASE("training steps do not grow memory", "[autograd]") {
  Tensor w = Tensor::randn({8, 8}, 1).requires_grad_();
  Tensor x = Tensor::randn({4, 8}, 2);
  std::weak_ptr<TensorImpl> first_loss;
  for (int step = 0; step < 3; ++step) {
    Tensor loss = mean(relu(matmul(x, w)));
    if (step == 0) first_loss = loss.impl();
    loss.backward();
    w.zero_grad();
  }
  CHECK(first_loss.expired());
  CHECK(w.grad_fn() == nullptr);
}

TEST_CASE("a 100000-op chain runs forward and backward without overflow", "[autograd]") {
  Tensor x = Tensor::ones({1}).requires_grad_();
  Tensor y = x;
  for (int i = 0; i < 100000; ++i) y = y * 1.0f;
  y.backward();
  CHECK(x.grad().item() == 1.0f);
}

TEST_CASE("leaf gradients never share storage", "[autograd]") {
  Tensor a = Tensor::ones({3}).requires_grad_(), b = Tensor::ones({3}).requires_grad_();
  sum(a + b).backward();
  CHECK(a.grad().data() != b.grad().data());
}

TEST_CASE("backward reports misuse", "[autograd][errors]") {
  Tensor x = Tensor::ones({2, 3}).requires_grad_();
  Tensor y = x * 2.0f;
  std::string msg = error_of([&] { y.backward(); });
  CHECK(msg.find("backward") != std::string::npos);
  CHECK(msg.find("[2, 3]") != std::string::npos);
  CHECK(error_of([&] { y.backward(Tensor::ones({3})); }).find("gradient of shape [3]") !=
        std::string::npos);
  CHECK(error_of([&] { Tensor::ones({1}).backward(); }).find("does not require grad") !=
        std::string::npos);
  CHECK(error_of([&] { y.requires_grad_(false); }).find("leaf") != std::string::npos);
}

TEST_CASE("gradcheck catches a wrong gradient", "[autograd][gradcheck]") {
  // x^3 with a backward that claims 2x: recorded by hand through `record`.
  auto wrong_cube = [](const std::vector<Tensor>& in) {
    const Tensor& x = in[0];
    Tensor y = Tensor::empty(x.shape());
    for (int64_t i = 0; i < x.numel(); ++i) y.data()[i] = x.data()[i] * x.data()[i] * x.data()[i];
    return record("wrong_cube", y, {x}, [x](const Tensor& g) { return std::vector<Tensor>{g * x * 2.0f}; });
  };
  GradcheckResult r = gradcheck(wrong_cube, {Tensor::randn({5}, 3)});
  CHECK_FALSE(r.ok);
  CHECK(r.input == 0);
  CHECK(r.report.find("FAILED") != std::string::npos);
  GradcheckResult good = gradcheck([](const std::vector<Tensor>& in) { return pow(in[0], 3.0f); },
                                   {Tensor::randn({5}, 3)});
  CHECK(good.ok);
}

TEST_CASE("check_finite names the first op that produced a NaN or an infinity", "[autograd][errors]") {
  struct Enabled {
    Enabled() { set_check_finite(true); }
    ~Enabled() { set_check_finite(false); }
  } enabled;
  const Tensor has_zero = Tensor::from({1.0f, 0.0f, 4.0f}, {3});
  CHECK(error_of([&] { log(has_zero); }) ==
        "check_finite: log produced -inf at element 1 of its output of shape [3]; its inputs were finite");

  // A NaN that came from outside the checked ops (data, a parameter).
  const Tensor has_nan = Tensor::from({1.0f, NAN}, {2});
  const std::string from_outside = error_of([&] { exp(has_nan); });
  CHECK(from_outside.find("check_finite: exp produced") == 0);
  CHECK(from_outside.find("at element 1 of its output of shape [2]; it already had") != std::string::npos);
  CHECK(from_outside.find("at element 1 of input 0 of shape [2]") != std::string::npos);

  // d sqrt(x)/dx = 1 / (2 sqrt(x)) is infinite at 0: the forward is finite.
  Tensor x = Tensor::from({0.0f, 4.0f}, {2}).requires_grad_();
  Tensor y = sum(sqrt(x));
  CHECK(error_of([&] { y.backward(); }) ==
        "check_finite: the backward of sqrt produced inf at element 0 of the gradient for input 0 "
        "of shape [2]; its incoming gradients were finite");

  set_check_finite(false);
  CHECK(log(has_zero).to_vector()[1] == -INFINITY);  // off: no check
}
