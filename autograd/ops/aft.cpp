// AFT-simple, fused: (F1) of ARCHITECTURES.md section 5 with w = 0,
//   Y_t = sigmoid(Q_t) ⊙ r,   r = sum_t' p_t' ⊙ V_t',   p = softmax over t of K
// per batch entry and channel. The mix does not depend on t: the output is a
// gate times one softmax-weighted mean of V per (b, c). Composed from ops it
// is ten passes over [B, T, C] forward and more backward, each allocating
// its result; here it is one each way, and only m = max_t K, S = sum_t
// exp(K - m) and r ([B, C] each) are kept for backward.
//
// Backward, with s = sigmoid(Q) and g = dL/dY (s and p recomputed):
//   dQ_t = g_t r s_t (1 - s_t)
//   dr   = sum_t g_t s_t
//   dV_t = p_t dr                     (r is linear in V)
//   dK_t = p_t (V_t - r) dr           (d r / d K_t = p_t (V_t - r), softmax's Jacobian)
// One task per batch entry, its sums over t in order and in double (as sum's
// are): the bits do not depend on the thread count.
#include <algorithm>
#include <vector>

#include "autograd/error.h"
#include "autograd/graph.h"
#include "autograd/kernels/simd_kernels.h"
#include "autograd/kernels/threads.h"
#include "autograd/kernels/vecmath.h"
#include "autograd/ops.h"
#include "autograd/ops/check.h"

namespace cf {

namespace {

thread_local kernels::detail::ScratchBuffer t_scratch;

// The per-channel sums over t, in double; per thread, grown and reused like
// t_scratch, so no call allocates them.
double* double_sums(int64_t n) {
  thread_local std::vector<double> sums;
  if (sums.size() < size_t(n)) sums.resize(size_t(n));
  return sums.data();
}

// p = exp(K - m) / S for one batch entry's [T, C] block; with S null,
// exp(K - m) alone (the forward, which sums it into S).
void softmax_weights(const float* k, const float* m, const float* S, int64_t T, int64_t C,
                     float* p) {
  for (int64_t t = 0; t < T; ++t)
    for (int64_t c = 0; c < C; ++c) p[t * C + c] = k[t * C + c] - m[c];
  kernels::vec_exp(p, p, T * C);
  if (S == nullptr) return;
  for (int64_t t = 0; t < T; ++t)
    for (int64_t c = 0; c < C; ++c) p[t * C + c] /= S[c];
}

}  // namespace

Tensor aft_simple(const Tensor& q, const Tensor& k, const Tensor& v) {
  for (const Tensor* x : {&q, &k, &v}) detail::check_input("aft_simple", *x);
  CF_CHECK(q.dim() == 3 && q.shape() == k.shape() && q.shape() == v.shape(),
           "aft_simple: q, k, v must be [B, T, C] of one shape, got "
               << shape_str(q.shape()) << ", " << shape_str(k.shape()) << " and "
               << shape_str(v.shape()));
  const int64_t B = q.size(0), T = q.size(1), C = q.size(2);
  Tensor y = Tensor::empty(q.shape());
  Tensor stats = Tensor::empty({B, 3, C});  // m, S, r per batch entry
  const float *qp = q.data(), *kp = k.data(), *vp = v.data();
  float *yp = y.data(), *sp = stats.data();
  kernels::parallel_for(B, 1, [&](int64_t b0, int64_t b1) {
    float* e = t_scratch.get(size_t(T * C));
    double* sum_e = double_sums(2 * C);
    double* sum_ev = sum_e + C;
    for (int64_t b = b0; b < b1; ++b) {
      const int64_t at = b * T * C;
      float *m = sp + b * 3 * C, *S = m + C, *r = S + C;
      std::copy_n(kp + at, C, m);
      for (int64_t t = 1; t < T; ++t)
        for (int64_t c = 0; c < C; ++c) m[c] = std::max(m[c], kp[at + t * C + c]);
      softmax_weights(kp + at, m, nullptr, T, C, e);
      std::fill_n(sum_e, 2 * C, 0.0);
      for (int64_t t = 0; t < T; ++t)
        for (int64_t c = 0; c < C; ++c) {
          sum_e[c] += e[t * C + c];
          sum_ev[c] += double(e[t * C + c]) * vp[at + t * C + c];
        }
      for (int64_t c = 0; c < C; ++c) {
        S[c] = float(sum_e[c]);
        r[c] = float(sum_ev[c] / sum_e[c]);
      }
      kernels::vec_sigmoid(qp + at, yp + at, T * C);
      for (int64_t t = 0; t < T; ++t)
        for (int64_t c = 0; c < C; ++c) yp[at + t * C + c] *= r[c];
    }
  });
  return record("aft_simple", y, {q, k, v}, [q, k, v, stats](const Tensor& grad) {
    const int64_t B = q.size(0), T = q.size(1), C = q.size(2);
    Tensor dq = Tensor::empty(q.shape()), dk = Tensor::empty(k.shape()), dv = Tensor::empty(v.shape());
    const float *qp = q.data(), *kp = k.data(), *vp = v.data(), *gp = grad.data(), *sp = stats.data();
    float *dqp = dq.data(), *dkp = dk.data(), *dvp = dv.data();
    kernels::parallel_for(B, 1, [&](int64_t b0, int64_t b1) {
      float* s = t_scratch.get(size_t(2 * T * C + C));
      float *p = s + T * C, *dr = p + T * C;
      double* sum_gs = double_sums(C);
      for (int64_t b = b0; b < b1; ++b) {
        const int64_t at = b * T * C;
        const float *m = sp + b * 3 * C, *S = m + C, *r = S + C;
        const float *g = gp + at, *kb = kp + at, *vb = vp + at;
        kernels::vec_sigmoid(qp + at, s, T * C);
        std::fill_n(sum_gs, C, 0.0);
        for (int64_t t = 0; t < T; ++t)
          for (int64_t c = 0; c < C; ++c) {
            const int64_t i = t * C + c;
            sum_gs[c] += double(g[i]) * s[i];
            dqp[at + i] = g[i] * r[c] * s[i] * (1.0f - s[i]);
          }
        for (int64_t c = 0; c < C; ++c) dr[c] = float(sum_gs[c]);
        softmax_weights(kb, m, S, T, C, p);
        for (int64_t t = 0; t < T; ++t)
          for (int64_t c = 0; c < C; ++c) {
            const int64_t i = t * C + c;
            dvp[at + i] = p[i] * dr[c];
            dkp[at + i] = p[i] * (vb[i] - r[c]) * dr[c];
          }
      }
    });
    return std::vector<Tensor>{dq, dk, dv};
  });
}

}  // namespace cf
