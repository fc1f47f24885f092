// Elementwise functions of one tensor. Each is a pair (f, f'): `map` runs f
// forward and records dx = f'(x, y) dy for the backward pass.
#include <cmath>

#include "autograd/graph.h"
#include "autograd/kernels/rowops.h"
#include "autograd/ops.h"
#include "autograd/ops/check.h"

namespace cf {

namespace {

// y = f(x); backward: dx = df(x, y) * dy, with y the forward result.
template <class F, class DF>
Tensor map(const char* op, const Tensor& x, F f, DF df) {
  detail::check_input(op, x);
  Tensor y = Tensor::empty(x.shape());
  const float* px = x.data();
  float* py = y.data();
  for (int64_t i = 0, n = x.numel(); i < n; ++i) py[i] = f(px[i]);
  return record(op, y, {x}, [x, y = y.detach(), df](const Tensor& g) {
    Tensor dx = Tensor::empty(x.shape());
    const float *px = x.data(), *py = y.data(), *pg = g.data();
    float* pd = dx.data();
    for (int64_t i = 0, n = x.numel(); i < n; ++i) pd[i] = df(px[i], py[i]) * pg[i];
    return std::vector<Tensor>{dx};
  });
}

}  // namespace

Tensor neg(const Tensor& x) {
  return map("neg", x, [](float v) { return -v; }, [](float, float) { return -1.0f; });
}

Tensor add_scalar(const Tensor& x, float s) {
  return map("add_scalar", x, [s](float v) { return v + s; },
             [](float, float) { return 1.0f; });
}

Tensor mul_scalar(const Tensor& x, float s) {
  return map("mul_scalar", x, [s](float v) { return v * s; },
             [s](float, float) { return s; });
}

// d(x^p) = p x^(p-1)
Tensor pow(const Tensor& x, float p) {
  return map("pow", x, [p](float v) { return std::pow(v, p); },
             [p](float v, float) { return p * std::pow(v, p - 1.0f); });
}

// d(e^x) = e^x = y
Tensor exp(const Tensor& x) {
  return map("exp", x, [](float v) { return std::exp(v); },
             [](float, float y) { return y; });
}

// d(ln x) = 1 / x
Tensor log(const Tensor& x) {
  return map("log", x, [](float v) { return std::log(v); },
             [](float v, float) { return 1.0f / v; });
}

// d(sqrt x) = 1 / (2 sqrt x) = 1 / (2 y)
Tensor sqrt(const Tensor& x) {
  return map("sqrt", x, [](float v) { return std::sqrt(v); },
             [](float, float y) { return 0.5f / y; });
}

// d|x| = sign(x), taken as 0 at 0.
Tensor abs(const Tensor& x) {
  return map("abs", x, [](float v) { return std::fabs(v); },
             [](float v, float) { return v > 0.0f ? 1.0f : (v < 0.0f ? -1.0f : 0.0f); });
}

// d tanh = 1 - y^2
Tensor tanh(const Tensor& x) {
  return map("tanh", x, [](float v) { return std::tanh(v); },
             [](float, float y) { return 1.0f - y * y; });
}

// d sigmoid = y (1 - y)
Tensor sigmoid(const Tensor& x) {
  return map("sigmoid", x, [](float v) { return 1.0f / (1.0f + std::exp(-v)); },
             [](float, float y) { return y * (1.0f - y); });
}

// d relu = [x > 0]
Tensor relu(const Tensor& x) {
  return map("relu", x, [](float v) { return v > 0.0f ? v : 0.0f; },
             [](float v, float) { return v > 0.0f ? 1.0f : 0.0f; });
}

// d relu(x)^2 = 2 relu(x)
Tensor squared_relu(const Tensor& x) {
  return map("squared_relu", x, [](float v) { return v > 0.0f ? v * v : 0.0f; },
             [](float v, float) { return v > 0.0f ? 2.0f * v : 0.0f; });
}

// GELU runs through its vectorised kernels (autograd/kernels/rowops.h).
Tensor gelu(const Tensor& x) {
  detail::check_input("gelu", x);
  Tensor y = Tensor::empty(x.shape());
  kernels::gelu_forward(x.data(), y.data(), x.numel());
  return record("gelu", y, {x}, [x](const Tensor& g) {
    Tensor dx = Tensor::empty(x.shape());
    kernels::gelu_backward(x.data(), g.data(), dx.data(), x.numel());
    return std::vector<Tensor>{dx};
  });
}

Tensor operator-(const Tensor& x) { return neg(x); }
Tensor operator+(const Tensor& x, float s) { return add_scalar(x, s); }
Tensor operator+(float s, const Tensor& x) { return add_scalar(x, s); }
Tensor operator-(const Tensor& x, float s) { return add_scalar(x, -s); }
Tensor operator-(float s, const Tensor& x) { return add_scalar(neg(x), s); }
Tensor operator*(const Tensor& x, float s) { return mul_scalar(x, s); }
Tensor operator*(float s, const Tensor& x) { return mul_scalar(x, s); }
Tensor operator/(const Tensor& x, float s) { return mul_scalar(x, 1.0f / s); }
Tensor operator/(float s, const Tensor& x) { return mul_scalar(pow(x, -1.0f), s); }

}  // namespace cf
