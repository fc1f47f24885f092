#include "nn/module.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <iomanip>
#include <map>
#include <sstream>

#include "autograd/error.h"
#include "autograd/graph.h"
#include "autograd/random.h"
#include "nn/config.h"

namespace cf {

Init Init::kaiming_normal(int64_t fan_in) {
  CF_CHECK(fan_in > 0, "Init::kaiming_normal: fan_in " << fan_in << " must be positive");
  return normal(std::sqrt(2.0f / float(fan_in)));
}

void initialise(Tensor& t, Init init, uint64_t seed, const std::string& name) {
  Rng rng(seed, stream_id(name.c_str()));
  float* p = t.data();
  for (int64_t i = 0, n = t.numel(); i < n; ++i) {
    switch (init.kind) {
      case Init::Kind::Constant: p[i] = init.value; break;
      case Init::Kind::Normal: p[i] = init.value * rng.normal(uint64_t(i)); break;
      case Init::Kind::TruncNormal:
        p[i] = init.value * rng.truncated_normal(uint64_t(i), 2.0f);
        break;
    }
  }
}

template <class F>
void Module::visit(const std::string& prefix, F&& f) {
  f(prefix, *this);
  for (auto& [name, child] : children_) child->visit(prefix + name + ".", f);
}

template <class F>
void Module::visit(const std::string& prefix, F&& f) const {
  f(prefix, *this);
  for (const auto& [name, child] : children_)
    static_cast<const Module*>(child)->visit(prefix + name + ".", f);
}

void Module::register_parameter(const std::string& name, Tensor* slot, const Shape& shape,
                                Init init, Decay decay) {
  *slot = Tensor::empty(shape);
  initialise(*slot, init, 0, name);
  slot->requires_grad_();
  parameters_.push_back({name, slot, init, decay == Decay::by_shape && shape.size() >= 2});
}

void Module::register_buffer(const std::string& name, Tensor* slot, Tensor value,
                             bool persistent) {
  *slot = std::move(value);
  buffers_.push_back({name, slot, persistent});
}

void Module::register_module(const std::string& name, Module& child) {
  children_.emplace_back(name, &child);
  child.set_random_key(mix64(random_key_ ^ stream_id(name.c_str())));
}

void Module::set_random_key(uint64_t key) {
  random_key_ = key;
  for (auto& [name, child] : children_)
    child->set_random_key(mix64(key ^ stream_id(name.c_str())));
}

NamedTensors Module::named_parameters() const {
  NamedTensors out;
  visit("", [&](const std::string& prefix, const Module& m) {
    for (const ParameterSlot& p : m.parameters_) out.emplace_back(prefix + p.name, *p.tensor);
  });
  return out;
}

std::vector<std::string> Module::no_weight_decay() const {
  std::vector<std::string> out;
  visit("", [&](const std::string& prefix, const Module& m) {
    for (const ParameterSlot& p : m.parameters_)
      if (!p.decayed) out.push_back(prefix + p.name);
  });
  return out;
}

std::vector<Tensor> Module::parameters() const {
  std::vector<Tensor> out;
  for (auto& [name, t] : named_parameters()) out.push_back(t);
  return out;
}

NamedTensors Module::named_buffers() const {
  NamedTensors out;
  visit("", [&](const std::string& prefix, const Module& m) {
    for (const BufferSlot& b : m.buffers_)
      if (b.persistent) out.emplace_back(prefix + b.name, *b.tensor);
  });
  return out;
}

NamedTensors Module::state_dict() const {
  NamedTensors out;
  visit("", [&](const std::string& prefix, const Module& m) {
    for (const ParameterSlot& p : m.parameters_) out.emplace_back(prefix + p.name, *p.tensor);
    for (const BufferSlot& b : m.buffers_)
      if (b.persistent) out.emplace_back(prefix + b.name, *b.tensor);
  });
  return out;
}

void Module::load_state_dict(const NamedTensors& state) {
  NamedTensors own = state_dict();
  std::map<std::string, Tensor> given(state.begin(), state.end());
  std::vector<std::string> missing, unexpected, mismatched;
  for (const auto& [name, t] : own) {
    auto it = given.find(name);
    if (it == given.end())
      missing.push_back(name);
    else if (!it->second.defined() || it->second.shape() != t.shape())
      mismatched.push_back(name + ": given " +
                           (it->second.defined() ? shape_str(it->second.shape()) : "undefined") +
                           ", model " + shape_str(t.shape()));
  }
  for (const auto& entry : state)  // (a lambda may not capture a structured binding in C++17)
    if (std::none_of(own.begin(), own.end(), [&](const auto& o) { return o.first == entry.first; }))
      unexpected.push_back(entry.first);

  if (!missing.empty() || !unexpected.empty() || !mismatched.empty()) {
    std::ostringstream os;
    os << "load_state_dict: the state does not match the model";
    auto list = [&](const char* what, const std::vector<std::string>& names) {
      if (names.empty()) return;
      os << "; " << what << " (" << names.size() << "): ";
      for (size_t i = 0; i < names.size(); ++i) os << (i ? ", " : "") << names[i];
    };
    list("missing", missing);
    list("unexpected", unexpected);
    list("shape mismatch", mismatched);
    throw Error(os.str());
  }
  for (auto& [name, t] : own) {
    const Tensor& src = given.at(name);
    std::memcpy(t.data(), src.data(), size_t(t.numel()) * sizeof(float));
  }
}

Tensor& Module::parameter(const std::string& name) {
  Tensor* found = nullptr;
  std::vector<std::string> names;
  visit("", [&](const std::string& prefix, Module& m) {
    for (ParameterSlot& p : m.parameters_) {
      names.push_back(prefix + p.name);
      if (names.back() == name) found = p.tensor;
    }
  });
  if (!found) {
    std::string hint = closest_match(name, names);
    CF_CHECK(false, "Module::parameter: no parameter \""
                        << name << "\"" << (hint.empty() ? "" : " (did you mean \"" + hint + "\"?)"));
  }
  return *found;
}

int64_t Module::num_parameters() const {
  int64_t n = 0;
  for (const auto& [name, t] : named_parameters()) n += t.numel();
  return n;
}

void Module::zero_grad() {
  for (Tensor& t : parameters()) t.zero_grad();
}

void Module::apply(const std::function<void(Module&)>& fn) {
  visit("", [&](const std::string&, Module& m) { fn(m); });
}

void Module::train(bool on) {
  visit("", [&](const std::string&, Module& m) { m.training_ = on; });
}

void Module::init_parameters(uint64_t seed) {
  NoGradGuard guard;
  visit("", [&](const std::string& prefix, Module& m) {
    for (ParameterSlot& p : m.parameters_) initialise(*p.tensor, p.init, seed, prefix + p.name);
  });
  set_random_key(mix64(seed));
}

void Module::set_step(uint64_t step) {
  visit("", [&](const std::string&, Module& m) {
    m.step_ = step;
    m.calls_ = 0;
  });
}

uint64_t Module::next_random_seed() {
  return mix64(random_key_ ^ mix64(step_ ^ mix64(calls_++ + 0x5EED)));
}

std::string Module::summary() const {
  NamedTensors params = named_parameters();
  size_t name_width = 4, shape_width = 5;
  for (const auto& [name, t] : params) {
    name_width = std::max(name_width, name.size());
    shape_width = std::max(shape_width, shape_str(t.shape()).size());
  }
  auto with_commas = [](int64_t n) {
    std::string s = std::to_string(n);
    for (int i = int(s.size()) - 3; i > 0; i -= 3) s.insert(size_t(i), ",");
    return s;
  };
  const int count_width = 12;
  std::ostringstream os;
  os << std::left << std::setw(int(name_width)) << "name" << "  " << std::setw(int(shape_width))
     << "shape" << "  " << std::right << std::setw(count_width) << "parameters" << "\n";
  os << std::string(name_width + shape_width + count_width + 4, '-') << "\n";
  int64_t total = 0;
  for (const auto& [name, t] : params) {
    total += t.numel();
    os << std::left << std::setw(int(name_width)) << name << "  " << std::setw(int(shape_width))
       << shape_str(t.shape()) << "  " << std::right << std::setw(count_width)
       << with_commas(t.numel()) << "\n";
  }
  os << std::string(name_width + shape_width + count_width + 4, '-') << "\n";
  os << "total: " << with_commas(total) << " parameters in " << params.size() << " tensors ("
     << std::fixed << std::setprecision(2) << double(total) / 1e6 << " M)\n";
  return os.str();
}

}  // namespace cf
