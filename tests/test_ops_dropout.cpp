#include "tests/helpers.h"

using namespace cf;
using cf::test::error_of;
using cf::test::require_gradcheck;

TEST_CASE("dropout drops about p and keeps the mean", "[ops][dropout]") {
  Tensor x = Tensor::ones({100000});
  Tensor y = dropout(x, 0.3f, true, 7);
  int64_t zeros = 0;
  for (float v : y.to_vector()) zeros += v == 0.0f;
  CHECK(std::fabs(double(zeros) / 100000.0 - 0.3) < 0.01);
  CHECK(mean(y).item() == Approx(1.0f).epsilon(0.02));
  CHECK(dropout(x, 0.3f, true, 7).to_vector() == y.to_vector());  // same seed, same mask
  CHECK(dropout(x, 0.3f, true, 8).to_vector() != y.to_vector());
  CHECK(dropout(x, 0.3f, false, 7).data() == x.data());  // eval: identity
}

TEST_CASE("dropout gradients", "[ops][dropout][grad]") {
  for (const Shape& s : std::vector<Shape>{{1}, {4, 6}}) {
    INFO(shape_str(s));
    require_gradcheck([](const std::vector<Tensor>& v) { return dropout(v[0], 0.5f, true, 3); }, {Tensor::randn(s, 61)});
    require_gradcheck([](const std::vector<Tensor>& v) { return dropout(v[0], 0.5f, false, 3) * 1.0f; }, {Tensor::randn(s, 61)});
  }
}

TEST_CASE("dropout rejects a bad probability", "[ops][dropout][errors]") {
  CHECK(error_of([] { dropout(Tensor::ones({2}), 1.0f, true, 0); }).find("dropout: probability 1 is not in [0, 1)") != std::string::npos);
}
