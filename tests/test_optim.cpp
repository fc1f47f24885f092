// SGD and AdamW against the update rules written out in double precision,
// and the split into weight-decay groups.
#include <cmath>
#include <sstream>

#include "nn/registry.h"
#include "train/optim.h"
#include "tests/helpers.h"

using namespace cf;
using cf::test::error_of;

namespace {

// A parameter with a fixed gradient: the loss sum(p * c) has gradient c.
void set_gradient(Tensor& p, const std::vector<float>& c) {
  p.zero_grad();
  sum(mul(p, Tensor::from(c, p.shape()))).backward();
}

bool has(const ParamGroup& g, const Tensor& t) {
  for (const Tensor& p : g.params)
    if (p.impl() == t.impl()) return true;
  return false;
}

}  // namespace

TEST_CASE("AdamW follows the decoupled update rule", "[optim]") {
  Tensor p = Tensor::from({0.5f, -1.0f, 2.0f}, {3}).requires_grad_();
  AdamW opt({ParamGroup{{p}, 0.1f, "all"}}, 0.01f, 0.9f, 0.99f, 1e-8f);
  std::vector<double> ref = {0.5, -1.0, 2.0}, m(3, 0.0), v(3, 0.0);
  const std::vector<std::vector<float>> grads = {{1.0f, -2.0f, 0.5f}, {0.3f, 0.1f, -4.0f}, {-1.0f, 1.0f, 1.0f}};
  for (size_t t = 1; t <= grads.size(); ++t) {
    set_gradient(p, grads[t - 1]);
    opt.step();
    for (size_t i = 0; i < 3; ++i) {
      const double g = grads[t - 1][i];
      ref[i] -= 0.01 * 0.1 * ref[i];
      m[i] = 0.9 * m[i] + 0.1 * g;
      v[i] = 0.99 * v[i] + 0.01 * g * g;
      const double mhat = m[i] / (1 - std::pow(0.9, double(t))), vhat = v[i] / (1 - std::pow(0.99, double(t)));
      ref[i] -= 0.01 * mhat / (std::sqrt(vhat) + 1e-8);
      CHECK(p.at({int64_t(i)}) == Approx(ref[i]).epsilon(1e-5));
    }
  }
}

TEST_CASE("SGD with momentum, Nesterov and weight decay follows PyTorch's rule", "[optim]") {
  for (bool nesterov : {false, true}) {
    INFO("nesterov " << nesterov);
    Tensor p = Tensor::from({1.0f, -2.0f}, {2}).requires_grad_();
    SGD opt({ParamGroup{{p}, 0.01f, "all"}}, 0.1f, 0.9f, nesterov);
    std::vector<double> ref = {1.0, -2.0}, buf(2, 0.0);
    const std::vector<std::vector<float>> grads = {{1.0f, 2.0f}, {-0.5f, 1.0f}, {0.25f, -3.0f}};
    for (size_t t = 0; t < grads.size(); ++t) {
      set_gradient(p, grads[t]);
      opt.step();
      for (size_t i = 0; i < 2; ++i) {
        double d = grads[t][i] + 0.01 * ref[i];
        buf[i] = t == 0 ? d : 0.9 * buf[i] + d;
        ref[i] -= 0.1 * (nesterov ? d + 0.9 * buf[i] : buf[i]);
        CHECK(p.at({int64_t(i)}) == Approx(ref[i]).epsilon(1e-5));
      }
    }
  }
  Tensor q = Tensor::from({3.0f}, {1}).requires_grad_();
  SGD plain({ParamGroup{{q}, 0.0f, "all"}}, 0.5f);
  set_gradient(q, {2.0f});
  plain.step();
  CHECK(q.item() == 2.0f);
}

TEST_CASE("Optimisers skip parameters without gradients, and zero_grad drops them", "[optim]") {
  Tensor a = Tensor::ones({2}).requires_grad_(), b = Tensor::ones({2}).requires_grad_();
  AdamW opt({ParamGroup{{a, b}, 0.0f, "all"}}, 0.1f);
  set_gradient(a, {1.0f, 1.0f});
  opt.step();
  CHECK(a.at({0}) < 1.0f);
  CHECK(b.to_vector() == std::vector<float>{1.0f, 1.0f});
  opt.zero_grad();
  CHECK(!a.grad().defined());
}

