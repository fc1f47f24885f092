#include "autograd/tensor.h"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <iomanip>
#include <ostream>
#include <sstream>

#include "autograd/buffer_pool.h"
#include "autograd/error.h"
#include "autograd/graph.h"
#include "autograd/random.h"

#if defined(__unix__) || defined(__APPLE__)
#include <unistd.h>
#endif

namespace cf {

// A zero size makes the product 0 whatever the others are, even when their
// own product would overflow.
int64_t numel(const Shape& shape) {
  if (std::find(shape.begin(), shape.end(), 0) != shape.end()) return 0;
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

int64_t checked_numel(const Shape& shape) {
  for (int64_t d : shape)
    if (d < 0) return -1;
  if (std::find(shape.begin(), shape.end(), 0) != shape.end()) return 0;
  int64_t n = 1;
  for (int64_t d : shape) {
    if (n > INT64_MAX / d) return -1;
    n *= d;
  }
  return n;
}

int64_t physical_memory_bytes() {
#if defined(_SC_PHYS_PAGES) && defined(_SC_PAGESIZE)
  const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
  if (pages > 0 && page > 0 && int64_t(pages) <= INT64_MAX / page) return int64_t(pages) * page;
#endif
  return 0;
}

bool fits_in_memory(int64_t bytes) {
  static const int64_t memory = physical_memory_bytes();
  return memory == 0 || bytes <= memory;
}

void check_fits_in_memory(int64_t bytes, const std::string& what) {
  constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;
  CF_CHECK(fits_in_memory(bytes),
           what << " needs " << bytes << " bytes (" << std::fixed << std::setprecision(1)
                << double(bytes) / kGiB << " GiB), more than the "
                << double(physical_memory_bytes()) / kGiB << " GiB of physical memory");
}

std::string shape_str(const Shape& shape) {
  std::ostringstream os;
  os << '[';
  for (size_t i = 0; i < shape.size(); ++i) os << (i ? ", " : "") << shape[i];
  os << ']';
  return os.str();
}

namespace {

// Sizes are checked before anything is allocated, so a bad shape is reported
// with the shape rather than as std::bad_alloc.
void check_shape(const Shape& shape, const char* who) {
  for (int64_t d : shape)
    CF_CHECK(d >= 0, who << ": negative size in shape " << shape_str(shape));
  const int64_t n = checked_numel(shape);
  if (n < 0 || n > INT64_MAX / int64_t(sizeof(float))) {
    double bytes = double(sizeof(float));
    for (int64_t d : shape) bytes *= double(d);
    CF_CHECK(false, who << ": shape " << shape_str(shape) << " needs " << bytes
                        << " bytes, more than a 64-bit size can count");
  }
  // Every op's output passes here: build the message only for a shape too
  // large (building it each time was nearly half of a tiny op's cost).
  const int64_t bytes = n * int64_t(sizeof(float));
  if (!fits_in_memory(bytes))
    check_fits_in_memory(bytes, std::string(who) + ": shape " + shape_str(shape));
}

}  // namespace

Tensor Tensor::empty(const Shape& shape) {
  check_shape(shape, "Tensor::empty");
  auto impl = std::make_shared<TensorImpl>();
  impl->shape = shape;
  // 64-byte aligned, so that every row a kernel touches starts on a cache
  // line when its length is a multiple of 16 floats; not initialised, as
  // ops that write every element (most) would only pay for a memset they
  // overwrite; from the buffer pool (autograd/buffer_pool.h).
  impl->storage = pooled_buffer(cf::numel(shape));
  return Tensor(std::move(impl));
}

Tensor Tensor::zeros(const Shape& shape) { return full(shape, 0.0f); }
Tensor Tensor::ones(const Shape& shape) { return full(shape, 1.0f); }

Tensor Tensor::full(const Shape& shape, float value) {
  Tensor t = empty(shape);
  float* p = t.data();
  for (int64_t i = 0, n = t.numel(); i < n; ++i) p[i] = value;
  return t;
}

Tensor Tensor::arange(int64_t n) {
  CF_CHECK(n >= 0, "Tensor::arange: negative length " << n);
  Tensor t = empty({n});
  for (int64_t i = 0; i < n; ++i) t.data()[i] = float(i);
  return t;
}

Tensor Tensor::from(const std::vector<float>& values, const Shape& shape) {
  check_shape(shape, "Tensor::from");
  CF_CHECK(int64_t(values.size()) == cf::numel(shape),
           "Tensor::from: " << values.size() << " values do not fill shape "
                            << shape_str(shape) << " (" << cf::numel(shape)
                            << " elements)");
  Tensor t = empty(shape);
  std::copy(values.begin(), values.end(), t.data());
  return t;
}

Tensor Tensor::scalar(float value) { return full({}, value); }

Tensor Tensor::randn(const Shape& shape, uint64_t seed, float mean, float std) {
  Tensor t = empty(shape);
  Rng rng(seed, stream_id("randn"));
  for (int64_t i = 0, n = t.numel(); i < n; ++i)
    t.data()[i] = mean + std * rng.normal(uint64_t(i));
  return t;
}

Tensor Tensor::rand(const Shape& shape, uint64_t seed, float low, float high) {
  Tensor t = empty(shape);
  Rng rng(seed, stream_id("rand"));
  for (int64_t i = 0, n = t.numel(); i < n; ++i)
    t.data()[i] = low + (high - low) * rng.uniform(uint64_t(i));
  return t;
}

Tensor Tensor::trunc_normal(const Shape& shape, uint64_t seed, float std,
                            float mean) {
  Tensor t = empty(shape);
  Rng rng(seed, stream_id("trunc_normal"));
  for (int64_t i = 0, n = t.numel(); i < n; ++i)
    t.data()[i] = mean + std * rng.truncated_normal(uint64_t(i), 2.0f);
  return t;
}

const Shape& Tensor::shape() const {
  CF_CHECK(impl_, "Tensor::shape: the tensor is undefined");
  return impl_->shape;
}

int64_t Tensor::size(int64_t axis) const {
  int64_t r = dim();
  CF_CHECK(axis >= -r && axis < r, "Tensor::size: axis " << axis
                                       << " out of range for shape "
                                       << shape_str(shape()));
  return shape()[size_t(axis < 0 ? axis + r : axis)];
}

int64_t Tensor::numel() const { return cf::numel(shape()); }

float* Tensor::data() {
  CF_CHECK(impl_, "Tensor::data: the tensor is undefined");
  return impl_->storage.get();
}

const float* Tensor::data() const {
  CF_CHECK(impl_, "Tensor::data: the tensor is undefined");
  return impl_->storage.get();
}

namespace {
int64_t flat_index(const Shape& shape, const std::vector<int64_t>& index) {
  CF_CHECK(index.size() == shape.size(),
           "Tensor::at: " << index.size() << " indices for shape "
                          << shape_str(shape));
  int64_t flat = 0;
  for (size_t i = 0; i < shape.size(); ++i) {
    CF_CHECK(index[i] >= 0 && index[i] < shape[i],
             "Tensor::at: index " << index[i] << " out of range on axis " << i
                                  << " of shape " << shape_str(shape));
    flat = flat * shape[i] + index[i];
  }
  return flat;
}
}  // namespace

float Tensor::at(const std::vector<int64_t>& index) const {
  return data()[flat_index(shape(), index)];
}

void Tensor::set(const std::vector<int64_t>& index, float value) {
  data()[flat_index(shape(), index)] = value;
}

float Tensor::item() const {
  CF_CHECK(numel() == 1, "Tensor::item: the tensor has shape "
                             << shape_str(shape()) << ", not one element");
  return data()[0];
}

std::vector<float> Tensor::to_vector() const {
  return std::vector<float>(data(), data() + numel());
}

bool Tensor::requires_grad() const {
  return impl_ && impl_->autograd && impl_->autograd->requires_grad;
}

Tensor& Tensor::requires_grad_(bool on) {
  CF_CHECK(impl_, "requires_grad_: the tensor is undefined");
  CF_CHECK(is_leaf(), "requires_grad_: only leaf tensors can change "
                      "requires_grad; detach() this one first");
  if (!impl_->autograd) {
    if (!on) return *this;
    impl_->autograd = std::make_shared<AutogradMeta>();
    impl_->autograd->shape = impl_->shape;
  }
  impl_->autograd->requires_grad = on;
  return *this;
}

Tensor Tensor::grad() const {
  return impl_ && impl_->autograd && impl_->autograd->grad ? Tensor(impl_->autograd->grad) : Tensor();
}

void Tensor::zero_grad() {
  if (impl_ && impl_->autograd) impl_->autograd->grad.reset();
}

bool Tensor::is_leaf() const { return !impl_ || !impl_->autograd || !impl_->autograd->grad_fn; }

const std::shared_ptr<Node>& Tensor::grad_fn() const {
  static const std::shared_ptr<Node> none;
  return impl_ && impl_->autograd ? impl_->autograd->grad_fn : none;
}

Tensor Tensor::detach() const {
  CF_CHECK(impl_, "detach: the tensor is undefined");
  auto impl = std::make_shared<TensorImpl>();
  impl->shape = impl_->shape;
  impl->storage = impl_->storage;
  return Tensor(std::move(impl));
}

Tensor Tensor::clone() const {
  Tensor t = empty(shape());
  std::memcpy(t.data(), data(), size_t(numel()) * sizeof(float));
  return t;
}

namespace {
// NumPy-style: at most `edge` items at each end of a long axis.
void print_axis(std::ostream& os, const float* p, const Shape& shape, size_t axis,
                int64_t stride, int indent) {
  const int64_t n = shape[axis], edge = 3;
  const bool elide = n > 2 * edge + 1;
  os << '[';
  for (int64_t i = 0; i < n; ++i) {
    if (elide && i == edge) {
      os << (axis + 1 == shape.size() ? "..., " : "...,\n" + std::string(size_t(indent + 1), ' '));
      i = n - edge - 1;
      continue;
    }
    if (axis + 1 == shape.size()) {
      os << std::setw(10) << std::setprecision(4) << p[i];
    } else {
      int64_t inner = stride / n;
      print_axis(os, p + i * inner, shape, axis + 1, inner, indent + 1);
    }
    if (i + 1 < n)
      os << (axis + 1 == shape.size() ? "," : ",\n" + std::string(size_t(indent + 1), ' '));
  }
  os << ']';
}
}  // namespace

std::ostream& operator<<(std::ostream& os, const Tensor& t) {
  if (!t.defined()) return os << "Tensor(undefined)";
  os << "Tensor" << shape_str(t.shape());
  if (t.requires_grad()) os << " requires_grad";
  os << '\n';
  if (t.dim() == 0) return os << t.data()[0];
  if (t.numel() == 0) return os << "[]";
  std::ios_base::fmtflags flags = os.flags();
  os << std::fixed;
  print_axis(os, t.data(), t.shape(), 0, t.numel(), 0);
  os.flags(flags);
  return os;
}

std::string to_string(const Tensor& t) {
  std::ostringstream os;
  os << t;
  return os.str();
}

}  // namespace cf
