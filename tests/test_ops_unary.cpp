#include "tests/helpers.h"

using namespace cf;
using cf::test::away_from_zero;
using cf::test::error_of;
using cf::test::require_gradcheck;

namespace {
using UnaryFn = Tensor (*)(const Tensor&);
const std::vector<Shape> kShapes = {{1}, {7}, {3, 4}, {2, 1, 5}};
}  // namespace

TEST_CASE("unary ops compute the right values", "[ops][unary]") {
  Tensor x = Tensor::from({-2.0f, -0.5f, 0.5f, 3.0f}, {4});
  CHECK(relu(x).to_vector() == std::vector<float>{0, 0, 0.5f, 3});
  CHECK(squared_relu(x).to_vector() == std::vector<float>{0, 0, 0.25f, 9});
  CHECK(abs(x).to_vector() == std::vector<float>{2, 0.5f, 0.5f, 3});
  CHECK(neg(x).at({3}) == -3.0f);
  CHECK(gelu(x).at({3}) == Approx(0.5 * 3 * (1 + std::erf(3 / std::sqrt(2.0)))));
  CHECK(sigmoid(x).at({0}) == Approx(1 / (1 + std::exp(2.0))));
  CHECK((x + 1.0f).at({0}) == -1.0f);
  CHECK((1.0f - x).at({0}) == 3.0f);
  CHECK((x / 2.0f).at({3}) == 1.5f);
  CHECK((6.0f / x).at({3}) == Approx(2.0f));
  CHECK(pow(x, 2.0f).at({0}) == 4.0f);
}

TEST_CASE("smooth unary op gradients", "[ops][unary][grad]") {
  const std::vector<std::pair<const char*, UnaryFn>> ops = {
      {"neg", neg}, {"exp", exp}, {"tanh", tanh}, {"sigmoid", sigmoid}, {"gelu", gelu}};
  for (const auto& [name, op] : ops)
    for (const Shape& s : kShapes) {
      INFO(name << " on " << shape_str(s));
      require_gradcheck([op = op](const std::vector<Tensor>& x) { return op(x[0]); },
                        {Tensor::randn(s, 5)});
    }
}

TEST_CASE("unary op gradients on positive inputs", "[ops][unary][grad]") {
  // log, sqrt and fractional pow need x > 0.
  for (const Shape& s : kShapes) {
    Tensor x = abs(away_from_zero(s, 6, 0.3f));
    INFO(shape_str(s));
    require_gradcheck([](const std::vector<Tensor>& v) { return log(v[0]); }, {x});
    require_gradcheck([](const std::vector<Tensor>& v) { return sqrt(v[0]); }, {x});
    require_gradcheck([](const std::vector<Tensor>& v) { return pow(v[0], 1.7f); }, {x});
    require_gradcheck([](const std::vector<Tensor>& v) { return pow(v[0], -2.0f); }, {x});
  }
}

TEST_CASE("pow with an integer exponent on negative inputs", "[ops][unary][grad]") {
  // x^p is defined for x < 0 when p is an integer (odd p: an odd function).
  Tensor x = Tensor::from({-2.0f, -0.5f, 0.5f, 3.0f}, {4});
  CHECK(pow(x, 3.0f).to_vector() == std::vector<float>{-8.0f, -0.125f, 0.125f, 27.0f});
  CHECK(pow(x, -1.0f).at({0}) == -0.5f);
  for (const Shape& s : kShapes) {
    Tensor neg_x = neg(abs(away_from_zero(s, 9, 0.3f)));
    INFO(shape_str(s));
    for (float p : {2.0f, 3.0f, -1.0f, -2.0f})
      require_gradcheck([p](const std::vector<Tensor>& v) { return pow(v[0], p); }, {neg_x});
  }
}

TEST_CASE("piecewise unary op gradients away from the kink", "[ops][unary][grad]") {
  for (const Shape& s : kShapes) {
    Tensor x = away_from_zero(s, 7);
    INFO(shape_str(s));
    require_gradcheck([](const std::vector<Tensor>& v) { return abs(v[0]); }, {x});
    require_gradcheck([](const std::vector<Tensor>& v) { return relu(v[0]); }, {x});
    require_gradcheck([](const std::vector<Tensor>& v) { return squared_relu(v[0]); }, {x});
  }
}

TEST_CASE("scalar op gradients", "[ops][unary][grad]") {
  Tensor x = Tensor::randn({3, 2}, 8);
  require_gradcheck([](const std::vector<Tensor>& v) { return v[0] * 3.0f + 1.0f; }, {x});
  require_gradcheck([](const std::vector<Tensor>& v) { return 2.0f - v[0] / 4.0f; }, {x});
  require_gradcheck([](const std::vector<Tensor>& v) { return 1.0f / (v[0] * v[0] + 1.0f); }, {x});
}

TEST_CASE("unary ops reject empty tensors", "[ops][unary][errors]") {
  std::string msg = error_of([] { exp(Tensor::zeros({3, 0})); });
  CHECK(msg.find("exp") != std::string::npos);
  CHECK(msg.find("[3, 0]") != std::string::npos);
  CHECK(error_of([] { gelu(Tensor()); }).find("gelu") != std::string::npos);
}
