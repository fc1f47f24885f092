#include "nn/pooling.h"

#include "autograd/error.h"
#include "autograd/ops.h"
#include "nn/linear.h"

namespace cf {

Tensor mean_pool(const Tensor& x) {
  CF_CHECK(x.dim() == 3, "mean_pool: input of shape " << shape_str(x.shape()) << ", expected [B, N, D]");
  return mean(x, 1);
}

SeqPool::SeqPool(int64_t dim) {
  register_parameter("weight", &weight, {1, dim}, Init::trunc_normal(0.02f));
  register_parameter("bias", &bias, {1}, Init::zeros());
}

Tensor SeqPool::forward(const Tensor& x) const {
  CF_CHECK(x.dim() == 3 && x.size(2) == weight.size(1),
           "SeqPool: input of shape " << shape_str(x.shape()) << ", expected [B, N, "
                                      << weight.size(1) << "]");
  const int64_t B = x.size(0), D = x.size(2);
  Tensor a = softmax(linear(x, weight, bias), 1);             // (B, N, 1), over n
  return reshape(matmul(transpose(a, 1, 2), x), {B, D});      // sum_n a_n x_n
}

}  // namespace cf
