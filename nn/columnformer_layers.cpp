#include "nn/columnformer_layers.h"

#include "autograd/error.h"
#include "autograd/ops.h"
#include "nn/mixture.h"
#include "nn/untied.h"

namespace cf {

WeightMode parse_weight_mode(const std::string& key, const std::string& value) {
  if (value == "classic") return WeightMode::Classic;
  if (value == "untied") return WeightMode::Untied;
  if (value == "moe") return WeightMode::Moe;
  throw Error("config: key \"" + key + "\" has value \"" + value + "\"; allowed: classic, untied, moe");
}

namespace {
void check_sharing(const Sharing& s, const char* what) {
  CF_CHECK(s.mode != WeightMode::Untied || s.tokens > 0,
           what << ": untied weights need the number of columns, got " << s.tokens);
  CF_CHECK(s.mode != WeightMode::Moe || s.coeffs, what << ": moe weights need the block's coefficients");
}
}  // namespace

std::unique_ptr<TokenLayer> make_linear(const Sharing& s, int64_t in, int64_t out, bool bias) {
  check_sharing(s, "make_linear");
  switch (s.mode) {
    case WeightMode::Untied: return std::make_unique<UntiedLinear>(s.tokens, in, out, bias);
    case WeightMode::Moe: return std::make_unique<MixtureLinear>(*s.coeffs, in, out, bias);
    default: return std::make_unique<SharedLinear>(in, out, bias);
  }
}

std::unique_ptr<TokenLayer> make_norm(const Sharing& s, int64_t dim) {
  check_sharing(s, "make_norm");
  switch (s.mode) {
    case WeightMode::Untied: return std::make_unique<UntiedLayerNorm>(s.tokens, dim);
    case WeightMode::Moe: return std::make_unique<MixtureLayerNorm>(*s.coeffs, dim);
    default: return std::make_unique<SharedLayerNorm>(dim);
  }
}

SharedLinear::SharedLinear(int64_t in, int64_t out, bool with_bias) {
  CF_CHECK(in > 0 && out > 0, "Linear: sizes in " << in << ", out " << out << " must be positive");
  register_parameter("weight", &weight, {out, in}, Init::trunc_normal(0.02f));
  if (with_bias) register_parameter("bias", &bias, {out}, Init::zeros());
}

Tensor SharedLinear::forward(const Tensor& x) { return shared_linear(x, weight, bias); }

SharedLayerNorm::SharedLayerNorm(int64_t dim) {
  register_parameter("weight", &weight, {dim}, Init::ones());
  register_parameter("bias", &bias, {dim}, Init::zeros());
}

Tensor SharedLayerNorm::forward(const Tensor& x) { return layer_norm(x, weight, bias); }

ColumnMLP::ColumnMLP(const Sharing& s, int64_t dim, int64_t hidden, const std::string& act_name)
    : fc1(make_linear(s, dim, hidden)), act(act_name), fc2(make_linear(s, hidden, dim)) {
  register_module("fc1", *fc1);
  register_module("act", act);
  register_module("fc2", *fc2);
}

Tensor ColumnMLP::forward(const Tensor& x) { return fc2->forward(act.forward(fc1->forward(x))); }

}  // namespace cf
