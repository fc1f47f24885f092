#include "autograd/gradcheck.h"

#include <cmath>
#include <sstream>

#include "autograd/error.h"
#include "autograd/graph.h"
#include "autograd/random.h"

namespace cf {

namespace {
// L = sum(r * y), accumulated in double so that rounding in the sum does not
// drown the difference being measured.
double weighted_sum(const Tensor& y, const Tensor& r) {
  double s = 0.0;
  for (int64_t i = 0, n = y.numel(); i < n; ++i) s += double(r.data()[i]) * y.data()[i];
  return s;
}
}  // namespace

GradcheckResult gradcheck(const GradcheckFn& fn, const std::vector<Tensor>& inputs,
                          const GradcheckOptions& options) {
  std::vector<Tensor> leaves;
  for (const Tensor& x : inputs) {
    CF_CHECK(x.defined(), "gradcheck: input " << leaves.size() << " is undefined");
    leaves.push_back(x.clone().requires_grad_());
  }

  Tensor y = fn(leaves);
  CF_CHECK(y.defined() && y.requires_grad(),
           "gradcheck: the function's output does not depend on its inputs");
  Tensor r = Tensor::rand(y.shape(), options.seed, -1.0f, 1.0f);
  y.backward(r);

  GradcheckResult result;
  NoGradGuard guard;
  for (size_t k = 0; k < leaves.size(); ++k) {
    Tensor& x = leaves[k];
    Tensor analytic = x.grad();
    float* p = x.data();
    for (int64_t i = 0; i < x.numel(); ++i) {
      const float original = p[i];
      const float plus = original + options.eps, minus = original - options.eps;
      p[i] = plus;
      double l_plus = weighted_sum(fn(leaves), r);
      p[i] = minus;
      double l_minus = weighted_sum(fn(leaves), r);
      p[i] = original;
      double numeric = (l_plus - l_minus) / (double(plus) - double(minus));
      double a = analytic.defined() ? analytic.data()[i] : 0.0;
      double err = std::fabs(a - numeric) / (options.atol + options.rtol * std::fabs(numeric));
      if (!(err <= result.worst)) {  // also catches NaN
        result.worst = std::isnan(err) ? INFINITY : err;
        result.input = int(k);
        result.index = i;
        result.analytic = a;
        result.numeric = numeric;
      }
    }
  }
  result.ok = result.worst <= 1.0;
  std::ostringstream os;
  os << (result.ok ? "gradcheck passed" : "gradcheck FAILED") << ": worst at input "
     << result.input << " element " << result.index << ": analytic " << result.analytic
     << ", numeric " << result.numeric << " (" << result.worst << " of tolerance)";
  result.report = os.str();
  return result;
}

}  // namespace cf
