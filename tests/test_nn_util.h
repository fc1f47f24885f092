// Shared by the tests of nn/: gradient checks of a module as a function of
// its input and of its parameters.
#pragma once
#include <string>
#include <vector>

#include "nn/module.h"
#include "tests/helpers.h"

namespace cf::test {

inline bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

// Gradcheck of `forward(x)` with respect to x and to the parameters of `m`
// named in `names` (all of them when empty). The parameters are swapped for
// gradcheck's copies through Module::parameter(), so the check sees exactly
// the tensors the module computes with. `forward` runs after set_step(0),
// so stochastic layers draw the same masks on every call.
template <class M, class F>
void require_module_gradcheck(M& m, const Tensor& x, F forward,
                              std::vector<std::string> names = {},
                              const GradcheckOptions& options = {}) {
  if (names.empty())
    for (const auto& [name, t] : m.named_parameters()) names.push_back(name);
  std::vector<Tensor> inputs{x};
  for (const std::string& name : names) inputs.push_back(m.parameter(name).detach());
  require_gradcheck(
      [&](const std::vector<Tensor>& v) {
        for (size_t i = 0; i < names.size(); ++i) m.parameter(names[i]) = v[i + 1];
        m.set_step(0);
        return forward(v[0]);
      },
      inputs, options);
}

}  // namespace cf::test
