// Fused scaled dot-product attention, (A2)-(A4) of ARCHITECTURES.md 2.1:
//   S = scale q k^T,  P = softmax(S) per row,  o = P v
// for every batch entry and head, on the [B, N, heads * width] layout the
// projections produce, so no head is permuted into place and back.
//
// The scores exist only kRows query rows at a time (kRows x M floats per
// thread); the full N x M matrix of a head is never kept. Backward
// recomputes each block's P with the same kernels, so it is bit-identical to
// the forward one, and then, per block:
//   dv += P^T do,  dP = do v^T,  dS = P (dP - rowsum(dP P)),
//   dq = scale dS k,  dk += scale dS^T q.
// One task per (batch entry, key/value head) owns that head's dk and dv and
// runs its query heads and blocks in order, so the sums do not depend on the
// thread count.
#include <vector>

#include "autograd/error.h"
#include "autograd/graph.h"
#include "autograd/kernels/gemm.h"
#include "autograd/kernels/rowops.h"
#include "autograd/kernels/threads.h"
#include "autograd/ops.h"
#include "autograd/ops/check.h"

namespace cf {

namespace {

constexpr int64_t kRows = 64;  // query rows per block of scores

struct Dims {
  int64_t B, N, M, H, G, dk, dv;  // G key/value heads; query head h uses h / (H / G)
};

Dims check_dims(const Tensor& q, const Tensor& k, const Tensor& v, int64_t heads) {
  for (const Tensor* t : {&q, &k, &v}) detail::check_input("attention", *t);
  auto shapes = [&] {
    return shape_str(q.shape()) + ", " + shape_str(k.shape()) + " and " + shape_str(v.shape());
  };
  CF_CHECK(q.dim() == 3 && k.dim() == 3 && v.dim() == 3,
           "attention: q, k, v must be [B, tokens, heads * width], got " << shapes());
  CF_CHECK(heads >= 1 && q.size(2) % heads == 0,
           "attention: q's last axis " << q.size(2) << " is not a multiple of heads " << heads);
  Dims d{q.size(0), q.size(1), k.size(1), heads, 0, q.size(2) / heads, 0};
  CF_CHECK(k.size(0) == d.B && v.size(0) == d.B && v.size(1) == d.M,
           "attention: batch or key counts differ in " << shapes());
  CF_CHECK(d.dk > 0 && k.size(2) % d.dk == 0,
           "attention: k's last axis " << k.size(2) << " is not a multiple of the head width "
                                       << d.dk << " of q in " << shapes());
  d.G = k.size(2) / d.dk;
  CF_CHECK(d.G >= 1 && d.H % d.G == 0 && v.size(2) % d.G == 0,
           "attention: " << d.G << " key heads must divide the " << d.H
                         << " query heads and v's last axis in " << shapes());
  d.dv = v.size(2) / d.G;
  return d;
}

// Row strides of the three layouts.
int64_t ldq(const Dims& d) { return d.H * d.dk; }
int64_t ldk(const Dims& d) { return d.G * d.dk; }
int64_t ldv(const Dims& d) { return d.G * d.dv; }
int64_t ldo(const Dims& d) { return d.H * d.dv; }

// P = softmax(scale q_blk k^T) for `rows` queries starting at q_blk.
void scores_block(const Dims& d, float scale, const float* q_blk, const float* k_head, int64_t rows,
                  float* P) {
  kernels::sgemm(false, true, rows, d.M, d.dk, scale, q_blk, ldq(d), k_head, ldk(d), 0.0f, P, d.M);
  kernels::softmax_forward(P, P, rows, d.M);
}

// Calls fn(b, h, g, n0, rows) for each block of each query head of the
// task's (b, g), in order; tasks run in parallel.
template <class F>
void for_each_block(const Dims& d, F&& fn) {
  kernels::parallel_for(d.B * d.G, 1, [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t b = t / d.G, g = t % d.G, per = d.H / d.G;
      for (int64_t h = g * per; h < (g + 1) * per; ++h)
        for (int64_t n0 = 0; n0 < d.N; n0 += kRows) fn(b, h, g, n0, std::min(kRows, d.N - n0));
    }
  });
}

// Scratch for a block, reused by the thread that runs it.
float* scratch(size_t floats) {
  thread_local std::vector<float> buffer;
  if (buffer.size() < floats) buffer.resize(floats);
  return buffer.data();
}

}  // namespace

Tensor attention(const Tensor& q, const Tensor& k, const Tensor& v, int64_t heads, float scale) {
  const Dims d = check_dims(q, k, v, heads);
  Tensor o = Tensor::empty({d.B, d.N, d.H * d.dv});
  const float *qp = q.data(), *kp = k.data(), *vp = v.data();
  float* op = o.data();
  for_each_block(d, [&](int64_t b, int64_t h, int64_t g, int64_t n0, int64_t rows) {
    float* P = scratch(size_t(kRows * d.M));
    scores_block(d, scale, qp + (b * d.N + n0) * ldq(d) + h * d.dk, kp + b * d.M * ldk(d) + g * d.dk,
                 rows, P);
    kernels::sgemm(false, false, rows, d.dv, d.M, 1.0f, P, d.M, vp + b * d.M * ldv(d) + g * d.dv,
                   ldv(d), 0.0f, op + (b * d.N + n0) * ldo(d) + h * d.dv, ldo(d));
  });
  return record("attention", o, {q, k, v}, [q, k, v, d, scale](const Tensor& grad) {
    Tensor dq = Tensor::empty(q.shape()), dk = Tensor::zeros(k.shape()), dv = Tensor::zeros(v.shape());
    const float *qp = q.data(), *kp = k.data(), *vp = v.data(), *gp = grad.data();
    for_each_block(d, [&](int64_t b, int64_t h, int64_t g, int64_t n0, int64_t rows) {
      float* P = scratch(size_t(2 * kRows * d.M));
      float* dS = P + kRows * d.M;
      const float* q_blk = qp + (b * d.N + n0) * ldq(d) + h * d.dk;
      const float* g_blk = gp + (b * d.N + n0) * ldo(d) + h * d.dv;
      const int64_t k_at = b * d.M * ldk(d) + g * d.dk, v_at = b * d.M * ldv(d) + g * d.dv;
      scores_block(d, scale, q_blk, kp + k_at, rows, P);
      kernels::sgemm(true, false, d.M, d.dv, rows, 1.0f, P, d.M, g_blk, ldo(d), 1.0f,
                     dv.data() + v_at, ldv(d));
      kernels::sgemm(false, true, rows, d.M, d.dv, 1.0f, g_blk, ldo(d), vp + v_at, ldv(d), 0.0f, dS,
                     d.M);
      kernels::softmax_backward(P, dS, dS, rows, d.M);
      kernels::sgemm(false, false, rows, d.dk, d.M, scale, dS, d.M, kp + k_at, ldk(d), 0.0f,
                     dq.data() + (b * d.N + n0) * ldq(d) + h * d.dk, ldq(d));
      kernels::sgemm(true, false, d.M, d.dk, rows, scale, dS, d.M, q_blk, ldq(d), 1.0f,
                     dk.data() + k_at, ldk(d));
    });
    return std::vector<Tensor>{dq, dk, dv};
  });
}

}  // namespace cf
