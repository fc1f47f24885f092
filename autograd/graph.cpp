#include "autograd/graph.h"

#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <unordered_map>
#include <unordered_set>

#include "autograd/error.h"
#include "autograd/ops.h"

namespace cf {

namespace {
thread_local bool g_grad_enabled = true;

bool finite_from_environment() {
  const char* v = std::getenv("CF_CHECK_FINITE");
  return v && std::strcmp(v, "") != 0 && std::strcmp(v, "0") != 0;
}
std::atomic<bool> g_check_finite{finite_from_environment()};

// The index of the first NaN or infinity in `t`, or -1.
int64_t first_non_finite(const Tensor& t) {
  const float* p = t.data();
  for (int64_t i = 0; i < t.numel(); ++i)
    if (!std::isfinite(p[i])) return i;
  return -1;
}

// "inf at element 3 of <what> of shape [2, 3]" when `t` holds a non-finite value.
bool describe_non_finite(const Tensor& t, const std::string& what, std::ostringstream& msg) {
  const int64_t i = t.defined() ? first_non_finite(t) : -1;
  if (i < 0) return false;
  msg << t.data()[i] << " at element " << i << " of " << what << " of shape " << shape_str(t.shape());
  return true;
}

// Says whether the tensors `op` computed from were finite: if not, the
// non-finite value came from outside the checked ops (data, a parameter).
void describe_sources(const std::vector<Tensor>& sources, const char* noun, std::ostringstream& msg) {
  for (size_t k = 0; k < sources.size(); ++k) {
    std::ostringstream found;
    if (describe_non_finite(sources[k], std::string(noun) + " " + std::to_string(k), found)) {
      msg << "; it already had " << found.str();
      return;
    }
  }
  msg << "; its " << noun << "s were finite";
}

}  // namespace

bool grad_enabled() { return g_grad_enabled; }
void set_grad_enabled(bool on) { g_grad_enabled = on; }
bool check_finite() { return g_check_finite.load(std::memory_order_relaxed); }
void set_check_finite(bool on) { g_check_finite.store(on, std::memory_order_relaxed); }

bool needs_grad(std::initializer_list<const Tensor*> inputs) {
  if (!g_grad_enabled) return false;
  for (const Tensor* t : inputs)
    if (t->defined() && t->requires_grad()) return true;
  return false;
}

bool needs_grad(const std::vector<Tensor>& inputs) {
  if (!g_grad_enabled) return false;
  for (const Tensor& t : inputs)
    if (t.defined() && t.requires_grad()) return true;
  return false;
}

Tensor record(const char* op, Tensor out, std::vector<Tensor> inputs,
              BackwardFn backward) {
  if (check_finite()) {
    std::ostringstream msg;
    msg << "check_finite: " << op << " produced ";
    if (describe_non_finite(out, "its output", msg)) {
      describe_sources(inputs, "input", msg);
      throw Error(msg.str());
    }
  }
  if (!needs_grad(inputs)) return out;
  std::vector<std::shared_ptr<AutogradMeta>> edges(inputs.size());
  for (size_t i = 0; i < inputs.size(); ++i)
    if (inputs[i].requires_grad()) edges[i] = inputs[i].impl()->autograd;
  auto meta = std::make_shared<AutogradMeta>();
  meta->shape = out.shape();
  meta->requires_grad = true;
  meta->grad_fn = std::make_shared<Node>(Node{op, std::move(edges), std::move(backward)});
  out.impl()->autograd = std::move(meta);
  return out;
}

namespace {

using MetaPtr = std::shared_ptr<AutogradMeta>;

// Every tensor reachable from `root` through recorded nodes, each after all
// of its inputs (an iterative depth-first search: a chain of 10^5 ops must not
// overflow the stack).
std::vector<MetaPtr> topological_order(const MetaPtr& root) {
  std::vector<MetaPtr> order;
  std::unordered_set<AutogradMeta*> seen{root.get()};
  std::vector<std::pair<MetaPtr, size_t>> stack{{root, 0}};
  while (!stack.empty()) {
    auto& [impl, next] = stack.back();
    const auto& node = impl->grad_fn;
    if (node && next < node->inputs.size()) {
      const MetaPtr& in = node->inputs[next++];
      if (in && in->requires_grad && seen.insert(in.get()).second)
        stack.emplace_back(in, 0);
    } else {
      order.push_back(impl);
      stack.pop_back();
    }
  }
  return order;
}

// The sum of two gradient contributions, as a new tensor: contributions may
// share storage (add's backward hands the same gradient to both inputs), so
// none is ever modified in place.
Tensor accumulate(const Tensor& a, const Tensor& b) {
  NoGradGuard guard;
  return a.defined() ? add(a, b) : b;
}

// Runs `node`'s backward on the gradient `g` of its output and adds what it
// returns to the gradients of its inputs in `grads`.
void propagate(const Node& node, const Tensor& g,
               std::unordered_map<AutogradMeta*, Tensor>& grads) {
  std::vector<Tensor> in_grads = node.backward(g);
  CF_CHECK(in_grads.size() == node.inputs.size(),
           node.op << " backward: returned " << in_grads.size()
                   << " gradients for " << node.inputs.size() << " inputs");
  if (check_finite())
    for (size_t i = 0; i < in_grads.size(); ++i) {
      std::ostringstream msg;
      msg << "check_finite: the backward of " << node.op << " produced ";
      if (describe_non_finite(in_grads[i], "the gradient for input " + std::to_string(i), msg)) {
        describe_sources({g}, "incoming gradient", msg);
        throw Error(msg.str());
      }
    }
  for (size_t i = 0; i < in_grads.size(); ++i) {
    const MetaPtr& in = node.inputs[i];
    if (!in || !in->requires_grad || !in_grads[i].defined()) continue;
    CF_CHECK(in_grads[i].shape() == in->shape,
             node.op << " backward: gradient of shape "
                     << shape_str(in_grads[i].shape()) << " for input " << i
                     << " of shape " << shape_str(in->shape));
    Tensor& slot = grads[in.get()];
    slot = accumulate(slot, in_grads[i]);
  }
}

}  // namespace

void Tensor::backward(const Tensor& grad_output) const {
  CF_CHECK(defined(), "backward: called on an undefined tensor");
  CF_CHECK(requires_grad(),
           "backward: the tensor of shape " << shape_str(shape())
               << " does not require grad (no input requires grad, it was "
                  "computed under a no-grad guard, or a previous backward "
                  "already released its graph)");
  Tensor seed = grad_output;
  if (!seed.defined()) {
    CF_CHECK(numel() == 1, "backward: the output has shape "
                               << shape_str(shape())
                               << "; give a gradient of that shape, or call "
                                  "backward on a scalar (e.g. its sum)");
    seed = Tensor::ones(shape());
  }
  CF_CHECK(seed.shape() == shape(), "backward: gradient of shape "
                                        << shape_str(seed.shape())
                                        << " for an output of shape "
                                        << shape_str(shape()));

  NoGradGuard guard;
  std::vector<MetaPtr> order = topological_order(impl()->autograd);
  std::unordered_map<AutogradMeta*, Tensor> grads{{impl()->autograd.get(), seed.detach()}};
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    const MetaPtr t = std::move(*it);  // the tape lets go of t at the end of this turn
    auto found = grads.find(t.get());
    if (found != grads.end()) {  // else no path to the output
      Tensor g = std::move(found->second);
      grads.erase(found);
      if (t->grad_fn)
        propagate(*t->grad_fn, g, grads);
      else  // a leaf: accumulate into .grad, owning its buffer
        t->grad = (t->grad ? accumulate(Tensor(t->grad), g) : g.clone()).impl();
    }
    // Release t's node as soon as its backward has run: the node holds its
    // inputs and saved activations, which are freed now (unless the user
    // holds them) rather than at the end, so backward's gradients reuse
    // their memory. Reverse topological order releases every consumer
    // before its producers, so no destruction recurses down a long chain.
    // The released tensor stops requiring grad: a second backward through
    // it fails with a message instead of silently computing nothing.
    if (t->grad_fn) {
      t->grad_fn.reset();
      t->requires_grad = false;
    }
  }
}

}  // namespace cf
