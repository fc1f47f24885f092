#include "nn/cortical_block.h"

#include "autograd/error.h"
#include "autograd/graph.h"
#include "autograd/kernels/gemm.h"
#include "autograd/ops.h"
#include "autograd/ops/reduce.h"

namespace cf {

Tensor region_linear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  CF_CHECK(x.defined() && weight.defined() && bias.defined() && x.dim() == 3 && weight.dim() == 3 &&
               x.size(0) == weight.size(0) && x.size(2) == weight.size(1) &&
               bias.shape() == Shape({weight.size(0), weight.size(2)}),
           "region_linear: input of shape " << (x.defined() ? shape_str(x.shape()) : "undefined")
                                            << ", weight of shape "
                                            << (weight.defined() ? shape_str(weight.shape()) : "undefined")
                                            << " and bias of shape "
                                            << (bias.defined() ? shape_str(bias.shape()) : "undefined")
                                            << ", expected [R, M, in], [R, in, out] and [R, out]");
  const int64_t R = x.size(0), M = x.size(1), in = x.size(2), out = weight.size(2);
  Tensor y = Tensor::empty({R, M, out});
  // y_r = x_r W_r + b_r: bias row r is the addend D of product r (ldd 0).
  kernels::sgemm_batched(false, false, M, out, in, 1.0f, x.data(), in, M * in, weight.data(), out,
                         in * out, 1.0f, y.data(), out, M * out, R, bias.data(), 0, out);
  const auto backward = [x, weight, bias, R, M, in, out](const Tensor& g) {
    Tensor dx, dw, db;
    if (x.requires_grad()) {  // dx_r = g_r W_r^T
      dx = Tensor::empty(x.shape());
      kernels::sgemm_batched(false, true, M, in, out, 1.0f, g.data(), out, M * out, weight.data(),
                             out, in * out, 0.0f, dx.data(), in, M * in, R);
    }
    if (weight.requires_grad()) {  // dW_r = x_r^T g_r
      dw = Tensor::empty(weight.shape());
      kernels::sgemm_batched(true, false, in, out, M, 1.0f, x.data(), in, M * in, g.data(), out,
                             M * out, 0.0f, dw.data(), out, in * out, R);
    }
    if (bias.requires_grad()) {  // db_r = the sum of g_r's M rows
      db = Tensor::empty(bias.shape());
      detail::sum_axis(g.data(), db.data(), R, M, out);
    }
    return std::vector<Tensor>{dx, dw, db};
  };
  return record("region_linear", y, {x, weight, bias}, backward);
}

RegionLinear::RegionLinear(int64_t regions, int64_t in, int64_t out) {
  CF_CHECK(regions > 0 && in > 0 && out > 0, "RegionLinear: regions " << regions << ", in " << in
                                                                      << ", out " << out
                                                                      << " must be positive");
  // As Linear (section 0): W ~ trunc_normal(0.02), b = 0.
  register_parameter("weight", &weight, {regions, in, out}, Init::trunc_normal(0.02f));
  register_parameter("bias", &bias, {regions, out}, Init::zeros(), Decay::no);
}

Tensor RegionLinear::forward(const Tensor& x) const { return region_linear(x, weight, bias); }

namespace {

const CorticalOptions& checked(const CorticalOptions& o) {
  CF_CHECK(o.regions > 0 && o.timesteps > 0 && o.tokens > 0 && o.dim > 0 && o.mlp_hidden > 0,
           "CorticalBlock: regions " << o.regions << ", timesteps " << o.timesteps << ", tokens "
                                     << o.tokens << ", dim " << o.dim << ", mlp_hidden "
                                     << o.mlp_hidden << " must be positive");
  CF_CHECK(o.attention.regions == o.regions && o.attention.dim == o.dim,
           "CorticalBlock: attention built for " << o.attention.regions << " regions of dim "
                                                 << o.attention.dim << ", block for " << o.regions
                                                 << " of dim " << o.dim);
  CF_CHECK(o.token_interactions || o.pattern != ConnectivityPattern::feedforward_ti,
           "CorticalBlock: pattern feedforward_ti needs token interactions");
  return o;
}

// Region r of t (R, ...) as its own tensor (...).
std::vector<Tensor> regions_of(const Tensor& t) {
  Shape one(t.shape().begin() + 1, t.shape().end());
  std::vector<Tensor> out;
  for (int64_t r = 0; r < t.size(0); ++r) out.push_back(reshape(slice(t, 0, r, r + 1), one));
  return out;
}

}  // namespace

CorticalBlock::CorticalBlock(const CorticalOptions& o)
    : options(checked(o)),
      norm1(o.regions, o.tokens, o.dim, o.norm_stats, o.norm_affine),
      attn(o.attention),
      norm2(o.regions, o.tokens, o.dim, o.norm_stats, o.norm_affine),
      fc1(o.regions, o.dim, o.mlp_hidden),
      residual_routing(RoutedMatrix::residual, o.pattern, o.regions, {o.dim}, o.dropoff_lambda,
                       o.seed, "residual_routing.mask") {
  register_module("norm1", norm1);
  register_module("attn", attn);
  register_module("norm2", norm2);
  register_module("fc1", fc1);
  if (o.token_interactions) {
    fc2 = std::make_unique<RegionLinear>(o.regions, o.mlp_hidden, o.dim);
    token_routing = std::make_unique<RegionRouting>(RoutedMatrix::tokens, o.pattern, o.regions,
                                                    Shape{o.tokens, o.tokens}, o.dropoff_lambda,
                                                    o.seed, "token_routing.mask");
    register_module("fc2", *fc2);
    register_module("token_routing", *token_routing);
  } else {
    second_layer = std::make_unique<RegionRouting>(RoutedMatrix::second_layer, o.pattern, o.regions,
                                                   Shape{o.mlp_hidden, o.dim}, o.dropoff_lambda,
                                                   o.seed, "second_layer.mask");
    register_module("second_layer", *second_layer);
    register_parameter("out_bias", &out_bias, {o.regions + 1, o.dim}, Init::zeros(), Decay::no);
  }
  register_module("residual_routing", residual_routing);
}

