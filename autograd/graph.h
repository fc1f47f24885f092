// The tape. Every op run while grad mode is on, on an input that requires
// grad, records a Node on its output: the op's name, its inputs, and a
// function from the output's gradient to the inputs' gradients. The recorded
// nodes, read in reverse order of recording, are the tape that backward()
// plays back (autograd/graph.cpp).
//
// Why the tape hangs off the tensors rather than living in a global list:
// a forward pass that is never differentiated (evaluation without a no-grad
// guard, a metric computed on the side) then frees its records as soon as its
// tensors go, instead of growing a global tape until the process runs out of
// memory; and threads (the data loader) never share one.
#pragma once
#include <functional>
#include <vector>

#include "autograd/tensor.h"

namespace cf {

// Maps the output's gradient to one gradient per input, in input order; an
// undefined Tensor where that input needs none. Gradients of broadcast inputs
// are already reduced to the input's shape.
using BackwardFn = std::function<std::vector<Tensor>(const Tensor& grad_out)>;

struct Node {
  const char* op;  // "matmul": named in error messages
  // The graph side of each input (tensor.h), null where the input needs no
  // gradient. Not the inputs' data: what backward needs of it, `backward`
  // captured when the op recorded it.
  std::vector<std::shared_ptr<AutogradMeta>> inputs;
  BackwardFn backward;
};

bool grad_enabled();
void set_grad_enabled(bool on);

// Turns recording off for its lifetime (evaluation, optimiser updates).
class NoGradGuard {
 public:
  NoGradGuard() : previous_(grad_enabled()) { set_grad_enabled(false); }
  ~NoGradGuard() { set_grad_enabled(previous_); }
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool previous_;
};

// A debugging aid for a loss that turns into NaN: when on, every op checks
// its output, and backward() every gradient it computes, for NaN and
// infinity, and throws an Error naming the first op that produced one and
// whether its inputs were finite. Off by default, since it reads every value
// once more; on when the environment has CF_CHECK_FINITE=1, or through
// set_check_finite (the training key check_finite).
bool check_finite();
void set_check_finite(bool on);

// True when an op on these inputs must be recorded.
bool needs_grad(std::initializer_list<const Tensor*> inputs);
bool needs_grad(const std::vector<Tensor>& inputs);

// Records `out` as produced by `op` from `inputs` when any of them requires
// grad and grad mode is on; otherwise does nothing. Returns `out`. Every op
// ends here, recorded or not, which is where check_finite() looks.
Tensor record(const char* op, Tensor out, std::vector<Tensor> inputs,
              BackwardFn backward);

}  // namespace cf
