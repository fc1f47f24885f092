// Cross entropy on integer labels, with label smoothing, fused with its
// log-softmax: the gradient is simply (softmax(logits) - q) / N.
#include <cmath>

#include "autograd/error.h"
#include "autograd/graph.h"
#include "autograd/kernels/rowops.h"
#include "autograd/ops.h"
#include "autograd/ops/check.h"

namespace cf {

// loss = -1/N sum_n sum_k q_nk log p_nk, q_nk = (1 - s) [k = y_n] + s / K.
Tensor cross_entropy(const Tensor& logits, const std::vector<int64_t>& labels,
                     float label_smoothing) {
  detail::check_input("cross_entropy", logits);
  CF_CHECK(logits.dim() == 2, "cross_entropy: logits must be [N, K], got shape "
                                  << shape_str(logits.shape()));
  const int64_t N = logits.shape()[0], K = logits.shape()[1];
  CF_CHECK(int64_t(labels.size()) == N, "cross_entropy: " << labels.size()
                                            << " labels for logits of shape "
                                            << shape_str(logits.shape()));
  CF_CHECK(label_smoothing >= 0.0f && label_smoothing < 1.0f,
           "cross_entropy: label_smoothing " << label_smoothing << " is not in [0, 1)");
  for (size_t n = 0; n < labels.size(); ++n)
    CF_CHECK(labels[n] >= 0 && labels[n] < K, "cross_entropy: label " << labels[n]
                                                  << " of row " << n << " is not in [0, "
                                                  << K << ")");
  Tensor logp = Tensor::empty({N, K});
  kernels::log_softmax_forward(logits.data(), logp.data(), N, K);
  const float s = label_smoothing, on = 1.0f - s + s / float(K), off = s / float(K);
  double total = 0.0;
  for (int64_t n = 0; n < N; ++n) {
    const float* lp = logp.data() + n * K;
    double row = 0.0;
    for (int64_t k = 0; k < K; ++k) row += double(k == labels[size_t(n)] ? on : off) * lp[k];
    total -= row;
  }
  Tensor loss = Tensor::scalar(float(total / double(N)));
  return record("cross_entropy", loss, {logits}, [logp, labels, N, K, on, off](const Tensor& g) {
    Tensor dx = Tensor::empty({N, K});
    const float scale = g.item() / float(N);
    for (int64_t n = 0; n < N; ++n)
      for (int64_t k = 0; k < K; ++k) {
        const float p = std::exp(logp.data()[n * K + k]);
        dx.data()[n * K + k] = scale * (p - (k == labels[size_t(n)] ? on : off));
      }
    return std::vector<Tensor>{dx};
  });
}

}  // namespace cf
