#include "train/optim.h"

#include <algorithm>
#include <sstream>

#include "autograd/error.h"
#include "autograd/kernels/vecmath.h"

namespace cf {

std::vector<ParamGroup> weight_decay_groups(const Module& model, float weight_decay,
                                            bool decay_all) {
  ParamGroup decay{{}, weight_decay, "decay"}, no_decay{{}, 0.0f, "no_decay"};
  const std::vector<std::string> exempt = model.no_weight_decay();
  for (const auto& [name, t] : model.named_parameters()) {
    const bool decayed = decay_all || std::find(exempt.begin(), exempt.end(), name) == exempt.end();
    (decayed ? decay : no_decay).params.push_back(t);
  }
  std::vector<ParamGroup> groups;
  for (ParamGroup* g : {&decay, &no_decay})
    if (!g->params.empty()) groups.push_back(*g);
  return groups;
}

Optimizer::Optimizer(std::vector<ParamGroup> groups, float learning_rate)
    : lr(learning_rate), groups_(std::move(groups)) {
  CF_CHECK(lr >= 0.0f, "optimizer: learning rate " << lr << " must be >= 0");
  for (const ParamGroup& g : groups_) {
    CF_CHECK(g.weight_decay >= 0.0f, "optimizer: weight decay " << g.weight_decay << " of group \""
                                                                << g.name << "\" must be >= 0");
    for (const Tensor& p : g.params)
      CF_CHECK(p.defined() && p.requires_grad(),
               "optimizer: group \"" << g.name << "\" holds a tensor that does not require grad");
  }
}

void Optimizer::zero_grad() {
  for (ParamGroup& g : groups_)
    for (Tensor& p : g.params) p.zero_grad();
}

SGD::SGD(std::vector<ParamGroup> groups, float learning_rate, float mom, bool nest)
    : Optimizer(std::move(groups), learning_rate), momentum(mom), nesterov(nest) {
  CF_CHECK(momentum >= 0.0f, "SGD: momentum " << momentum << " must be >= 0");
  CF_CHECK(!nesterov || momentum > 0.0f, "SGD: nesterov needs a momentum > 0");
  for (const ParamGroup& g : groups_) buffers_.emplace_back(g.params.size());
}

void SGD::step() {
  for (size_t gi = 0; gi < groups_.size(); ++gi) {
    const float wd = groups_[gi].weight_decay;
    for (size_t pi = 0; pi < groups_[gi].params.size(); ++pi) {
      Tensor& param = groups_[gi].params[pi];
      const Tensor grad = param.grad();
      if (!grad.defined()) continue;
      float* p = param.data();
      const float* g = grad.data();
      const int64_t n = param.numel();
      Tensor& buf = buffers_[gi][pi];
      const bool first = !buf.defined();
      if (momentum > 0.0f && first) buf = Tensor::zeros(param.shape());
      float* b = momentum > 0.0f ? buf.data() : nullptr;
      for (int64_t i = 0; i < n; ++i) {
        float d = g[i] + wd * p[i];
        if (b) {
          b[i] = first ? d : momentum * b[i] + d;
          d = nesterov ? d + momentum * b[i] : b[i];
        }
        p[i] -= lr * d;
      }
    }
  }
}

AdamW::AdamW(std::vector<ParamGroup> groups, float learning_rate, float b1, float b2, float e)
    : Optimizer(std::move(groups), learning_rate), beta1(b1), beta2(b2), eps(e) {
  CF_CHECK(beta1 >= 0.0f && beta1 < 1.0f && beta2 >= 0.0f && beta2 < 1.0f,
           "AdamW: betas (" << beta1 << ", " << beta2 << ") must be in [0, 1)");
  CF_CHECK(eps > 0.0f, "AdamW: eps " << eps << " must be > 0");
  for (const ParamGroup& g : groups_) state_.emplace_back(g.params.size());
}

void AdamW::step() {
  for (size_t gi = 0; gi < groups_.size(); ++gi) {
    for (size_t pi = 0; pi < groups_[gi].params.size(); ++pi) {
      Tensor& param = groups_[gi].params[pi];
      const Tensor grad = param.grad();
      if (!grad.defined()) continue;
      State& s = state_[gi][pi];
      if (!s.m.defined()) {
        s.m = Tensor::zeros(param.shape());
        s.v = Tensor::zeros(param.shape());
      }
      ++s.steps;
      float wd = groups_[gi].weight_decay;
      Tensor g = grad;
      if (!decoupled_ && wd != 0.0f) {  // Adam: the decay joins the gradient
        g = Tensor::empty(param.shape());
        float* pg = g.data();
        const float* pgrad = grad.data();
        const float* pparam = param.data();
        const int64_t n = param.numel();
        for (int64_t i = 0; i < n; ++i) pg[i] = pgrad[i] + wd * pparam[i];
        wd = 0.0f;
      }
      // The vectorised kernel of autograd/kernels, bit-identical to its
      // scalar twin on every CPU.
      kernels::adamw_step(param.data(), g.data(), s.m.data(), s.v.data(), param.numel(), lr,
                          beta1, beta2, eps, wd, s.steps);
    }
  }
}

namespace {

std::string slot_name(size_t group, size_t index, const char* what) {
  return std::to_string(group) + "." + std::to_string(index) + "." + what;
}

// The tensor named `name` in `state`, checked against `shape`, or undefined.
Tensor find_state(const NamedTensors& state, const std::string& name, const Shape& shape) {
  for (const auto& [n, t] : state)
    if (n == name) {
      CF_CHECK(t.shape() == shape, "optimizer: state " << name << " has shape "
                                                       << shape_str(t.shape()) << ", the parameter "
                                                       << shape_str(shape));
      return t.clone();
    }
  return Tensor();
}

// Every name in `state` must belong to a slot of `groups`.
void check_known(const NamedTensors& state, const std::vector<ParamGroup>& groups,
                 const std::vector<const char*>& whats) {
  for (const auto& [name, t] : state) {
    bool known = false;
    for (size_t gi = 0; gi < groups.size() && !known; ++gi)
      for (size_t pi = 0; pi < groups[gi].params.size() && !known; ++pi)
        for (const char* what : whats) known = known || name == slot_name(gi, pi, what);
    CF_CHECK(known, "optimizer: state " << name << " matches no parameter (a checkpoint of "
                                              "another model or optimizer?)");
  }
}

}  // namespace

NamedTensors SGD::state_dict() const {
  NamedTensors state;
  for (size_t gi = 0; gi < buffers_.size(); ++gi)
    for (size_t pi = 0; pi < buffers_[gi].size(); ++pi)
      if (buffers_[gi][pi].defined())
        state.emplace_back(slot_name(gi, pi, "momentum_buffer"), buffers_[gi][pi]);
  return state;
}

void SGD::load_state_dict(const NamedTensors& state) {
  check_known(state, groups_, {"momentum_buffer"});
  for (size_t gi = 0; gi < groups_.size(); ++gi)
    for (size_t pi = 0; pi < groups_[gi].params.size(); ++pi)
      buffers_[gi][pi] = find_state(state, slot_name(gi, pi, "momentum_buffer"),
                                    groups_[gi].params[pi].shape());
}

// The step count is stored as a float tensor: exact up to 2^24 steps.
NamedTensors AdamW::state_dict() const {
  NamedTensors state;
  for (size_t gi = 0; gi < state_.size(); ++gi)
    for (size_t pi = 0; pi < state_[gi].size(); ++pi) {
      const State& s = state_[gi][pi];
      if (!s.m.defined()) continue;
      state.emplace_back(slot_name(gi, pi, "exp_avg"), s.m);
      state.emplace_back(slot_name(gi, pi, "exp_avg_sq"), s.v);
      state.emplace_back(slot_name(gi, pi, "step"), Tensor::scalar(float(s.steps)));
    }
  return state;
}

void AdamW::load_state_dict(const NamedTensors& state) {
  check_known(state, groups_, {"exp_avg", "exp_avg_sq", "step"});
  for (size_t gi = 0; gi < groups_.size(); ++gi)
    for (size_t pi = 0; pi < groups_[gi].params.size(); ++pi) {
      const Shape& shape = groups_[gi].params[pi].shape();
      State& s = state_[gi][pi];
      s.m = find_state(state, slot_name(gi, pi, "exp_avg"), shape);
      s.v = find_state(state, slot_name(gi, pi, "exp_avg_sq"), shape);
      Tensor steps = find_state(state, slot_name(gi, pi, "step"), {});
      CF_CHECK(s.m.defined() == s.v.defined() && s.m.defined() == steps.defined(),
               "optimizer: state of parameter " << gi << "." << pi << " is incomplete");
      s.steps = steps.defined() ? int64_t(steps.item()) : 0;
    }
}

Adam::Adam(std::vector<ParamGroup> groups, float lr, float beta1, float beta2, float eps)
    : AdamW(std::move(groups), lr, beta1, beta2, eps) {
  decoupled_ = false;
}

}  // namespace cf