TEST_CASE("AdamW minimises a quadratic", "[optim]") {
  Tensor x = Tensor::from({3.0f, -2.0f, 1.0f}, {3}).requires_grad_();
  Tensor target = Tensor::from({1.0f, 0.5f, -1.0f}, {3});
  AdamW opt({ParamGroup{{x}, 0.0f, "x"}}, 0.05f);
  for (int i = 0; i < 400; ++i) {
    opt.zero_grad();
    Tensor d = sub(x, target);
    sum(mul(d, d)).backward();
    opt.step();
  }
  for (int64_t i = 0; i < 3; ++i) CHECK(x.at({i}) == Approx(target.at({i})).margin(1e-2));
}

TEST_CASE("weight_decay_groups exempts biases, norms, positions and attention biases", "[optim]") {
  Config c = Config::parse("dim = 8\ndepth = 1\nheads = 2\nimage_size = 8\npool = cls\n"
                           "attn_bias = true\nhead_bias = true\nlayer_scale = 0.1\nqkv_bias = true\n");
  auto model = build_model("vit_lite_cpu", c);
  std::vector<ParamGroup> groups = weight_decay_groups(*model, 0.05f);
  REQUIRE(groups.size() == 2);
  const ParamGroup &decay = groups[0], &no_decay = groups[1];
  CHECK(decay.weight_decay == 0.05f);
  CHECK(no_decay.weight_decay == 0.0f);
  for (const auto& [name, t] : model->named_parameters()) {
    INFO(name);
    const bool expect_decay = name == "patch_embed.proj.weight" || name == "head.weight" ||
                              name == "blocks.0.attn.q.weight" || name == "blocks.0.attn.k.weight" ||
                              name == "blocks.0.attn.v.weight" || name == "blocks.0.attn.proj.weight" ||
                              name == "blocks.0.mlp.fc1.weight" || name == "blocks.0.mlp.fc2.weight";
    CHECK(has(decay, t) == expect_decay);
    CHECK(has(no_decay, t) == !expect_decay);
  }
  CHECK(weight_decay_groups(*model, 0.05f, true).size() == 1);
}

// By role, whatever the shape: the untied, mixture and region layers keep
// their biases and norm parameters as (N, D), (D, E) or (R, N, D) tensors.
TEST_CASE("weight decay spares biases, norms and positions of every shape", "[optim]") {
  const auto spared = [](const std::string& name) {
    std::vector<std::string> parts;
    std::istringstream in(name);
    for (std::string part; std::getline(in, part, '.');) parts.push_back(part);
    const std::string& leaf = parts.back();
    if (leaf == "bias" || (leaf.size() > 5 && leaf.substr(leaf.size() - 5) == "_bias")) return true;
    for (const std::string& part : parts)
      if (part.rfind("norm", 0) == 0 || part == "pos_embed" || part == "time_embed" ||
          part == "cls_token" || part == "pos_u" || part == "pos_v")
        return true;
    return false;
  };
  const std::pair<const char*, const char*> models[] = {
      {"vision_columnformer_ff_tiny_cifar", "image_size = 8\npatch_size = 2\ndim = 16\n"},
      {"vision_columnformer_r_tiny_cifar", "image_size = 8\npatch_size = 2\ndim = 16\n"
                                           "time_embed = true\n"},
      {"vision_moemixer_tiny_cifar", "image_size = 8\npatch_size = 2\ndim = 16\n"},
      {"cortical_baseline", "image_size = 8\nconv_layers = 1\ndim = 8\nheads = 2\n"},
      {"aft_full_cifar", "image_size = 12\ndim = 4\ndepth = 1\nheads = 2\n"},
      {"aft_conv_cifar", "image_size = 12\ndim = 4\ndepth = 1\nheads = 2\n"}};
  for (const auto& [name, keys] : models) {
    auto model = build_model(name, Config::parse(keys));
    const std::vector<ParamGroup> groups = weight_decay_groups(*model, 0.05f);
    REQUIRE(groups.size() == 2);
    int64_t spared_multi_axis = 0;
    for (const auto& [param, t] : model->named_parameters()) {
      INFO(name << ": " << param << " " << shape_str(t.shape()));
      const bool expect_decay = t.dim() >= 2 && !spared(param);
      CHECK(has(groups[0], t) == expect_decay);
      CHECK(has(groups[1], t) == !expect_decay);
      spared_multi_axis += t.dim() >= 2 && !expect_decay;
    }
    INFO(name);
    CHECK(spared_multi_axis > 0);  // the case this test is for
  }
}

