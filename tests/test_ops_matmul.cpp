#include "autograd/kernels/threads.h"
#include "tests/helpers.h"
#include "tests/test_kernels_util.h"

using namespace cf;
using cf::test::error_of;
using cf::test::require_close;
using cf::test::require_gradcheck;

namespace {
// Plain triple loop for one [M, K] x [K, N] product.
std::vector<float> reference(const std::vector<float>& a, const std::vector<float>& b, int64_t M,
                             int64_t K, int64_t N) {
  std::vector<float> c(size_t(M * N), 0.0f);
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j)
      for (int64_t k = 0; k < K; ++k) c[size_t(i * N + j)] += a[size_t(i * K + k)] * b[size_t(k * N + j)];
  return c;
}
}  // namespace

TEST_CASE("matmul matches the definition", "[ops][matmul]") {
  Tensor a = Tensor::randn({5, 7}, 1), b = Tensor::randn({7, 3}, 2);
  std::vector<float> want = reference(a.to_vector(), b.to_vector(), 5, 7, 3);
  std::vector<float> got = matmul(a, b).to_vector();
  for (size_t i = 0; i < want.size(); ++i) CHECK(got[i] == Approx(want[i]).margin(1e-5));
}

TEST_CASE("matmul shapes follow NumPy", "[ops][matmul]") {
  CHECK(matmul(Tensor::ones({3}), Tensor::ones({3})).shape() == Shape{});
  CHECK(matmul(Tensor::ones({3}), Tensor::ones({3, 4})).shape() == Shape{4});
  CHECK(matmul(Tensor::ones({2, 3}), Tensor::ones({3})).shape() == Shape{2});
  CHECK(matmul(Tensor::ones({5, 2, 3}), Tensor::ones({3, 4})).shape() == Shape{5, 2, 4});
  CHECK(matmul(Tensor::ones({2, 3}), Tensor::ones({5, 3, 4})).shape() == Shape{5, 2, 4});
  CHECK(matmul(Tensor::ones({2, 1, 2, 3}), Tensor::ones({4, 3, 5})).shape() == Shape{2, 4, 2, 5});
  CHECK(matmul(Tensor::ones({4}), Tensor::ones({2, 4, 3})).shape() == Shape{2, 3});
}

TEST_CASE("matmul gradients", "[ops][matmul][grad]") {
  const std::vector<std::pair<Shape, Shape>> shapes = {
      {{3, 4}, {4, 5}},       {{1, 1}, {1, 1}},       {{4}, {4}},
      {{4}, {4, 2}},          {{3, 4}, {4}},          {{2, 3, 4}, {4, 5}},
      {{3, 4}, {2, 4, 5}},    {{2, 3, 4}, {2, 4, 5}}, {{2, 1, 3, 4}, {3, 4, 2}},
      {{1, 3, 4}, {2, 4, 1}}, {{17, 3}, {3, 1}}};
  for (const auto& [sa, sb] : shapes) {
    INFO(shape_str(sa) << " x " << shape_str(sb));
    require_gradcheck([](const std::vector<Tensor>& x) { return matmul(x[0], x[1]); },
                      {Tensor::randn(sa, 3), Tensor::randn(sb, 4)});
  }
}

TEST_CASE("matmul rejects shapes that do not chain", "[ops][matmul][errors]") {
  std::string msg = error_of([] { matmul(Tensor::ones({2, 3}), Tensor::ones({4, 5})); });
  CHECK(msg.find("matmul") != std::string::npos);
  CHECK(msg.find("[2, 3]") != std::string::npos);
  CHECK(msg.find("[4, 5]") != std::string::npos);
  msg = error_of([] { matmul(Tensor::ones({2, 2, 3}), Tensor::ones({3, 3, 4})); });
  CHECK(msg.find("cannot be broadcast") != std::string::npos);
  CHECK(msg.find("[2, 2, 3]") != std::string::npos);
  CHECK(msg.find("[3, 3, 4]") != std::string::npos);
  CHECK(error_of([] { matmul(Tensor::scalar(1), Tensor::ones({3})); }).find("at least one axis") !=
        std::string::npos);
}

