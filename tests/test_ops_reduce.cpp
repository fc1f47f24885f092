#include "autograd/kernels/threads.h"
#include "tests/helpers.h"
#include "tests/test_kernels_util.h"

using namespace cf;
using cf::test::error_of;
using cf::test::require_gradcheck;

TEST_CASE("reductions compute the right values", "[ops][reduce]") {
  Tensor x = Tensor::from({1, 2, 3, 4, 5, 6}, {2, 3});
  CHECK(sum(x).item() == 21.0f);
  CHECK(sum(x).dim() == 0);
  CHECK(sum(x, 0).to_vector() == std::vector<float>{5, 7, 9});
  CHECK(sum(x, -1, true).shape() == Shape{2, 1});
  CHECK(mean(x, 1).to_vector() == std::vector<float>{2, 5});
  CHECK(max(x, 0).to_vector() == std::vector<float>{4, 5, 6});
  CHECK(max(x).item() == 6.0f);
  CHECK(var(x, 1).to_vector()[0] == Approx(2.0f / 3.0f));
  CHECK(var(x, 1, false, true).to_vector()[0] == Approx(1.0f));
  CHECK(var(x).item() == Approx(35.0f / 12.0f));
}

TEST_CASE("reduction gradients", "[ops][reduce][grad]") {
  const std::vector<Shape> shapes = {{1}, {5}, {3, 4}, {2, 3, 4}, {2, 1, 3}};
  for (const Shape& s : shapes) {
    Tensor x = Tensor::randn(s, 11);  // distinct values: max has one arg max
    INFO(shape_str(s));
    require_gradcheck([](const std::vector<Tensor>& v) { return sum(v[0]); }, {x});
    require_gradcheck([](const std::vector<Tensor>& v) { return mean(v[0]); }, {x});
    require_gradcheck([](const std::vector<Tensor>& v) { return max(v[0]); }, {x});
    if (x.numel() > 1)
      require_gradcheck([](const std::vector<Tensor>& v) { return var(v[0]); }, {x});
    for (int64_t axis = -int64_t(s.size()); axis < int64_t(s.size()); ++axis)
      for (bool keep : {false, true}) {
        INFO("axis " << axis << " keepdim " << keep);
        require_gradcheck([=](const std::vector<Tensor>& v) { return sum(v[0], axis, keep); }, {x});
        require_gradcheck([=](const std::vector<Tensor>& v) { return mean(v[0], axis, keep); }, {x});
        require_gradcheck([=](const std::vector<Tensor>& v) { return max(v[0], axis, keep); }, {x});
        require_gradcheck([=](const std::vector<Tensor>& v) { return var(v[0], axis, keep); }, {x});
        if (s[size_t(axis < 0 ? axis + int64_t(s.size()) : axis)] > 1)  // unbiased: n - 1 > 0
          require_gradcheck(
              [=](const std::vector<Tensor>& v) { return var(v[0], axis, keep, true); }, {x});
      }
  }
}

TEST_CASE("sum and max over a middle axis match plain loops, with any thread count", "[ops][reduce][threads]") {
  // inner = 1300 spans three of the reduction's tiles of 512 columns.
  const int64_t outer = 3, size = 40, inner = 1300;
  Tensor x = Tensor::randn({outer, size, inner}, 5);
  x.data()[7] = x.data()[inner + 7];  // a tie: the first maximum wins
  std::vector<float> want_sum(size_t(outer * inner)), want_max(size_t(outer * inner));
  std::vector<int64_t> want_arg(size_t(outer * inner));
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < inner; ++i) {
      double s = 0;
      int64_t best = 0;
      for (int64_t a = 0; a < size; ++a) {
        const float v = x.data()[(o * size + a) * inner + i];
        s += v;
        if (v > x.data()[(o * size + best) * inner + i]) best = a;
      }
      want_sum[size_t(o * inner + i)] = float(s);
      want_arg[size_t(o * inner + i)] = best;
      want_max[size_t(o * inner + i)] = x.data()[(o * size + best) * inner + i];
    }
  cf::test::ThreadCountGuard guard;
  for (int threads : {1, 2, 3}) {
    INFO(threads << " threads");
    kernels::set_num_threads(threads);
    CHECK(sum(x, 1).to_vector() == want_sum);
    Tensor xg = x.detach().requires_grad_();
    Tensor m = max(xg, 1);
    CHECK(m.to_vector() == want_max);
    sum(m).backward();
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t i = 0; i < inner; ++i)
        for (int64_t a = 0; a < size; ++a)
          REQUIRE(xg.grad().data()[(o * size + a) * inner + i] ==
                  (a == want_arg[size_t(o * inner + i)] ? 1.0f : 0.0f));
  }
}

TEST_CASE("max sends the gradient to the first maximum only", "[ops][reduce]") {
  Tensor x = Tensor::from({1, 3, 3, 2}, {4}).requires_grad_();
  max(x).backward();
  CHECK(x.grad().to_vector() == std::vector<float>{0, 1, 0, 0});
}

TEST_CASE("reductions reject bad axes", "[ops][reduce][errors]") {
  Tensor x = Tensor::ones({2, 3});
  std::string msg = error_of([&] { sum(x, 2); });
  CHECK(msg.find("sum: axis 2 is out of range for shape [2, 3]") != std::string::npos);
  CHECK(error_of([&] { max(x, -3); }).find("max: axis -3") != std::string::npos);
  CHECK(error_of([&] { var(Tensor::ones({1, 3}), 0, false, true); }).find("var") !=
        std::string::npos);
  CHECK(error_of([] { mean(Tensor::zeros({0})); }).find("empty") != std::string::npos);
}
