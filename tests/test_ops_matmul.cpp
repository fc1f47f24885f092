#include "tests/helpers.h"

using namespace cf;
using cf::test::error_of;
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
  CHECK(error_of([] { matmul(Tensor::scalar(1), Tensor::ones({3})); }).find("at least one axis") !=
        std::string::npos);
}
