#include "tests/helpers.h"

using namespace cf;
using cf::test::error_of;
using cf::test::require_gradcheck;

TEST_CASE("layer_norm normalises the last axis", "[ops][norm]") {
  Tensor x = Tensor::randn({4, 16}, 41, 3.0f, 2.0f);
  Tensor y = layer_norm(x, Tensor(), Tensor());
  for (int64_t r = 0; r < 4; ++r) {
    Tensor row = slice(y, 0, r, r + 1);
    CHECK(mean(row).item() == Approx(0.0f).margin(1e-5));
    CHECK(var(row).item() == Approx(1.0f).margin(1e-3));
  }
  Tensor w = Tensor::full({16}, 2.0f), b = Tensor::full({16}, 1.0f);
  Tensor z = layer_norm(x, w, b);
  CHECK(z.at({2, 5}) == Approx(2.0f * y.at({2, 5}) + 1.0f));
}

TEST_CASE("layer_norm gradients", "[ops][norm][grad]") {
  using V = const std::vector<Tensor>&;
  for (const Shape& s : std::vector<Shape>{{1, 2}, {3, 5}, {2, 3, 8}, {4}}) {
    INFO(shape_str(s));
    Tensor x = Tensor::randn(s, 42);
    const int64_t d = s.back();
    require_gradcheck([](V v) { return layer_norm(v[0], Tensor(), Tensor()); }, {x});
    require_gradcheck([](V v) { return layer_norm(v[0], v[1], v[2]); },
                      {x, Tensor::randn({d}, 43, 1.0f), Tensor::randn({d}, 44)});
    require_gradcheck([](V v) { return layer_norm(v[0], v[1], Tensor()); },
                      {x, Tensor::randn({d}, 45, 1.0f)});
    // A bias without a weight: the backward's (no w, db) instance.
    require_gradcheck([](V v) { return layer_norm(v[0], Tensor(), v[1]); },
                      {x, Tensor::randn({d}, 46)});
  }
}

TEST_CASE("layer_norm rejects mismatched affine parameters", "[ops][norm][errors]") {
  std::string msg = error_of([] { layer_norm(Tensor::ones({2, 4}), Tensor::ones({3}), Tensor()); });
  CHECK(msg.find("layer_norm: weight of shape [3] for input of shape [2, 4]") != std::string::npos);
  CHECK(error_of([] { layer_norm(Tensor::scalar(1), Tensor(), Tensor()); }).find("layer_norm") != std::string::npos);
}
