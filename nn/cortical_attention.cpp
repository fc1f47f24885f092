#include "nn/cortical_attention.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "autograd/error.h"
#include "autograd/ops.h"
#include "autograd/random.h"

namespace cf {

std::vector<int64_t> meso_inputs(int64_t D, int64_t H, int64_t m, int64_t width) {
  CF_CHECK(m > 0 && D % m == 0,
           "config: key \"meso_m\" has value \"" << m << "\"; it must divide dim " << D);
  const int64_t rows = D / m;
  CF_CHECK(width >= 1 && width <= rows,
           "config: key \"meso_width\" has value \""
               << width << "\"; a head's window must fit the " << rows << " x " << m
               << " grid of dim " << D << " (meso_m " << m << "), so 1 <= meso_width <= " << rows);
  // The lattice hr x hc = H whose aspect is closest to the grid's (ties: fewer rows).
  const double aspect = double(rows) / double(m);
  int64_t hr = 1;
  double best = std::numeric_limits<double>::infinity();
  for (int64_t a = 1; a <= H; ++a)
    if (H % a == 0 && std::fabs(double(a) / double(H / a) - aspect) < best) {
      best = std::fabs(double(a) / double(H / a) - aspect);
      hr = a;
    }
  const int64_t hc = H / hr, col_width = std::min(width, m);
  auto wrap = [](int64_t i, int64_t n) { return ((i % n) + n) % n; };
  std::vector<int64_t> inputs;
  for (int64_t i = 0; i < hr; ++i)
    for (int64_t j = 0; j < hc; ++j) {
      const int64_t centre_row = int64_t(std::floor((double(i) + 0.5) * double(rows) / double(hr)));
      const int64_t centre_col = int64_t(std::floor((double(j) + 0.5) * double(m) / double(hc)));
      for (int64_t a = 0; a < width; ++a)
        for (int64_t b = 0; b < col_width; ++b)
          inputs.push_back(wrap(centre_row - width / 2 + a, rows) * m +
                           wrap(centre_col - col_width / 2 + b, m));
    }
  return inputs;
}

namespace {

const RegionAttentionOptions& checked(const RegionAttentionOptions& o) {
  CF_CHECK(o.regions > 0 && o.dim > 0 && o.heads > 0 && o.qk_dim > 0 && o.v_dim > 0,
           "MultiRegionAttention: regions " << o.regions << ", dim " << o.dim << ", heads "
                                            << o.heads << ", qk_dim " << o.qk_dim << ", v_dim "
                                            << o.v_dim << " must be positive");
  CF_CHECK(o.density > 0 && o.density <= 1,
           "MultiRegionAttention: density " << o.density << " must be in (0, 1]");
  CF_CHECK(o.inputs.size() % size_t(o.heads) == 0,
           "MultiRegionAttention: " << o.inputs.size() << " meso inputs for " << o.heads << " heads");
  for (int64_t i : o.inputs)
    CF_CHECK(0 <= i && i < o.dim, "MultiRegionAttention: meso input " << i << " outside dim " << o.dim);
  return o;
}

// A 0/1 mask keeping each entry with probability `density` (7.5).
Tensor density_mask(const Shape& shape, double density, uint64_t seed, const char* name) {
  const Rng rng(seed, stream_id(name));
  Tensor mask = Tensor::empty(shape);
  for (int64_t i = 0; i < mask.numel(); ++i)
    mask.data()[i] = double(rng.uniform(uint64_t(i))) < density ? 1.0f : 0.0f;
  return mask;
}

Tensor masked(const Tensor& weight, const Tensor& mask) {
  return mask.defined() ? mul(weight, mask) : weight;
}

int64_t kept(const Tensor& weight, const Tensor& mask) {
  if (!mask.defined()) return weight.numel();
  const std::vector<float> m = mask.to_vector();
  return int64_t(std::count(m.begin(), m.end(), 1.0f));
}

}  // namespace

MultiRegionAttention::MultiRegionAttention(const RegionAttentionOptions& opt)
    : options(checked(opt)),
      d_s(opt.inputs.empty() ? opt.dim : int64_t(opt.inputs.size()) / opt.heads) {
  const int64_t R = opt.regions, H = opt.heads, D = opt.dim;
  const bool sparse = opt.density < 1;
  // Kept entries are rescaled by 1/sqrt(s) so that the output variance
  // matches the dense layer's (7.5).
  const float sparse_std = 0.02f / float(std::sqrt(opt.density));
  const Init qk_init = Init::trunc_normal(opt.sparse_qk ? sparse_std : 0.02f);
  const Init vo_init = Init::trunc_normal(opt.sparse_qk ? 0.02f : sparse_std);
  register_parameter("q", &q, {R, H, d_s, opt.qk_dim}, qk_init);
  register_parameter("k", &k, {R, H, d_s, opt.qk_dim}, qk_init);
  register_parameter("v", &v, {R, H, d_s, opt.v_dim}, vo_init);
  register_parameter("o", &o, {R, H * opt.v_dim, D}, vo_init);
  if (sparse && opt.sparse_qk) {
    register_buffer("q_mask", &q_mask, density_mask(q.shape(), opt.density, opt.seed, "attn.q_mask"), false);
    register_buffer("k_mask", &k_mask, density_mask(k.shape(), opt.density, opt.seed, "attn.k_mask"), false);
  } else if (sparse) {
    register_buffer("v_mask", &v_mask, density_mask(v.shape(), opt.density, opt.seed, "attn.v_mask"), false);
    register_buffer("o_mask", &o_mask, density_mask(o.shape(), opt.density, opt.seed, "attn.o_mask"), false);
  }
}

Tensor MultiRegionAttention::forward(const Tensor& z) {
  const int64_t R = options.regions, H = options.heads, D = options.dim;
  CF_CHECK(z.defined() && z.dim() == 4 && z.size(0) == R && z.size(3) == D,
           "MultiRegionAttention: input of shape "
               << (z.defined() ? shape_str(z.shape()) : "undefined") << ", expected [" << R
               << ", B, N, " << D << "]");
  const int64_t B = z.size(1), N = z.size(2), d_qk = options.qk_dim, d_v = options.v_dim;
  const float scale = 1.0f / std::sqrt(float(d_qk));
  Tensor heads;  // (3) SA_h side by side, [SA_1; ...; SA_H]: (R, B N, H d_v)
  attention_ = Tensor();
  if (options.inputs.empty() && !keep_map) {
    // Every head reads the whole sheet: per region, one product for all the
    // heads' projections, their columns side by side (W (R, D, H width)),
    // the layout the attention op reads heads from and writes SA in. One
    // product with N = H width, not H products of N = width that each read
    // the sheet again (cortical_baseline at batch 128: the narrow products
    // ran at 31-42 % of the FMA peak, the wide one at 63 %).
    const Tensor x = reshape(z, {R, B * N, D});
    auto project = [&](const Tensor& w, const Tensor& mask, int64_t width) {  // (R B, N, H width)
      const Tensor w_side = reshape(permute(masked(w, mask), {0, 2, 1, 3}), {R, D, H * width});
      return reshape(matmul(x, w_side), {R * B, N, H * width});
    };
    const Tensor query = project(q, q_mask, d_qk), key = project(k, k_mask, d_qk);
    heads = reshape(attention(query, key, project(v, v_mask, d_v), H, scale), {R, B * N, H * d_v});
  } else {
    // Each head's input rows (R, H, B N, D_s): S^h as a gather (meso), or the
    // whole sheet broadcast over the heads.
    Tensor rows = options.inputs.empty()
                      ? reshape(z, {R, 1, B * N, D})
                      : permute(reshape(index_select(z, 3, options.inputs), {R, B * N, H, d_s}),
                                {0, 2, 1, 3});
    auto project = [&](const Tensor& w, const Tensor& mask, int64_t width) {
      return reshape(matmul(rows, masked(w, mask)), {R, H, B, N, width});
    };
    Tensor query = project(q, q_mask, d_qk), key = project(k, k_mask, d_qk);
    Tensor value = project(v, v_mask, d_v);
    Tensor sa;  // (R, H, B, N, d_v)
    if (keep_map) {
      attention_ = softmax(matmul(mul_scalar(query, scale), transpose(key, 3, 4)), -1);  // (R, H, B, N, N)
      sa = matmul(attention_, value);
    } else {
      auto batch = [&](const Tensor& t) { return reshape(t, {R * H * B, N, t.size(4)}); };
      sa = reshape(attention(batch(query), batch(key), batch(value), 1, scale), {R, H, B, N, d_v});
    }
    heads = reshape(permute(sa, {0, 2, 3, 1, 4}), {R, B * N, H * d_v});
  }
  return reshape(matmul(heads, masked(o, o_mask)), {R, B, N, D});  // (4), stacked (5)
}

int64_t MultiRegionAttention::learnable_parameters() const {
  return kept(q, q_mask) + kept(k, k_mask) + kept(v, v_mask) + kept(o, o_mask);
}

}  // namespace cf