TEST_CASE("Optimisers reject bad settings", "[optim][errors]") {
  Tensor p = Tensor::ones({1}).requires_grad_();
  CHECK(error_of([&] { SGD({ParamGroup{{p}, 0.0f, "g"}}, 0.1f, 0.0f, true); }) ==
        "SGD: nesterov needs a momentum > 0");
  CHECK(error_of([&] { AdamW({ParamGroup{{p}, 0.0f, "g"}}, -1.0f); }) ==
        "optimizer: learning rate -1 must be >= 0");
  CHECK(error_of([&] { AdamW({ParamGroup{{Tensor::ones({1})}, 0.0f, "g"}}); }) ==
        "optimizer: group \"g\" holds a tensor that does not require grad");
  CHECK(error_of([&] { AdamW({ParamGroup{{p}, 0.0f, "g"}}, 0.1f, 1.0f); }) ==
        "AdamW: betas (1, 0.999) must be in [0, 1)");
}

TEST_CASE("Adam adds L2 weight decay to the gradient", "[optim]") {
  Tensor p = Tensor::from({0.5f, -1.0f}, {2}).requires_grad_();
  Adam opt({ParamGroup{{p}, 0.1f, "all"}}, 0.01f, 0.9f, 0.99f, 1e-8f);
  std::vector<double> ref = {0.5, -1.0}, m(2, 0.0), v(2, 0.0);
  const std::vector<std::vector<float>> grads = {{1.0f, -2.0f}, {0.3f, 0.1f}};
  for (size_t t = 1; t <= grads.size(); ++t) {
    set_gradient(p, grads[t - 1]);
    opt.step();
    for (size_t i = 0; i < 2; ++i) {
      const double g = grads[t - 1][i] + 0.1 * ref[i];  // the decay joins the gradient
      m[i] = 0.9 * m[i] + 0.1 * g;
      v[i] = 0.99 * v[i] + 0.01 * g * g;
      const double mhat = m[i] / (1 - std::pow(0.9, double(t))), vhat = v[i] / (1 - std::pow(0.99, double(t)));
      ref[i] -= 0.01 * mhat / (std::sqrt(vhat) + 1e-8);
      CHECK(p.at({int64_t(i)}) == Approx(ref[i]).epsilon(1e-5));
    }
  }
}

TEST_CASE("Optimiser state round-trips exactly through state_dict", "[optim]") {
  const std::vector<std::vector<float>> grads = {{1.0f, -2.0f, 0.5f}, {0.3f, 0.1f, -4.0f}, {-1.0f, 1.0f, 1.0f}};
  auto run = [&](bool reload) {
    Tensor p = Tensor::from({0.5f, -1.0f, 2.0f}, {3}).requires_grad_();
    std::unique_ptr<Optimizer> a = std::make_unique<AdamW>(std::vector<ParamGroup>{{{p}, 0.1f, "all"}}, 0.01f);
    std::unique_ptr<Optimizer> s = std::make_unique<SGD>(std::vector<ParamGroup>{{{p}, 0.0f, "all"}}, 0.01f, 0.9f);
    for (size_t t = 0; t < grads.size(); ++t) {
      if (reload && t == 1) {  // a fresh optimiser given the saved state
        NamedTensors sa = a->state_dict(), ss = s->state_dict();
        a = std::make_unique<AdamW>(std::vector<ParamGroup>{{{p}, 0.1f, "all"}}, 0.01f);
        s = std::make_unique<SGD>(std::vector<ParamGroup>{{{p}, 0.0f, "all"}}, 0.01f, 0.9f);
        a->load_state_dict(sa);
        s->load_state_dict(ss);
      }
      set_gradient(p, grads[t]);
      a->step();
      s->step();
    }
    return p.to_vector();
  };
  CHECK(run(false) == run(true));
  Tensor q = Tensor::ones({2}).requires_grad_();
  AdamW opt({ParamGroup{{q}, 0.0f, "all"}});
  CHECK(error_of([&] { opt.load_state_dict({{"0.0.exp_avg", Tensor::zeros({3})}}); })
            .find("state 0.0.exp_avg has shape [3], the parameter [2]") != std::string::npos);
  CHECK(error_of([&] { opt.load_state_dict({{"5.0.exp_avg", Tensor::zeros({2})}}); })
            .find("matches no parameter") != std::string::npos);
}