Tensor CorticalBlock::step(const Tensor& z, const Routes& routes, int64_t first, int64_t last) {
  const int64_t R = options.regions, B = z.size(1), N = options.tokens, D = options.dim;
  Tensor z1 = add(attn.forward(norm1.forward(z)), z);  // (K1)
  if (attn.keep_map) attention_.push_back(attn.attention_map());
  // GELU(RN2(z'_t)_r W^{1,r} + b^{1,r}) for every region: (R, B N, D_ff).
  Tensor hidden = gelu(fc1.forward(reshape(norm2.forward(z1), {R, B * N, D})));

  // U(z'_{t,r} B_r): B_r's blocks are diagonals, so a block scales channels.
  std::vector<Tensor> residual = residual_routing.route(
      routes.residual, regions_of(z1), first, last,
      [](const Tensor& diagonal, const Tensor& x) { return mul(x, diagonal); });
  std::vector<Tensor> mlp;
  if (token_routing) {  // U(W^{M,r} m_r): (N, N) blocks mix the tokens of m_r (B, N, D)
    Tensor m = reshape(fc2->forward(hidden), {R, B, N, D});
    mlp = token_routing->route(routes.mlp, regions_of(m), first, last,
                               [](const Tensor& w, const Tensor& x) { return matmul(w, x); });
  } else {  // U(h_r W~^{2,r}) (eq. 6): (D_ff, D) blocks, one per output port
    Tensor h = reshape(hidden, {R, B, N, options.mlp_hidden});
    mlp = second_layer->route(routes.mlp, regions_of(h), first, last,
                              [](const Tensor& w, const Tensor& x) { return matmul(x, w); });
  }

  std::vector<Tensor> ports;
  for (int64_t p = 0; p < last - first; ++p) {
    Tensor port;
    for (const Tensor& part : {residual[size_t(p)], mlp[size_t(p)]})
      if (part.defined()) port = port.defined() ? add(port, part) : part;
    if (!port.defined()) port = Tensor::zeros({B, N, D});  // a port nothing reaches
    if (out_bias.defined()) port = add(port, slice(out_bias, 0, first + p, first + p + 1));
    ports.push_back(reshape(port, {1, B, N, D}));
  }
  return concat(ports, 0);
}

Tensor CorticalBlock::forward(const Tensor& tokens) {
  const int64_t R = options.regions, N = options.tokens, D = options.dim, T = options.timesteps;
  CF_CHECK(tokens.defined() && tokens.dim() == 3 && tokens.size(1) == N && tokens.size(2) == D,
           "CorticalBlock: tokens of shape "
               << (tokens.defined() ? shape_str(tokens.shape()) : "undefined") << ", expected [B, "
               << N << ", " << D << "]");
  const int64_t B = tokens.size(0);
  // The routing matrices' effective blocks, once for all T steps.
  const Routes routes{residual_routing.blocks(),
                      token_routing ? token_routing->blocks() : second_layer->blocks()};
  // The tokens in region 1, zeros elsewhere: z_0, and what reinject adds.
  Tensor input = reshape(tokens, {1, B, N, D});
  if (R > 1) input = concat({input, Tensor::zeros({R - 1, B, N, D})}, 0);

  attention_.clear();
  latents_.clear();
  Tensor z = input;
  for (int64_t t = 1; t <= T; ++t) {
    if (options.reinject && t > 1) z = add(z, input);
    // The last step computes only the readout port; the others the R regions.
    z = t < T ? step(z, routes, 0, R) : step(z, routes, R, R + 1);
    latents_.push_back(z);
  }
  return reshape(z, {B, N, D});
}

std::vector<Tensor> CorticalBlock::attention_maps() const {
  std::vector<Tensor> maps;
  for (const Tensor& a : attention_)  // (R, H, B, N, N)
    for (const Tensor& region : regions_of(a)) maps.push_back(transpose(region, 0, 1));
  return maps;
}

std::vector<Tensor> CorticalBlock::region_outputs() const {
  std::vector<Tensor> out;
  for (const Tensor& z : latents_)
    for (const Tensor& region : regions_of(z)) out.push_back(region);
  return out;
}

int64_t CorticalBlock::learnable_parameters() const {
  int64_t n = norm1.num_parameters() + attn.learnable_parameters() + norm2.num_parameters() +
              fc1.num_parameters() + residual_routing.learnable_parameters();
  if (token_routing) return n + fc2->num_parameters() + token_routing->learnable_parameters();
  return n + second_layer->learnable_parameters() + out_bias.numel();
}

}  // namespace cf
