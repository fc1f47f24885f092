// Every differentiable op. Each family lives in one file of autograd/ops/,
// where its forward and backward stand side by side, and has one test file
// (tests/test_ops_<family>.cpp) that checks its gradient against finite
// differences. Ops raise cf::Error naming the op and the shapes on bad input.
// Axes may be negative (counted from the end), as in NumPy.
#pragma once
#include <cstdint>
#include <vector>

#include "autograd/tensor.h"

namespace cf {

// --- Elementwise, two inputs, NumPy broadcasting (ops/binary.cpp) ---------
Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, const Tensor& b);
// The shape two shapes broadcast to; `op` names the caller in the error.
Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op);
// Sums g over the axes along which `shape` was broadcast to g's shape
// (the gradient of a broadcast).
Tensor sum_to(const Tensor& g, const Shape& shape);

// --- Elementwise, one input (ops/unary.cpp) -------------------------------
Tensor neg(const Tensor& x);
Tensor add_scalar(const Tensor& x, float s);
Tensor mul_scalar(const Tensor& x, float s);
Tensor pow(const Tensor& x, float exponent);  // x^p; x > 0 unless p is an integer
Tensor exp(const Tensor& x);
Tensor log(const Tensor& x);
Tensor sqrt(const Tensor& x);
Tensor abs(const Tensor& x);
Tensor tanh(const Tensor& x);
Tensor sigmoid(const Tensor& x);
Tensor relu(const Tensor& x);
Tensor squared_relu(const Tensor& x);  // relu(x)^2 (Primer)
Tensor gelu(const Tensor& x);          // 0.5 x (1 + erf(x / sqrt 2))

Tensor operator+(const Tensor& a, const Tensor& b);
Tensor operator-(const Tensor& a, const Tensor& b);
Tensor operator*(const Tensor& a, const Tensor& b);
Tensor operator/(const Tensor& a, const Tensor& b);
Tensor operator-(const Tensor& x);
Tensor operator+(const Tensor& x, float s);
Tensor operator+(float s, const Tensor& x);
Tensor operator-(const Tensor& x, float s);
Tensor operator-(float s, const Tensor& x);
Tensor operator*(const Tensor& x, float s);
Tensor operator*(float s, const Tensor& x);
Tensor operator/(const Tensor& x, float s);
Tensor operator/(float s, const Tensor& x);

// --- Reductions (ops/reduce.cpp) ------------------------------------------
Tensor sum(const Tensor& x);  // all elements -> shape []
Tensor sum(const Tensor& x, int64_t axis, bool keepdim = false);
Tensor mean(const Tensor& x);
Tensor mean(const Tensor& x, int64_t axis, bool keepdim = false);
// The gradient of max goes to the first maximal element.
Tensor max(const Tensor& x);
Tensor max(const Tensor& x, int64_t axis, bool keepdim = false);
// Biased (population) variance by default, as layer norm uses it.
Tensor var(const Tensor& x);
Tensor var(const Tensor& x, int64_t axis, bool keepdim = false,
           bool unbiased = false);

// --- Matrix products (ops/matmul.cpp) -------------------------------------
// As numpy.matmul: 1-D operands are promoted to a row / column and the added
// axis removed again; leading (batch) axes broadcast.
Tensor matmul(const Tensor& a, const Tensor& b);
// The affine layer, y = x W^T + b (PyTorch's F.linear): x [..., in], weight
// [out, in], bias [out] or undefined. One op rather than matmul, transpose
// and add, so that neither W^T nor x W^T is ever stored apart.
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias);

// --- Shape and indexing (ops/shape.cpp) -----------------------------------
Tensor reshape(const Tensor& x, const Shape& shape);  // one -1 may be inferred
Tensor flatten(const Tensor& x, int64_t start_axis = 0, int64_t end_axis = -1);
Tensor transpose(const Tensor& x, int64_t axis0, int64_t axis1);
Tensor permute(const Tensor& x, const std::vector<int64_t>& axes);
Tensor concat(const std::vector<Tensor>& xs, int64_t axis);
// Elements start..end-1 along `axis`; negative start/end count from the end.
Tensor slice(const Tensor& x, int64_t axis, int64_t start, int64_t end);
// Picks whole slices: out has index.size() entries along `axis`.
Tensor index_select(const Tensor& x, int64_t axis, const std::vector<int64_t>& index);
// out[..., i, ...] = x[..., index[..., i, ...], ...] along `axis`; `index`
// (row-major, of shape `index_shape`, same rank as x) gives the output shape.
Tensor gather(const Tensor& x, int64_t axis, const std::vector<int64_t>& index,
              const Shape& index_shape);

// --- Softmax (ops/softmax.cpp) --------------------------------------------
Tensor softmax(const Tensor& x, int64_t axis = -1);
Tensor log_softmax(const Tensor& x, int64_t axis = -1);

// --- Attention (ops/attention.cpp) ----------------------------------------
// o = softmax(scale q k^T) v per batch entry and head, without keeping the
// score matrix. q [B, N, H dk], k [B, M, G dk], v [B, M, G dv] -> [B, N, H dv],
// heads side by side along the last axis; G key/value heads (G divides H,
// query head h reads key head h / (H / G); G = 1 is multi-query).
Tensor attention(const Tensor& q, const Tensor& k, const Tensor& v, int64_t heads, float scale);

// --- AFT (ops/aft.cpp) ----------------------------------------------------
// AFT-simple in one op: y = sigmoid(q) * sum over tokens of softmax(k) * v,
// the softmax over the token axis per batch entry and channel. q, k, v and y
// are [B, T, C].
Tensor aft_simple(const Tensor& q, const Tensor& k, const Tensor& v);

// --- Normalisation (ops/norm.cpp) -----------------------------------------
// Over the last axis; weight and bias (shape [D]) may be undefined: no affine.
Tensor layer_norm(const Tensor& x, const Tensor& weight, const Tensor& bias,
                  float eps = 1e-5f);

// --- Losses (ops/loss.cpp) ------------------------------------------------
// Mean over rows of -sum_k q_k log softmax(logits)_k, with q = (1 - s) onehot
// + s / K (label smoothing s). logits [N, K], labels N integers in [0, K).
Tensor cross_entropy(const Tensor& logits, const std::vector<int64_t>& labels,
                     float label_smoothing = 0.0f);

// --- Dropout (ops/dropout.cpp) --------------------------------------------
// Zeroes each element with probability p and scales the rest by 1/(1-p) when
// training; the identity otherwise. The mask is a pure function of `seed`
// (the caller folds in its purpose and step), never of thread timing.
Tensor dropout(const Tensor& x, float p, bool training, uint64_t seed);

// --- Convolution and pooling (ops/conv.cpp, ops/pool.cpp) -----------------
// x [B, C, H, W], weight [O, C/groups, kh, kw], bias [O] or undefined.
Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias,
              int64_t stride = 1, int64_t padding = 0, int64_t groups = 1);
// Padding counts as -inf for max and as 0 (included in the count) for avg,
// as PyTorch's defaults.
Tensor max_pool2d(const Tensor& x, int64_t kernel, int64_t stride, int64_t padding = 0);
Tensor avg_pool2d(const Tensor& x, int64_t kernel, int64_t stride, int64_t padding = 0);

}  // namespace cf
