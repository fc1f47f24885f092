// Shared by the tests of nn/: gradient checks of a module as a function of
// its input and of its parameters.
#pragma once
#include <string>
#include <vector>

#include "autograd/ops.h"
#include "nn/model.h"
#include "nn/module.h"
#include "tests/helpers.h"
#include "train/optim.h"

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

// Multiplies the named parameters (an attention's q and k weights) by
// `factor`. At their initialisation (std 0.02) the scores are of order 1e-3
// and the softmax is nearly flat: q's gradient is then below gradcheck's
// absolute tolerance, and a zero or sign-flipped one would pass. Scaled by
// 30, the scores are of order 1 (use less where the loss then bends within
// gradcheck's step). Value and output weights at 0.02 can also keep q's
// gradient below the tolerance: randomise them there.
template <class M>
void sharpen_attention(M& m, const std::vector<std::string>& names, float factor = 30.0f) {
  for (const std::string& name : names)
    m.parameter(name) = mul_scalar(m.parameter(name).detach(), factor).requires_grad_();
}

// Trains `model` on one fixed batch with AdamW (no weight decay), the
// model's auxiliary losses added to the task loss as the trainer does, until
// the training accuracy reaches 95% or after `max_steps`; returns the
// accuracy and sets `steps` to the steps taken. Every model test uses it to
// show that a model can memorise a small batch.
inline double train_to_memorise(Model& model, const Tensor& images,
                                const std::vector<int64_t>& labels, int max_steps, float lr,
                                int* steps = nullptr) {
  AdamW opt(weight_decay_groups(model, 0.0f), lr);
  const int64_t B = images.size(0);
  double accuracy = 0.0;
  int step = 0;
  for (; step < max_steps && accuracy < 0.95; ++step) {
    opt.zero_grad();
    Tensor logits = model.forward(images);
    Tensor loss = cross_entropy(logits, labels);
    for (const auto& [name, aux] : model.aux_losses()) loss = add(loss, aux);
    loss.backward();
    opt.step();
    const int64_t K = logits.size(1);
    int64_t correct = 0;
    for (int64_t i = 0; i < B; ++i) {
      int64_t best = 0;
      for (int64_t k = 1; k < K; ++k)
        if (logits.at({i, k}) > logits.at({i, best})) best = k;
      correct += best == labels[size_t(i)];
    }
    accuracy = double(correct) / double(B);
  }
  if (steps) *steps = step;
  return accuracy;
}

}  // namespace cf::test
