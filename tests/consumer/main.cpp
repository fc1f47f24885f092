#include <cstdio>

#include "autograd/gradcheck.h"
#include "autograd/ops.h"

int main() {
  cf::GradcheckResult r = cf::gradcheck(
      [](const std::vector<cf::Tensor>& x) { return cf::tanh(cf::matmul(x[0], x[1])); },
      {cf::Tensor::randn({2, 3}, 1), cf::Tensor::randn({3, 2}, 2)});
  std::printf("%s\n", r.report.c_str());
  return r.ok ? 0 : 1;
}
