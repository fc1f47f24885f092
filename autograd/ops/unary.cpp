// Elementwise functions of one tensor. Each is a pair (f, f'): `map` runs f
// forward and records dx = f'(x, y) dy for the backward pass.
#include <cmath>

#include "autograd/graph.h"
#include "autograd/kernels/rowops.h"
#include "autograd/kernels/threads.h"
#include "autograd/kernels/vecmath.h"
#include "autograd/ops.h"
#include "autograd/ops/check.h"

namespace cf {

namespace {

// Elements per parallel chunk: fixed, so results never depend on the
// number of threads.
constexpr int64_t kGrain = 32768;

// What an elementwise op's derivative reads: its input x, its output y, both,
// or neither (a constant). The backward keeps only that alive, so that
// exp(x - m), say, does not hold x - m until backward (autograd/graph.h).
enum Reads { kNone = 0, kX = 1, kY = 2 };

// dx = df(x, y) * dy, recorded as the backward of an elementwise op. An
// operand df does not read is passed as dy, so there is one loop for all.
template <int reads, class DF>
Tensor record_map(const char* op, const Tensor& x, const Tensor& y, DF df) {
  const Tensor xs = reads & kX ? x : Tensor(), ys = reads & kY ? y.detach() : Tensor();
  return record(op, y, {x}, [xs, ys, df, shape = x.shape()](const Tensor& g) {
    Tensor dx = Tensor::empty(shape);
    const float* pg = g.data();
    const float *px = xs.defined() ? xs.data() : pg, *py = ys.defined() ? ys.data() : pg;
    float* pd = dx.data();
    kernels::parallel_for(dx.numel(), kGrain, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) pd[i] = df(px[i], py[i]) * pg[i];
    });
    return std::vector<Tensor>{dx};
  });
}

// y = f(x) elementwise; backward: dx = df(x, y) * dy, with y the forward result.
template <int reads, class F, class DF>
Tensor map(const char* op, const Tensor& x, F f, DF df) {
  detail::check_input(op, x);
  Tensor y = Tensor::empty(x.shape());
  const float* px = x.data();
  float* py = y.data();
  kernels::parallel_for(x.numel(), kGrain, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) py[i] = f(px[i]);
  });
  return record_map<reads>(op, x, y, df);
}

// The same, with the forward computed by a vectorised kernel (vecmath.h).
template <int reads, class DF>
Tensor map_kernel(const char* op, const Tensor& x,
                  void (*kernel)(const float*, float*, int64_t), DF df) {
  detail::check_input(op, x);
  Tensor y = Tensor::empty(x.shape());
  kernel(x.data(), y.data(), x.numel());
  return record_map<reads>(op, x, y, df);
}

}  // namespace

Tensor neg(const Tensor& x) {
  return map<kNone>("neg", x, [](float v) { return -v; }, [](float, float) { return -1.0f; });
}

Tensor add_scalar(const Tensor& x, float s) {
  return map<kNone>("add_scalar", x, [s](float v) { return v + s; },
             [](float, float) { return 1.0f; });
}

Tensor mul_scalar(const Tensor& x, float s) {
  return map<kNone>("mul_scalar", x, [s](float v) { return v * s; },
             [s](float, float) { return s; });
}

// d(x^p) = p x^(p-1)
Tensor pow(const Tensor& x, float p) {
  return map<kX>("pow", x, [p](float v) { return std::pow(v, p); },
             [p](float v, float) { return p * std::pow(v, p - 1.0f); });
}

// d(e^x) = e^x = y
Tensor exp(const Tensor& x) {
  return map_kernel<kY>("exp", x, kernels::vec_exp, [](float, float y) { return y; });
}

// d(ln x) = 1 / x
Tensor log(const Tensor& x) {
  return map_kernel<kX>("log", x, kernels::vec_log, [](float v, float) { return 1.0f / v; });
}

// d(sqrt x) = 1 / (2 sqrt x) = 1 / (2 y)
Tensor sqrt(const Tensor& x) {
  return map<kY>("sqrt", x, [](float v) { return std::sqrt(v); },
             [](float, float y) { return 0.5f / y; });
}

// d|x| = sign(x), taken as 0 at 0.
Tensor abs(const Tensor& x) {
  return map<kX>("abs", x, [](float v) { return std::fabs(v); },
             [](float v, float) { return v > 0.0f ? 1.0f : (v < 0.0f ? -1.0f : 0.0f); });
}

// d tanh = 1 - y^2
Tensor tanh(const Tensor& x) {
  return map_kernel<kY>("tanh", x, kernels::vec_tanh, [](float, float y) { return 1.0f - y * y; });
}

// d sigmoid = y (1 - y)
Tensor sigmoid(const Tensor& x) {
  return map_kernel<kY>("sigmoid", x, kernels::vec_sigmoid,
                    [](float, float y) { return y * (1.0f - y); });
}

// d relu = [x > 0]
Tensor relu(const Tensor& x) {
  return map<kX>("relu", x, [](float v) { return v > 0.0f ? v : 0.0f; },
             [](float v, float) { return v > 0.0f ? 1.0f : 0.0f; });
}

// d relu(x)^2 = 2 relu(x)
Tensor squared_relu(const Tensor& x) {
  return map<kX>("squared_relu", x, [](float v) { return v > 0.0f ? v * v : 0.0f; },
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
