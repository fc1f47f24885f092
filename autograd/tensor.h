// Tensor: a shape and a shared, 64-byte-aligned float32 buffer, contiguous and
// row-major (DESIGN.md: no general strides). Copying a Tensor copies a handle;
// both copies see the same data, gradient and history, as in PyTorch.
//
// A tensor that requires grad is a leaf the user owns (a parameter); a tensor
// produced by an op while grad mode is on remembers the op (its Node) so that
// backward() can walk the recorded graph. See autograd/graph.h.
#pragma once
#include <cstdint>
#include <initializer_list>
#include <iosfwd>
#include <memory>
#include <string>
#include <vector>

namespace cf {

using Shape = std::vector<int64_t>;

int64_t numel(const Shape& shape);
std::string shape_str(const Shape& shape);  // "[2, 3, 4]"
// numel for a shape that comes from outside (a file, a user): -1 when a size
// is negative or the product does not fit in int64.
int64_t checked_numel(const Shape& shape);

// This machine's physical memory in bytes (sysconf on POSIX); 0 where the
// platform does not say, and then no allocation is refused for its size.
int64_t physical_memory_bytes();
// Whether `bytes` are at most physical memory (always, where it is unknown).
bool fits_in_memory(int64_t bytes);
// Throws cf::Error "<what> needs N bytes (G GiB), more than the M GiB of
// physical memory" when `bytes` is more than physical memory: such a request
// could only end in std::bad_alloc or the out-of-memory killer, far from the
// shape or file that caused it.
void check_fits_in_memory(int64_t bytes, const std::string& what);

struct AutogradMeta;
struct Node;
struct TensorImpl;

class Tensor {
 public:
  Tensor() = default;  // an undefined tensor; defined() is false

  // Factories. Every one allocates fresh storage.
  static Tensor empty(const Shape& shape);  // contents uninitialised: write before reading
  static Tensor zeros(const Shape& shape);
  static Tensor ones(const Shape& shape);
  static Tensor full(const Shape& shape, float value);
  static Tensor arange(int64_t n);  // 0, 1, ..., n-1 as a 1-D tensor
  static Tensor from(const std::vector<float>& values, const Shape& shape);
  static Tensor scalar(float value);  // shape []
  // Random tensors from the counter-based generator (autograd/random.h): the
  // same seed gives the same numbers on every platform and thread count.
  static Tensor randn(const Shape& shape, uint64_t seed, float mean = 0.0f,
                      float std = 1.0f);
  static Tensor rand(const Shape& shape, uint64_t seed, float low = 0.0f,
                     float high = 1.0f);
  // Normal of std `std` truncated to [mean - 2 std, mean + 2 std], resampled
  // (ARCHITECTURES.md: trunc_normal(s)).
  static Tensor trunc_normal(const Shape& shape, uint64_t seed, float std,
                             float mean = 0.0f);

  bool defined() const { return impl_ != nullptr; }
  const Shape& shape() const;
  int64_t dim() const { return int64_t(shape().size()); }
  int64_t size(int64_t axis) const;  // negative axes count from the end
  int64_t numel() const;

  float* data();
  const float* data() const;
  // Element access by multi-index, bounds-checked (for tests and printing).
  float at(const std::vector<int64_t>& index) const;
  void set(const std::vector<int64_t>& index, float value);
  float item() const;  // the single value of a one-element tensor
  std::vector<float> to_vector() const;

  // Autograd.
  bool requires_grad() const;
  Tensor& requires_grad_(bool on = true);  // only on leaves
  Tensor grad() const;                     // undefined until backward fills it
  void zero_grad();                        // drops the accumulated gradient
  // Backpropagate from this tensor: a scalar, or any shape when `grad_output`
  // (same shape) is given. Accumulates into .grad of every leaf that requires
  // grad, then releases the recorded graph.
  void backward(const Tensor& grad_output = Tensor()) const;
  bool is_leaf() const;
  const std::shared_ptr<Node>& grad_fn() const;
  // The same data, with no history and requires_grad off.
  Tensor detach() const;
  // A deep copy of the data, with no history.
  Tensor clone() const;

  // Internal: ops use these to build results and their graph nodes.
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}
  const std::shared_ptr<TensorImpl>& impl() const { return impl_; }

 private:
  std::shared_ptr<TensorImpl> impl_;
};

// The graph's side of a tensor that requires grad: all that backward needs
// to route a gradient through it, and no data. The recorded nodes of the ops
// that consumed the tensor hold this rather than the tensor, so an
// activation that no backward function captured is freed when the last
// Tensor handle to it goes, during the forward pass, as in PyTorch.
struct AutogradMeta {
  Shape shape;
  bool requires_grad = false;
  std::shared_ptr<TensorImpl> grad;  // same shape, no history
  std::shared_ptr<Node> grad_fn;     // the op that produced this tensor
};

struct TensorImpl {
  Shape shape;
  std::shared_ptr<float> storage;        // 64-byte aligned, numel(shape) floats
  std::shared_ptr<AutogradMeta> autograd;  // null until it requires grad
};

// Readable printing: shape, then values with nested brackets; long dimensions
// are elided with "..." like NumPy.
std::ostream& operator<<(std::ostream& os, const Tensor& t);
std::string to_string(const Tensor& t);

}  // namespace cf
