// Module: names, state dicts, seeded initialisation, modes, summary.
#include "nn/block.h"
#include "nn/linear.h"
#include "tests/helpers.h"

using namespace cf;
using cf::test::error_of;

namespace {

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

std::vector<std::string> names_of(const NamedTensors& named) {
  std::vector<std::string> out;
  for (const auto& [name, t] : named) out.push_back(name);
  return out;
}

struct Two : Module {
  Linear first{4, 3}, second{3, 2, false};
  Tensor scale, count;
  Two() {
    register_module("first", first);
    register_parameter("scale", &scale, {2}, Init::ones());
    register_buffer("count", &count, Tensor::zeros({1}));
    register_module("second", second);
  }
};

// The same modules registered in another order: init must not change.
struct TwoReversed : Module {
  Linear second{3, 2, false}, first{4, 3};
  TwoReversed() {
    register_module("second", second);
    register_module("first", first);
  }
};

BlockOptions tiny_block() {
  BlockOptions o;
  o.attention.dim = 8;
  o.attention.heads = 2;
  o.attention.tokens = 4;
  o.mlp_hidden = 16;
  return o;
}

}  // namespace

TEST_CASE("Module names parameters hierarchically", "[nn][module]") {
  // PyTorch's order: a module's own tensors, then its children's, depth first.
  Two m;
  CHECK(names_of(m.named_parameters()) ==
        std::vector<std::string>{"scale", "first.weight", "first.bias", "second.weight"});
  CHECK(names_of(m.state_dict()) ==
        std::vector<std::string>{"scale", "count", "first.weight", "first.bias", "second.weight"});
  CHECK(m.num_parameters() == 4 * 3 + 3 + 2 + 3 * 2);
  CHECK(m.parameters().size() == 4);
  CHECK(m.named_buffers().size() == 1);
  CHECK(m.parameter("first.weight").shape() == Shape{3, 4});
  CHECK(contains(error_of([&] { m.parameter("first.wieght"); }), "did you mean \"first.weight\""));

  Block block(tiny_block());
  CHECK(names_of(block.named_parameters()) ==
        std::vector<std::string>{"norm1.weight", "norm1.bias", "attn.q.weight", "attn.k.weight",
                                 "attn.v.weight", "attn.proj.weight", "attn.proj.bias",
                                 "norm2.weight", "norm2.bias", "mlp.fc1.weight", "mlp.fc1.bias",
                                 "mlp.fc2.weight", "mlp.fc2.bias"});
}

TEST_CASE("Initialisation depends on seed and name, not construction order", "[nn][module]") {
  Two a, b;
  TwoReversed r;
  a.init_parameters(7);
  b.init_parameters(7);
  r.init_parameters(7);
  CHECK(a.first.weight.to_vector() == b.first.weight.to_vector());
  CHECK(a.first.weight.to_vector() == r.first.weight.to_vector());
  CHECK(a.second.weight.to_vector() == r.second.weight.to_vector());
  CHECK(a.first.weight.to_vector() != a.second.weight.to_vector());
  b.init_parameters(8);
  CHECK(a.first.weight.to_vector() != b.first.weight.to_vector());
  // Section 0: trunc_normal(0.02) weights, zero biases.
  for (float w : a.first.weight.to_vector()) CHECK(std::fabs(w) <= 0.04f);
  for (float x : a.first.bias.to_vector()) CHECK(x == 0.0f);
  for (float x : a.scale.to_vector()) CHECK(x == 1.0f);
}

TEST_CASE("state_dict and load_state_dict round-trip", "[nn][module]") {
  Two a, b;
  a.init_parameters(1);
  b.init_parameters(2);
  a.count.data()[0] = 5.0f;
  b.load_state_dict(a.state_dict());
  CHECK(b.first.weight.to_vector() == a.first.weight.to_vector());
  CHECK(b.count.item() == 5.0f);
  // Values are copied into the existing tensors: the handles stay.
  CHECK(b.first.weight.impl() != a.first.weight.impl());
}

TEST_CASE("load_state_dict lists missing, unexpected and mismatched tensors", "[nn][module][errors]") {
  Two m;
  NamedTensors state = m.state_dict();
  REQUIRE(state[0].first == "scale");
  state[0].second = Tensor::zeros({3});                   // scale: [2] vs [3]
  REQUIRE(state[2].first == "first.weight");
  state.erase(state.begin() + 2);                         // first.weight missing
  state.emplace_back("extra.weight", Tensor::zeros({1}));  // unexpected
  std::string msg = error_of([&] { m.load_state_dict(state); });
  CHECK(contains(msg, "missing (1): first.weight"));
  CHECK(contains(msg, "unexpected (1): extra.weight"));
  CHECK(contains(msg, "shape mismatch (1): scale: given [3], model [2]"));
}

TEST_CASE("train/eval reach every submodule and zero_grad clears gradients", "[nn][module]") {
  Block block(tiny_block());
  CHECK(block.is_training());
  block.eval();
  CHECK(!block.is_training());
  CHECK(!block.attn.q.is_training());
  block.train();
  CHECK(block.mlp.fc1.is_training());

  Tensor x = Tensor::randn({2, 4, 8}, 3);
  sum(block.forward(x)).backward();
  CHECK(block.mlp.fc1.weight.grad().defined());
  block.zero_grad();
  CHECK(!block.mlp.fc1.weight.grad().defined());
}

TEST_CASE("summary lists every parameter with shape, count and total", "[nn][module]") {
  Two m;
  std::string s = m.summary();
  CHECK(contains(s, "first.weight"));
  CHECK(contains(s, "[3, 4]"));
  CHECK(contains(s, "total: 23 parameters in 4 tensors"));
}
