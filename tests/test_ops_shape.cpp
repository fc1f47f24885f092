#include "autograd/kernels/threads.h"
#include "tests/helpers.h"
#include "tests/test_kernels_util.h"

using namespace cf;
using cf::test::error_of;
using cf::test::require_gradcheck;

TEST_CASE("shape ops move elements correctly", "[ops][shape]") {
  Tensor x = Tensor::arange(24);
  Tensor t = reshape(x, {2, 3, 4});
  CHECK(reshape(x, {-1, 6}).shape() == Shape{4, 6});
  CHECK(flatten(t, 1).shape() == Shape{2, 12});
  Tensor p = permute(t, {2, 0, 1});
  CHECK(p.shape() == Shape{4, 2, 3});
  CHECK(p.at({3, 1, 2}) == t.at({1, 2, 3}));
  Tensor tr = transpose(t, 0, -1);
  CHECK(tr.shape() == Shape{4, 3, 2});
  CHECK(tr.at({1, 2, 0}) == t.at({0, 2, 1}));
  Tensor c = concat({t, t * 2.0f}, 1);
  CHECK(c.shape() == Shape{2, 6, 4});
  CHECK(c.at({1, 4, 3}) == 2.0f * t.at({1, 1, 3}));
  Tensor s = slice(t, 2, 1, -1);
  CHECK(s.shape() == Shape{2, 3, 2});
  CHECK(s.at({1, 0, 1}) == t.at({1, 0, 2}));
  Tensor sel = index_select(t, 1, {2, 0, 2});
  CHECK(sel.at({1, 1, 3}) == t.at({1, 0, 3}));
  Tensor g = gather(reshape(x, {4, 6}), 1, {5, 0, 1, 1}, {4, 1});
  CHECK(g.to_vector() == std::vector<float>{5, 6, 13, 19});
}

TEST_CASE("permute matches the index definition on every copy path, with any thread count",
          "[ops][shape][threads]") {
  // Rows copied whole (last axis kept), tiles not a multiple of 16 (last two
  // swapped), size-1 axes dropped, neighbours merged, and 4-D head splits.
  const std::vector<std::pair<Shape, std::vector<int64_t>>> cases = {
      {{3, 37, 21}, {0, 2, 1}}, {{5, 7, 9}, {1, 0, 2}},       {{2, 1, 33, 1, 17}, {4, 3, 2, 1, 0}},
      {{4, 6, 8, 3}, {0, 2, 1, 3}}, {{4, 6, 8, 3}, {3, 1, 0, 2}}, {{64, 40}, {1, 0}},
      {{2, 3, 4, 5}, {0, 1, 2, 3}}, {{1, 1}, {1, 0}}};
  cf::test::ThreadCountGuard guard;
  for (const auto& [shape, axes] : cases) {
    INFO(shape_str(shape) << " by " << shape_str(axes));
    const Tensor x = Tensor::randn(shape, 1);
    const size_t rank = shape.size();
    Shape out(rank);
    for (size_t d = 0; d < rank; ++d) out[d] = shape[size_t(axes[d])];
    std::vector<float> want(size_t(x.numel()));
    std::vector<int64_t> idx(rank, 0), src_idx(rank);
    for (size_t i = 0; i < want.size(); ++i) {
      for (size_t d = 0; d < rank; ++d) src_idx[size_t(axes[d])] = idx[d];
      want[i] = x.at(src_idx);
      for (size_t d = rank; d-- > 0;)
        if (++idx[d] < out[d]) break;
        else idx[d] = 0;
    }
    for (int threads : {1, 2, 3}) {
      kernels::set_num_threads(threads);
      const Tensor y = permute(x, axes);
      CHECK(y.shape() == out);
      CHECK(y.to_vector() == want);
    }
  }
}

TEST_CASE("shape op gradients", "[ops][shape][grad]") {
  Tensor x = Tensor::randn({2, 3, 4}, 21);
  using V = const std::vector<Tensor>&;
  require_gradcheck([](V v) { return reshape(v[0], {4, -1}); }, {x});
  require_gradcheck([](V v) { return flatten(v[0], 0, 1); }, {x});
  require_gradcheck([](V v) { return permute(v[0], {1, 2, 0}); }, {x});
  require_gradcheck([](V v) { return transpose(v[0], 1, 2); }, {x});
  require_gradcheck([](V v) { return transpose(v[0], 0, 0); }, {x});
  require_gradcheck([](V v) { return concat({v[0], v[1]}, 0); }, {x, Tensor::randn({1, 3, 4}, 22)});
  require_gradcheck([](V v) { return concat({v[0], v[1], v[0]}, -1); }, {x, Tensor::randn({2, 3, 1}, 23)});
  require_gradcheck([](V v) { return slice(v[0], 1, 1, 3); }, {x});
  require_gradcheck([](V v) { return slice(v[0], -1, 0, 1); }, {x});
  // Repeated indices: their gradients add.
  require_gradcheck([](V v) { return index_select(v[0], 2, {3, 3, 0}); }, {x});
  require_gradcheck([](V v) { return index_select(v[0], 0, {1}); }, {x});
  require_gradcheck([](V v) { return gather(v[0], 2, {0, 3, 3, 1, 2, 2}, {2, 3, 1}); }, {x});
  require_gradcheck([](V v) { return gather(v[0], 0, {1, 0, 1, 1}, {2, 2, 1}); }, {x});
  Tensor one = Tensor::randn({1}, 24);
  require_gradcheck([](V v) { return reshape(v[0], {1, 1}); }, {one});
}

TEST_CASE("shape ops report bad arguments", "[ops][shape][errors]") {
  Tensor x = Tensor::ones({2, 3});
  CHECK(error_of([&] { reshape(x, {4, 2}); }).find("reshape: cannot reshape [2, 3] (6 elements) to [4, 2]") != std::string::npos);
  CHECK(error_of([&] { reshape(x, {-1, -1}); }).find("more than one -1") != std::string::npos);
  CHECK(error_of([&] { permute(x, {0, 0}); }).find("repeated") != std::string::npos);
  CHECK(error_of([&] { permute(x, {0}); }).find("for shape [2, 3]") != std::string::npos);
  CHECK(error_of([&] { transpose(x, 0, 2); }).find("transpose: axis 2") != std::string::npos);
  CHECK(error_of([&] { concat({x, Tensor::ones({3, 3})}, 1); }).find("concat: shape [3, 3]") != std::string::npos);
  CHECK(error_of([&] { concat({}, 0); }).find("no tensors") != std::string::npos);
  CHECK(error_of([&] { slice(x, 1, 2, 5); }).find("slice: range [2, 5)") != std::string::npos);
  CHECK(error_of([&] { index_select(x, 0, {2}); }).find("index_select: index 2 out of range") != std::string::npos);
  CHECK(error_of([&] { gather(x, 1, {0, 3}, {2, 1}); }).find("gather: index 3") != std::string::npos);
  CHECK(error_of([&] { gather(x, 1, {0, 1}, {2}); }).find("differ in rank") != std::string::npos);
}
