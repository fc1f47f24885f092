// matmul with NumPy semantics, and linear. Every product, forward and
// backward, is one call into the SGEMM kernels with the transpose flags set,
// never a copy:
//   C = A B,   dA = dC B^T,   dB = A^T dC   (per batch entry)
// and the gradient of a broadcast operand is summed over the batch entries
// that shared it.

#include "autograd/error.h"
#include "autograd/graph.h"
#include "autograd/kernels/gemm.h"
#include "autograd/kernels/threads.h"
#include "autograd/ops.h"
#include "autograd/ops/broadcast.h"
#include "autograd/ops/check.h"
#include "autograd/ops/reduce.h"

namespace cf {

namespace {

// Flat element offsets of each batch entry's matrix in A, B and C.
struct BatchOffsets {
  std::vector<int64_t> a, b, c;
};

bool arithmetic(const std::vector<int64_t>& v) {
  for (size_t i = 2; i < v.size(); ++i)
    if (v[i] - v[i - 1] != v[1] - v[0]) return false;
  return true;
}

// C[c_i] (+)= op(A[a_i]) op(B[b_i]) for every batch entry i. When C offsets
// repeat (a broadcast operand's gradient) the products are added in batch
// order, so the sum is deterministic.
void batched_product(bool ta, bool tb, int64_t M, int64_t N, int64_t K, const float* A,
                     const float* B, float* C, const BatchOffsets& off, bool accumulate) {
  const int64_t lda = ta ? M : K, ldb = tb ? K : N;
  const size_t n = off.c.size();
  bool c_distinct = n < 2 || off.c[1] != off.c[0];
  if (!accumulate && c_distinct && arithmetic(off.a) && arithmetic(off.b) && arithmetic(off.c)) {
    auto step = [&](const std::vector<int64_t>& v) { return n < 2 ? 0 : v[1] - v[0]; };
    kernels::sgemm_batched(ta, tb, M, N, K, 1.0f, A + off.a[0], lda, step(off.a),
                           B + off.b[0], ldb, step(off.b), 0.0f, C + off.c[0], N,
                           step(off.c), int64_t(n));
    return;
  }
  for (size_t i = 0; i < n; ++i)
    kernels::sgemm(ta, tb, M, N, K, 1.0f, A + off.a[i], lda, B + off.b[i], ldb,
                   accumulate ? 1.0f : 0.0f, C + off.c[i], N);
}

// Batched matmul of a [..., M, K] and b [..., K, N], both of rank >= 2.
Tensor batched_matmul(const Tensor& a, const Tensor& b) {
  const Shape &sa = a.shape(), &sb = b.shape();
  const int64_t M = sa[sa.size() - 2], K = sa.back(), N = sb.back();
  CF_CHECK(sb[sb.size() - 2] == K, "matmul: shapes " << shape_str(sa) << " and "
                                                     << shape_str(sb)
                                                     << " do not chain (" << K << " vs "
                                                     << sb[sb.size() - 2] << ")");
  const Shape ba(sa.begin(), sa.end() - 2), bb(sb.begin(), sb.end() - 2);
  Shape batch;
  try {
    batch = broadcast_shapes(ba, bb, "matmul");
  } catch (const Error& e) {  // name the whole shapes, not only their batch axes
    CF_CHECK(false, e.what() << " (the batch axes of " << shape_str(sa) << " and " << shape_str(sb)
                             << ")");
  }
  BatchOffsets off;
  detail::for_each_broadcast(batch, ba, bb, 0, detail::broadcast_rows(batch), [&](int64_t i, int64_t ia, int64_t ib) {
    off.a.push_back(ia * M * K);
    off.b.push_back(ib * K * N);
    off.c.push_back(i * M * N);
  });
  Shape out_shape = batch;
  out_shape.push_back(M);
  out_shape.push_back(N);
  Tensor c = Tensor::empty(out_shape);
  batched_product(false, false, M, N, K, a.data(), b.data(), c.data(), off, false);

  return record("matmul", c, {a, b}, [a, b, off, M, N, K](const Tensor& g) {
    Tensor da, db;
    if (a.requires_grad()) {  // dA[a_i] += dC[c_i] B[b_i]^T
      da = Tensor::zeros(a.shape());
      batched_product(false, true, M, K, N, g.data(), b.data(), da.data(),
                      BatchOffsets{off.c, off.b, off.a}, true);
    }
    if (b.requires_grad()) {  // dB[b_i] += A[a_i]^T dC[c_i]
      db = Tensor::zeros(b.shape());
      batched_product(true, false, K, N, M, a.data(), g.data(), db.data(),
                      BatchOffsets{off.a, off.c, off.b}, true);
    }
    return std::vector<Tensor>{da, db};
  });
}

}  // namespace

Tensor matmul(const Tensor& a, const Tensor& b) {
  detail::check_input("matmul", a);
  detail::check_input("matmul", b);
  CF_CHECK(a.dim() >= 1 && b.dim() >= 1, "matmul: operands of shapes "
                                             << shape_str(a.shape()) << " and "
                                             << shape_str(b.shape())
                                             << " must have at least one axis");
  const int64_t k_b = b.dim() == 1 ? b.numel() : b.shape()[size_t(b.dim() - 2)];
  CF_CHECK(a.shape().back() == k_b, "matmul: shapes " << shape_str(a.shape()) << " and "
                                                      << shape_str(b.shape())
                                                      << " do not chain (" << a.shape().back()
                                                      << " vs " << k_b << ")");
  // 1-D operands: a row vector on the left, a column vector on the right,
  // and the added axis removed from the result.
  if (a.dim() == 1) {
    Tensor out = matmul(reshape(a, {1, a.numel()}), b);
    Shape s = out.shape();
    s.erase(s.end() - (b.dim() == 1 ? 1 : 2));
    return reshape(out, s);
  }
  if (b.dim() == 1) {
    Shape s(a.shape().begin(), a.shape().end() - 1);
    return reshape(matmul(a, reshape(b, {b.numel(), 1})), s);
  }
  // A weight matrix applied to a batch of rows: one large GEMM.
  if (b.dim() == 2 && a.dim() > 2) {
    Shape s = a.shape();
    s.back() = b.shape()[1];
    return reshape(batched_matmul(reshape(a, {-1, a.shape().back()}), b), s);
  }
  return batched_matmul(a, b);
}

// y = x W^T + b over rows of x (ARCHITECTURES.md section 0), for R rows:
//   y  = b in every row, then y += x W^T     one GEMM, beta = 1, W read transposed
//   dx = dy W      [R, out] . [out, in]
//   dW = dy^T x    [out, R] . [R, in]
//   db = sum over the R rows of dy
// Starting y at b puts the bias add inside the GEMM's first pass over C
// instead of in a pass of its own.
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  detail::check_input("linear", x);
  detail::check_input("linear", weight);
  CF_CHECK(weight.dim() == 2, "linear: weight of shape " << shape_str(weight.shape())
                                                         << " must be [out, in]");
  const int64_t out = weight.size(0), in = weight.size(1);
  CF_CHECK(x.dim() >= 1 && x.shape().back() == in,
           "linear: input of shape " << shape_str(x.shape()) << " for weight of shape "
                                     << shape_str(weight.shape()) << " (last axis must be "
                                     << in << ")");
  CF_CHECK(!bias.defined() || bias.shape() == Shape{out},
           "linear: bias of shape " << shape_str(bias.shape()) << " for weight of shape "
                                    << shape_str(weight.shape()) << " (must be [" << out << "])");
  const int64_t rows = x.numel() / in;
  Shape y_shape = x.shape();
  y_shape.back() = out;
  Tensor y = Tensor::empty(y_shape);
  // y = x W^T + b: the GEMM reads W transposed and adds the bias row
  // (D = b, ldd = 0) as it stores each tile.
  kernels::sgemm(false, true, rows, out, in, 1.0f, x.data(), in, weight.data(), in,
                 bias.defined() ? 1.0f : 0.0f, y.data(), out,
                 bias.defined() ? bias.data() : nullptr, 0);

  return record("linear", y, {x, weight, bias}, [x, weight, bias, rows, in, out](const Tensor& g) {
    Tensor dx, dw, db;
    if (x.requires_grad()) {
      dx = Tensor::empty(x.shape());
      kernels::sgemm(false, false, rows, in, out, 1.0f, g.data(), out, weight.data(), in, 0.0f,
                     dx.data(), in);
    }
    if (weight.requires_grad()) {
      dw = Tensor::empty(weight.shape());
      kernels::sgemm(true, false, out, in, rows, 1.0f, g.data(), out, x.data(), in, 0.0f,
                     dw.data(), in);
    }
    if (bias.defined() && bias.requires_grad()) {
      db = Tensor::empty(bias.shape());
      detail::sum_axis(g.data(), db.data(), 1, rows, out);
    }
    return std::vector<Tensor>{dx, dw, db};
  });
}

}  // namespace cf
