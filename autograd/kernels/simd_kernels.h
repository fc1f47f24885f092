// Internal: the per-instruction-set bodies behind rowops.h, vecmath.h and
// transpose.h, and the path and chunking helpers the public kernels
// (gemm.cpp too) share.
// The public functions (rowops.cpp, vecmath.cpp) pick one by simd_path() and
// run it over chunks on the thread pool. The AVX2 and AVX-512 instances exist
// only in builds that compile *_avx2.cpp (CF_HAVE_AVX2) and *_avx512.cpp
// (CF_HAVE_AVX512).
#pragma once
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <new>
#include <stdexcept>
#include <string>
#include <utility>

#include "autograd/kernels/cpu.h"
#include "autograd/kernels/pool.h"
#include "autograd/kernels/threads.h"

namespace cf::kernels::detail {

// True when the AVX2 bodies should run: on the AVX2 path, and on the
// AVX-512 path for the kernels that have no AVX-512 body.
inline bool avx2_active() {
#ifdef CF_HAVE_AVX2
  return simd_path() == SimdPath::Avx2 || simd_path() == SimdPath::Avx512;
#else
  return false;
#endif
}

// True when the AVX-512 bodies of the row and elementwise kernels should run
// (not the block sum's; the SGEMM's tile follows gemm_tile_path, gemm.h).
inline bool avx512_active() {
#ifdef CF_HAVE_AVX512
  return simd_path() == SimdPath::Avx512;
#else
  return false;
#endif
}

// How finely the elementwise and row kernels are cut into parallel chunks:
// about this many floats per chunk, so a chunk is worth a thread's wake-up.
// The boundaries depend on the sizes only (threads.h), never on the threads.
constexpr int64_t kChunkFloats = int64_t(1) << 14;

// The public function's body for the active path: the AVX2 one, or the
// scalar one in builds without AVX2 (where the AVX2 name does not exist).
#ifdef CF_HAVE_AVX2
#define CF_AVX2_OR(scalar, avx2) (::cf::kernels::detail::avx2_active() ? (avx2) : (scalar))
#else
#define CF_AVX2_OR(scalar, avx2) (scalar)
#endif

// The same for a kernel template of rowops_simd.h or vecmath_simd.h (declared
// below): its AVX-512 or AVX2 instance, else the scalar twin.
#if defined(CF_HAVE_AVX512) && defined(CF_HAVE_AVX2)
#define CF_SIMD_OR(scalar, kernel)                                 \
  (::cf::kernels::detail::avx512_active() ? &kernel<::cf::kernels::detail::Avx512> \
   : ::cf::kernels::detail::avx2_active() ? &kernel<::cf::kernels::detail::Avx2>   \
                                          : (scalar))
#elif defined(CF_HAVE_AVX2)
#define CF_SIMD_OR(scalar, kernel) \
  (::cf::kernels::detail::avx2_active() ? &kernel<::cf::kernels::detail::Avx2> : (scalar))
#else
#define CF_SIMD_OR(scalar, kernel) (scalar)
#endif

// A public kernel's required data pointers, by name: a null one, while there
// are elements to read or write, throws std::invalid_argument naming the
// kernel and the argument (on a worker thread it would be a crash).
inline void check_not_null(const char* fn, int64_t elements,
                           std::initializer_list<std::pair<const char*, const void*>> pointers) {
  if (elements <= 0) return;
  for (const auto& [name, p] : pointers)
    if (p == nullptr)
      throw std::invalid_argument(std::string(fn) + ": " + name + " is null, with " +
                                  std::to_string(elements) + " elements to read or write");
}

// Whether a[0, a_floats) and b[0, b_floats) share memory (an empty span
// shares none): the kernels that would read what they have overwritten
// refuse such arguments.
inline bool overlaps(const float* a, int64_t a_floats, const float* b, int64_t b_floats) {
  if (a == nullptr || b == nullptr || a_floats <= 0 || b_floats <= 0) return false;
  const auto start = [](const float* p) { return reinterpret_cast<uintptr_t>(p); };
  return start(a) < start(b) + uintptr_t(b_floats) * sizeof(float) &&
         start(b) < start(a) + uintptr_t(a_floats) * sizeof(float);
}

// fn(begin, end) over chunks of [0, n) elements.
template <class F>
void parallel_elements(int64_t n, F&& fn) {
  parallel_for(n, kChunkFloats, fn);
}

// Rows per chunk for rows of `cols` floats.
inline int64_t row_grain(int64_t cols) {
  return std::max<int64_t>(1, kChunkFloats / std::max<int64_t>(1, cols));
}

// fn(first_row, end_row) over chunks of whole rows.
template <class F>
void parallel_rows(int64_t rows, int64_t cols, F&& fn) {
  parallel_for(rows, row_grain(cols), fn);
}

// A 64-byte aligned scratch buffer that only grows: kept per thread
// (thread_local), it lets a kernel that needs scratch space (GEMM packing,
// layer norm's partial sums) allocate once per thread rather than per call.
// get() does not keep the contents when it grows.
class ScratchBuffer {
 public:
  ScratchBuffer() = default;
  ScratchBuffer(const ScratchBuffer&) = delete;
  ScratchBuffer& operator=(const ScratchBuffer&) = delete;
  ~ScratchBuffer() { release(); }
  float* get(size_t floats) {
    if (floats > capacity_) {
      release();
      data_ = static_cast<float*>(::operator new(floats * sizeof(float), std::align_val_t(64)));
      capacity_ = floats;
    }
    return data_;
  }

