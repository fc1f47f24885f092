// The fused attention op against its definition, softmax(scale q k^T) v
// written with matmul and softmax, and its gradients against finite
// differences.
#include <cmath>

#include "autograd/kernels/threads.h"
#include "tests/helpers.h"

using namespace cf;
using cf::test::error_of;
using cf::test::require_gradcheck;

namespace {

// The same attention from the unfused ops: heads permuted to a batch axis,
// the full score matrix formed.
Tensor unfused(const Tensor& q, const Tensor& k, const Tensor& v, int64_t H, float scale) {
  const int64_t B = q.size(0), N = q.size(1), M = k.size(1), dk = q.size(2) / H;
  const int64_t G = k.size(2) / dk, dv = v.size(2) / G;
  auto heads = [&](const Tensor& t, int64_t rows, int64_t g, int64_t w) {
    return permute(reshape(t, {B, rows, g, w}), {0, 2, 1, 3});
  };
  Tensor qh = heads(q, N, H, dk), kh = heads(k, M, G, dk), vh = heads(v, M, G, dv);
  if (G != H) {  // query head h reads key head h / (H / G)
    std::vector<int64_t> index;
    for (int64_t h = 0; h < H; ++h) index.push_back(h / (H / G));
    kh = index_select(kh, 1, index);
    vh = index_select(vh, 1, index);
  }
  Tensor p = softmax(mul_scalar(matmul(qh, transpose(kh, 2, 3)), scale), -1);
  return reshape(permute(matmul(p, vh), {0, 2, 1, 3}), {B, N, H * dv});
}

struct Case {
  int64_t B, N, M, H, G, dk, dv;
};

void require_near(const Tensor& a, const Tensor& b, double tol) {
  REQUIRE(a.shape() == b.shape());
  for (int64_t i = 0; i < a.numel(); ++i)
    REQUIRE(std::fabs(double(a.data()[i]) - double(b.data()[i])) <= tol);
}

}  // namespace

TEST_CASE("attention equals softmax(scale q k^T) v, values and gradients", "[ops][attention]") {
  // 130 queries: two full blocks of 64 rows and a tail; G < H shares key heads.
  const Case cases[] = {{2, 5, 7, 2, 2, 3, 4}, {1, 130, 40, 4, 2, 8, 6}, {3, 1, 1, 3, 1, 2, 5},
                        {2, 64, 17, 2, 1, 4, 4}};
  for (const Case& c : cases) {
    INFO("B " << c.B << " N " << c.N << " M " << c.M << " H " << c.H << " G " << c.G);
    Tensor q = Tensor::randn({c.B, c.N, c.H * c.dk}, 1).requires_grad_();
    Tensor k = Tensor::randn({c.B, c.M, c.G * c.dk}, 2).requires_grad_();
    Tensor v = Tensor::randn({c.B, c.M, c.G * c.dv}, 3).requires_grad_();
    Tensor r = Tensor::randn({c.B, c.N, c.H * c.dv}, 4);
    const float scale = 0.7f;
    Tensor fused = attention(q, k, v, c.H, scale);
    sum(mul(fused, r)).backward();
    const Tensor dq = q.grad(), dk = k.grad(), dv = v.grad();
    q.zero_grad(), k.zero_grad(), v.zero_grad();
    Tensor reference = unfused(q, k, v, c.H, scale);
    sum(mul(reference, r)).backward();
    require_near(fused, reference, 1e-5);
    require_near(dq, q.grad(), 1e-4);
    require_near(dk, k.grad(), 1e-4);
    require_near(dv, v.grad(), 1e-4);
  }
}

TEST_CASE("attention gradients", "[ops][attention][grad]") {
  // Self- and cross-attention, shared key heads, and 70 queries (two blocks).
  const Case cases[] = {{2, 4, 4, 2, 2, 3, 2}, {1, 3, 5, 2, 1, 2, 3}, {1, 70, 3, 1, 1, 2, 2}};
  for (const Case& c : cases) {
    INFO("N " << c.N << " M " << c.M << " H " << c.H << " G " << c.G);
    require_gradcheck(
        [&](const std::vector<Tensor>& t) { return attention(t[0], t[1], t[2], c.H, 0.8f); },
        {Tensor::randn({c.B, c.N, c.H * c.dk}, 5), Tensor::randn({c.B, c.M, c.G * c.dk}, 6),
         Tensor::randn({c.B, c.M, c.G * c.dv}, 7)});
  }
}

TEST_CASE("attention gives the same bits with 1 and 2 threads", "[ops][attention][determinism]") {
  Tensor q = Tensor::randn({3, 70, 8}, 8).requires_grad_();
  Tensor k = Tensor::randn({3, 70, 4}, 9).requires_grad_();
  Tensor v = Tensor::randn({3, 70, 6}, 10).requires_grad_();
  std::vector<std::vector<float>> runs;
  const int before = kernels::num_threads();
  for (int threads : {1, 2}) {
    kernels::set_num_threads(threads);
    q.zero_grad(), k.zero_grad(), v.zero_grad();
    Tensor o = attention(q, k, v, 2, 0.5f);
    sum(mul(o, o)).backward();
    std::vector<float> all = o.to_vector();
    for (const Tensor& g : {q.grad(), k.grad(), v.grad()})
      for (float x : g.to_vector()) all.push_back(x);
    runs.push_back(all);
  }
  kernels::set_num_threads(before);
  CHECK(runs[0] == runs[1]);
}

TEST_CASE("attention names the shapes it rejects", "[ops][attention][errors]") {
  auto message = [](const Shape& q, const Shape& k, const Shape& v, int64_t heads) {
    return error_of([&] { attention(Tensor::ones(q), Tensor::ones(k), Tensor::ones(v), heads, 1.0f); });
  };
  CHECK(message({2, 3, 4}, {2, 3, 4}, {2, 3}, 2).find(
            "attention: q, k, v must be [B, tokens, heads * width], got [2, 3, 4], [2, 3, 4] and [2, 3]") !=
        std::string::npos);
  CHECK(message({2, 3, 5}, {2, 3, 5}, {2, 3, 5}, 2).find(
            "attention: q's last axis 5 is not a multiple of heads 2") != std::string::npos);
  CHECK(message({2, 3, 4}, {1, 3, 4}, {1, 3, 4}, 2).find("attention: batch or key counts differ") !=
        std::string::npos);
  CHECK(message({2, 3, 4}, {2, 3, 3}, {2, 3, 4}, 2).find(
            "attention: k's last axis 3 is not a multiple of the head width 2") != std::string::npos);
  CHECK(message({2, 3, 6}, {2, 3, 4}, {2, 3, 4}, 3).find(
            "attention: 2 key heads must divide the 3 query heads") != std::string::npos);
  CHECK(message({2, 3, 4}, {2, 0, 4}, {2, 0, 4}, 2).find("attention: input of shape [2, 0, 4] is empty") !=
        std::string::npos);
}