TEST_CASE("linear equals matmul by the transposed weight plus the bias", "[ops][matmul]") {
  // in = 600 spans two of the GEMM's K blocks, so y = b + (x W^T) is summed
  // over more than one pass.
  for (const bool with_bias : {true, false}) {
    INFO("bias " << with_bias);
    Tensor x = Tensor::randn({3, 5, 600}, 1).requires_grad_();
    Tensor w = Tensor::randn({7, 600}, 2).requires_grad_();
    Tensor b = with_bias ? Tensor::randn({7}, 3).requires_grad_() : Tensor();
    Tensor y = linear(x, w, b);
    Tensor composed = matmul(x, transpose(w, 0, 1));
    if (with_bias) composed = add(composed, b);
    REQUIRE(y.shape() == Shape{3, 5, 7});
    require_close(y, composed, 1e-4f);

    Tensor dy = Tensor::randn({3, 5, 7}, 4);
    sum(mul(y, dy)).backward();
    const Tensor dx = x.grad(), dw = w.grad(), db = with_bias ? b.grad() : Tensor();
    x.zero_grad();
    w.zero_grad();
    if (with_bias) b.zero_grad();
    sum(mul(composed, dy)).backward();
    require_close(dx, x.grad(), 1e-4f);
    require_close(dw, w.grad(), 1e-4f);
    if (with_bias) require_close(db, b.grad(), 1e-4f);
  }
}

TEST_CASE("linear gradients", "[ops][matmul][grad]") {
  for (const Shape& xs : {Shape{4}, Shape{3, 4}, Shape{2, 3, 4}}) {
    INFO(shape_str(xs));
    require_gradcheck([](const std::vector<Tensor>& v) { return linear(v[0], v[1], v[2]); },
                      {Tensor::randn(xs, 1), Tensor::randn({5, 4}, 2), Tensor::randn({5}, 3)});
    require_gradcheck([](const std::vector<Tensor>& v) { return linear(v[0], v[1], Tensor()); },
                      {Tensor::randn(xs, 1), Tensor::randn({5, 4}, 2)});
  }
}

TEST_CASE("linear is bit-identical with 1 and 2 threads", "[ops][matmul][threads]") {
  cf::test::ThreadCountGuard guard;
  auto run = [](int threads) {
    kernels::set_num_threads(threads);
    Tensor x = Tensor::randn({300, 70}, 1).requires_grad_();
    Tensor w = Tensor::randn({90, 70}, 2).requires_grad_();
    Tensor b = Tensor::randn({90}, 3).requires_grad_();
    Tensor y = linear(x, w, b);
    sum(mul(y, Tensor::randn({300, 90}, 4))).backward();
    return std::vector<std::vector<float>>{y.to_vector(), x.grad().to_vector(), w.grad().to_vector(),
                                           b.grad().to_vector()};
  };
  CHECK(run(1) == run(2));
}

TEST_CASE("linear rejects shapes that do not fit", "[ops][matmul][errors]") {
  const Tensor w = Tensor::ones({5, 4});
  CHECK(error_of([&] { linear(Tensor::ones({2, 3}), w, Tensor()); }) ==
        "linear: input of shape [2, 3] for weight of shape [5, 4] (last axis must be 4)");
  CHECK(error_of([&] { linear(Tensor::ones({2, 4}), Tensor::ones({4}), Tensor()); }) ==
        "linear: weight of shape [4] must be [out, in]");
  CHECK(error_of([&] { linear(Tensor::ones({2, 4}), w, Tensor::ones({4})); }) ==
        "linear: bias of shape [4] for weight of shape [5, 4] (must be [5])");
}