 private:
  void release() {
    if (data_) ::operator delete(data_, std::align_val_t(64));
    data_ = nullptr;
    capacity_ = 0;
  }
  float* data_ = nullptr;
  size_t capacity_ = 0;
};

// Helpers of vecmath.h whose scalar form is also the `_scalar` twin's core.
// Sum of one block (n <= kSumBlock) in the order vecmath.h documents.
float sum_block_scalar(const float* x, int64_t n);
// Adam's bias correction 1 - beta^step, computed once per step in double.
inline float bias_correction(float beta, int64_t step) {
  return 1.0f - float(std::pow(double(beta), double(step)));
}
// AdamW on n elements, bias corrections bc1 = 1 - beta1^step and
// bc2 = 1 - beta2^step precomputed (so every path uses the same values).
void adamw_scalar(float* p, const float* g, float* m, float* v, int64_t n, float lr,
                  float beta1, float beta2, float eps, float weight_decay, float bc1, float bc2);

// The instruction sets of the SIMD bodies (simd_avx2.h, simd_avx512.h), and
// the kernel templates that rowops_simd.h, vecmath_simd.h and pool_simd.h define and the
// *_avx2.cpp / *_avx512.cpp files instantiate.
struct Avx2;
struct Avx512;
namespace simd {
template <class S>
void softmax_forward(const float* x, float* y, int64_t rows, int64_t cols);
template <class S>
void softmax_backward(const float* y, const float* dy, float* dx, int64_t rows, int64_t cols);
template <class S>
void log_softmax_forward(const float* x, float* y, int64_t rows, int64_t cols);
template <class S>
void log_softmax_backward(const float* y, const float* dy, float* dx, int64_t rows,
                          int64_t cols);
template <class S>
void layernorm_forward(const float* x, const float* w, const float* b, float* y, float* mean,
                       float* rstd, int64_t rows, int64_t cols, float eps, int64_t affine_step);
template <class S>
void layernorm_backward(const float* x, const float* w, const float* mean, const float* rstd,
                        const float* dy, float* dx, float* dw, float* db, int64_t rows,
                        int64_t cols);
template <class S>
void gelu_forward(const float* x, float* y, int64_t n);
template <class S>
void gelu_backward(const float* x, const float* dy, float* dx, int64_t n);
template <class S>
void vec_exp(const float* x, float* y, int64_t n);
template <class S>
void vec_log(const float* x, float* y, int64_t n);
template <class S>
void vec_tanh(const float* x, float* y, int64_t n);
template <class S>
void vec_sigmoid(const float* x, float* y, int64_t n);
template <class S>
void vec_erf(const float* x, float* y, int64_t n);
template <class S>
void add_row(const float* x, const float* row, float* y, int64_t rows, int64_t cols);
template <class S>
void mul_row(const float* x, const float* row, float* y, int64_t rows, int64_t cols);
template <class S>
void adamw(float* p, const float* g, float* m, float* v, int64_t n, float lr, float beta1,
           float beta2, float eps, float weight_decay, float bc1, float bc2);
template <class S>
void max_pool(const float* x, int64_t planes, const PoolWindow& g, float* y, int32_t* arg);
}  // namespace simd

#ifdef CF_HAVE_AVX2
float sum_block_avx2(const float* x, int64_t n);
// The transpose's AVX2 body (transpose.h).
void transpose_avx2(const float* src, int64_t lds, float* dst, int64_t ldd, int64_t rows,
                    int64_t cols);
#endif

}  // namespace cf::kernels::detail
