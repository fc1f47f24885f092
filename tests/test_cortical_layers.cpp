// RegionNorm, RegionLinear and the region routing of the cortical block
// (ARCHITECTURES.md 7.2, 7.3): statistics and affine shapes, the connectivity
// patterns block by block, drop-off masks against exp(-|o - r| / lambda),
// gradients.
#include <cmath>
#include <cstring>

#include "autograd/ops.h"
#include "nn/cortical_block.h"
#include "nn/cortical_routing.h"
#include "nn/region_norm.h"
#include "tests/test_nn_util.h"

using namespace cf;
using cf::test::require_gradcheck;
using cf::test::require_module_gradcheck;

namespace {

// (x - mean) / sqrt(var + eps) of a list of values, in double precision.
std::vector<double> standardised(const std::vector<double>& v) {
  double mu = 0, var = 0;
  for (double x : v) mu += x / double(v.size());
  for (double x : v) var += (x - mu) * (x - mu) / double(v.size());
  std::vector<double> out;
  for (double x : v) out.push_back((x - mu) / std::sqrt(var + 1e-5));
  return out;
}

}  // namespace

TEST_CASE("RegionNorm: statistics per region or global, affine per region, shared or per token",
          "[cortical][region_norm]") {
  const int64_t R = 3, B = 2, N = 4, D = 5;
  Tensor z = Tensor::randn({R, B, N, D}, 1, 0.5f, 2.0f);
  for (NormStats stats : {NormStats::token, NormStats::global})
    for (NormAffine affine : {NormAffine::region, NormAffine::shared, NormAffine::region_token}) {
      RegionNorm norm(R, N, D, stats, affine);
      const Shape expected = affine == NormAffine::region   ? Shape{R, D}
                             : affine == NormAffine::shared ? Shape{D}
                                                            : Shape{R, N, D};
      CHECK(norm.weight.shape() == expected);
      CHECK(norm.num_parameters() == 2 * numel(expected));
      norm.weight = Tensor::randn(expected, 2);
      norm.bias = Tensor::randn(expected, 3);
      Tensor y = norm.forward(z);
      for (int64_t r = 0; r < R; ++r)
        for (int64_t b = 0; b < B; ++b)
          for (int64_t n = 0; n < N; ++n)
            for (int64_t d = 0; d < D; ++d) {
              // The values that share z[r, b, n, d]'s mean and variance (7.3).
              std::vector<double> group;
              size_t self = 0;
              for (int64_t g = 0; g < R; ++g)
                for (int64_t e = 0; e < D && (g == r || stats == NormStats::global); ++e) {
                  if (g == r && e == d) self = group.size();
                  group.push_back(z.at({g, b, n, e}));
                }
              const std::vector<int64_t> at = affine == NormAffine::region   ? std::vector<int64_t>{r, d}
                                              : affine == NormAffine::shared ? std::vector<int64_t>{d}
                                                                             : std::vector<int64_t>{r, n, d};
              const double expected = standardised(group)[self] * norm.weight.at(at) + norm.bias.at(at);
              CHECK(y.at({r, b, n, d}) == Approx(expected).margin(1e-4));
            }
    }
}

TEST_CASE("RegionNorm: global statistics couple the regions, a zero region becomes -mu/sigma",
          "[cortical][region_norm]") {
  Tensor z = Tensor::zeros({2, 1, 1, 2});
  z.set({0, 0, 0, 0}, 1.0f);
  z.set({0, 0, 0, 1}, 3.0f);  // region 2 stays zero
  Tensor local = RegionNorm(2, 1, 2, NormStats::token, NormAffine::region).forward(z);
  Tensor global = RegionNorm(2, 1, 2, NormStats::global, NormAffine::region).forward(z);
  CHECK(local.at({1, 0, 0, 0}) == 0.0f);
  // Over {1, 3, 0, 0}: mu 1, sigma sqrt(1.5).
  CHECK(global.at({1, 0, 0, 0}) == Approx(-1.0 / std::sqrt(1.5 + 1e-5)));
}

TEST_CASE("RegionNorm with statistics per token takes the affine in the layer norm, bit for bit",
          "[cortical][region_norm]") {
  const int64_t R = 2, B = 3, N = 2, D = 5;
  Tensor z = Tensor::randn({R, B, N, D}, 1);
  for (NormAffine affine : {NormAffine::region, NormAffine::shared, NormAffine::region_token}) {
    RegionNorm norm(R, N, D, NormStats::token, affine);
    norm.weight = Tensor::randn(norm.weight.shape(), 2);
    norm.bias = Tensor::randn(norm.bias.shape(), 3);
    const Shape s = affine == NormAffine::region   ? Shape{R, 1, 1, D}
                    : affine == NormAffine::shared ? Shape{D}
                                                   : Shape{R, 1, N, D};
    const Tensor fused = norm.forward(z);
    const Tensor apart =
        add(mul(layer_norm(z, Tensor(), Tensor()), reshape(norm.weight, s)), reshape(norm.bias, s));
    REQUIRE(std::memcmp(fused.data(), apart.data(), size_t(fused.numel()) * sizeof(float)) == 0);
  }
}

TEST_CASE("RegionNorm gradients", "[cortical][region_norm][grad]") {
  for (NormStats stats : {NormStats::token, NormStats::global})
    for (NormAffine affine : {NormAffine::region, NormAffine::shared, NormAffine::region_token}) {
      RegionNorm norm(2, 2, 3, stats, affine);
      norm.weight = add(norm.weight.detach(), Tensor::randn(norm.weight.shape(), 4, 0.0f, 0.3f));
      require_module_gradcheck(norm, Tensor::randn({2, 1, 2, 3}, 5),
                               [&](const Tensor& x) { return norm.forward(x); });
    }
}

TEST_CASE("region_linear is add(matmul(x, W), b) in one op, with its bits and gradients",
          "[cortical][grad]") {
  const int64_t R = 3, M = 5, in = 4, out = 6;
  Tensor x = Tensor::randn({R, M, in}, 1), w = Tensor::randn({R, in, out}, 2),
         b = Tensor::randn({R, out}, 3);
  const Tensor fused = region_linear(x, w, b), apart = add(matmul(x, w), reshape(b, {R, 1, out}));
  REQUIRE(fused.shape() == apart.shape());
  REQUIRE(std::memcmp(fused.data(), apart.data(), size_t(fused.numel()) * sizeof(float)) == 0);
  require_gradcheck([](const std::vector<Tensor>& t) { return region_linear(t[0], t[1], t[2]); },
                    {x, w, b});
  CHECK(cf::test::error_of([&] { region_linear(x, w, Tensor::zeros({R, in})); }) ==
        "region_linear: input of shape [3, 5, 4], weight of shape [3, 4, 6] and bias of shape "
        "[3, 4], expected [R, M, in], [R, in, out] and [R, out]");
  // The module checks through the op.
  RegionLinear layer(R, in, out);
  CHECK(cf::test::error_of([&] { layer.forward(Tensor::zeros({R, M, out})); }) ==
        "region_linear: input of shape [3, 5, 6], weight of shape [3, 4, 6] and bias of shape "
        "[3, 6], expected [R, M, in], [R, in, out] and [R, out]");
}

namespace {

// Block (o, r) of a routing's effective matrix, as values.
std::vector<float> block_values(const RegionRouting& routing, int64_t o, int64_t r) {
  const Tensor b = routing.blocks()[size_t(o * routing.regions + r)];
  return b.defined() ? b.to_vector() : std::vector<float>{};
}

std::vector<float> identity(int64_t n) {
  std::vector<float> v(size_t(n * n), 0.0f);
  for (int64_t i = 0; i < n; ++i) v[size_t(i * n + i)] = 1.0f;
  return v;
}

}  // namespace

TEST_CASE("Routing patterns: identity, learnable and zero blocks (7.2)", "[cortical][routing]") {
  using P = ConnectivityPattern;
  const int64_t R = 3, N = 2, D = 3, F = 4;
  for (P pattern : {P::feedforward, P::feedforward_ti, P::recurrent}) {
    INFO("pattern " << int(pattern));
    RegionRouting tokens(RoutedMatrix::tokens, pattern, R, {N, N}, 0.0, 0, "t");
    RegionRouting residual(RoutedMatrix::residual, pattern, R, {D}, 0.0, 0, "b");
    RegionRouting second(RoutedMatrix::second_layer, pattern, R, {F, D}, 0.0, 0, "w2");
    const bool recurrent = pattern == P::recurrent;
    int64_t learnable_blocks = 0, second_blocks = 0;
    for (int64_t o = 0; o <= R; ++o)
      for (int64_t r = 0; r < R; ++r) {
        INFO("block " << o << " <- " << r);
        const bool successor = o == r + 1, readout = o == R;
        // W^{M,r}: I at the successor (the readout's always frozen); learnable
        // blocks start from that pattern plus trunc_normal(0.02) noise.
        const bool w_learnable = !readout && (recurrent || (successor && pattern == P::feedforward_ti));
        learnable_blocks += w_learnable;
        std::vector<float> w = block_values(tokens, o, r);
        if (!successor && !w_learnable) CHECK(w.empty());
        else if (!w_learnable) CHECK(w == identity(N));
        else
          for (size_t i = 0; i < w.size(); ++i) CHECK(std::fabs(w[i] - (successor ? identity(N)[i] : 0.0f)) <= 0.04f);
        // B_r: frozen identities (diagonals of ones), every block when recurrent.
        std::vector<float> b = block_values(residual, o, r);
        if (successor || (recurrent && !readout)) CHECK(b == std::vector<float>(size_t(D), 1.0f));
        else CHECK(b.empty());
        // W~^{2,r}: learnable wherever W^{M,r} is non-zero, readout included.
        second_blocks += successor || (recurrent && !readout);
        CHECK(block_values(second, o, r).empty() == !(successor || (recurrent && !readout)));
      }
    CHECK(tokens.learnable_parameters() == learnable_blocks * N * N);
    CHECK(tokens.learnable() == (pattern != P::feedforward));
    CHECK(!residual.learnable());
    CHECK(second.learnable_parameters() == second_blocks * F * D);
  }
}

TEST_CASE("Drop-off masks keep exp(-|o - r| / lambda) of each block on average", "[cortical][routing]") {
  const int64_t R = 4, N = 48;
  for (double lambda : {0.5, 1.0, 3.0}) {
    RegionRouting tokens(RoutedMatrix::tokens, ConnectivityPattern::recurrent, R, {N, N}, lambda, 7, "t");
    RegionRouting residual(RoutedMatrix::residual, ConnectivityPattern::recurrent, R, {N * N}, lambda, 7, "b");
    for (const RegionRouting* routing : {&tokens, &residual})
      for (int64_t distance = 0; distance < R; ++distance) {
        double kept = 0;
        int64_t blocks = 0;
        for (int64_t o = 0; o < R; ++o)
          for (int64_t r = 0; r < R; ++r)
            if (std::abs(o - r) == distance) {
              kept += routing->kept_fraction(o, r);
              ++blocks;
            }
        const double p = std::exp(-double(distance) / lambda), entries = double(blocks * N * N);
        INFO("lambda " << lambda << ", distance " << distance);
        CHECK(std::fabs(kept / double(blocks) - p) <= 4 * std::sqrt(p * (1 - p) / entries) + 1e-12);
      }
    CHECK(tokens.kept_fraction(R, R - 1) == 1.0);  // the readout is never masked
    // Learnable entries are exactly the kept ones (7.2: masked entries stay 0).
    double kept_entries = 0;
    for (int64_t o = 0; o < R; ++o)
      for (int64_t r = 0; r < R; ++r) kept_entries += tokens.kept_fraction(o, r) * double(N * N);
    CHECK(tokens.learnable_parameters() == int64_t(std::lround(kept_entries)));
  }
  // Frozen B blocks lose the masked entries of their diagonal.
  RegionRouting residual(RoutedMatrix::residual, ConnectivityPattern::recurrent, 2, {400}, 0.5, 3, "b");
  std::vector<float> b = block_values(residual, 1, 0);
  double ones = 0;
  for (float v : b) ones += v;
  CHECK(ones / 400.0 == Approx(residual.kept_fraction(1, 0)));
  CHECK(ones < 400 * 0.3);
}

namespace {

const RegionRouting::Apply left = [](const Tensor& w, const Tensor& x) { return matmul(w, x); };

// route()'s outputs for ports first..last-1, concatenated, against finite
// differences in the routing's weight (when it has one) and both regions.
void require_routing_gradcheck(RegionRouting& routing, int64_t first, int64_t last,
                               const RegionRouting::Apply& apply, const Tensor& x0,
                               const Tensor& x1) {
  const bool learnable = routing.learnable();
  std::vector<Tensor> inputs = {x0, x1};
  if (learnable) inputs.insert(inputs.begin(), routing.weight.detach());
  require_gradcheck(
      [&](const std::vector<Tensor>& v) {
        if (learnable) routing.weight = v[0];
        const size_t x = learnable ? 1 : 0;
        return concat(routing.route(routing.blocks(), {v[x], v[x + 1]}, first, last, apply), 0);
      },
      inputs);
}

}  // namespace

TEST_CASE("Routing gradients", "[cortical][routing][grad]") {
  const int64_t R = 2, N = 3, D = 2, F = 4;
  RegionRouting tokens(RoutedMatrix::tokens, ConnectivityPattern::recurrent, R, {N, N}, 1.0, 2,
                       "t");
  require_routing_gradcheck(tokens, 0, R + 1, left, Tensor::randn({2, N, D}, 8),
                            Tensor::randn({2, N, D}, 9));
  const Tensor x0 = Tensor::randn({2, N, F}, 8), x1 = Tensor::randn({2, N, F}, 9);
  // W~2 (eq. 6): (D_ff, D) blocks on the feature axis, recurrent with drop-off.
  RegionRouting second(RoutedMatrix::second_layer, ConnectivityPattern::recurrent, R, {F, D}, 1.0,
                       2, "s");
  require_routing_gradcheck(
      second, 0, R + 1, [](const Tensor& w, const Tensor& x) { return matmul(x, w); }, x0, x1);
  // feedforward_ti: the successor token blocks learnable, the others zero.
  RegionRouting ti(RoutedMatrix::tokens, ConnectivityPattern::feedforward_ti, R, {N, N}, 0.0, 2,
                   "t");
  require_routing_gradcheck(ti, 1, R + 1, left, x0, x1);
  // B with drop-off: frozen diagonals with entries masked to 0, no parameter.
  RegionRouting residual(RoutedMatrix::residual, ConnectivityPattern::recurrent, R, {F}, 0.5, 3,
                         "b");
  CHECK_FALSE(residual.learnable());
  CHECK(residual.kept_fraction(1, 0) < 1.0);
  require_routing_gradcheck(
      residual, 0, R, [](const Tensor& w, const Tensor& x) { return mul(x, w); }, x0, x1);
}

TEST_CASE("Routing passes a region through a frozen identity block", "[cortical][routing]") {
  const int64_t R = 3, N = 4, D = 2;
  const std::vector<Tensor> x = {Tensor::randn({2, N, D}, 11), Tensor::randn({2, N, D}, 12),
                                 Tensor::randn({2, N, D}, 13)};
  int calls = 0;
  const RegionRouting::Apply counted = [&](const Tensor& w, const Tensor& v) {
    ++calls;
    return matmul(w, v);
  };
  // Feed-forward: every block is a frozen I; port o + 1 is region o itself.
  RegionRouting frozen(RoutedMatrix::tokens, ConnectivityPattern::feedforward, R, {N, N}, 0.0, 1,
                       "f");
  const std::vector<Tensor> out = frozen.route(frozen.blocks(), x, 0, R + 1, counted);
  CHECK(calls == 0);
  CHECK_FALSE(out[0].defined());
  for (int64_t o = 1; o <= R; ++o) {
    const Tensor product = matmul(frozen.blocks()[size_t(o * R + o - 1)], x[size_t(o - 1)]);
    CHECK(out[size_t(o)].to_vector() == product.to_vector());
  }
  // Learnable successor blocks (feedforward_ti) are applied; the readout's
  // frozen I is not.
  RegionRouting learnable(RoutedMatrix::tokens, ConnectivityPattern::feedforward_ti, R, {N, N}, 0.0,
                          1, "l");
  learnable.route(learnable.blocks(), x, 0, R + 1, counted);
  CHECK(calls == R - 1);
  // Port 1 of a recurrent B with drop-off: block (1, 0) lost entries of its
  // diagonal and is applied; block (1, 1), at distance 0, kept them all and
  // is passed through.
  RegionRouting dropped(RoutedMatrix::residual, ConnectivityPattern::recurrent, 2, {400}, 0.5, 3,
                        "b");
  calls = 0;
  dropped.route(dropped.blocks(), {Tensor::randn({400}, 1), Tensor::randn({400}, 2)}, 1, 2,
                [&](const Tensor& w, const Tensor& v) {
                  ++calls;
                  return mul(v, w);
                });
  CHECK(calls == 1);
}

TEST_CASE("Routing gradients through frozen identity blocks", "[cortical][routing][grad]") {
  const int64_t R = 2, N = 3, D = 2;
  RegionRouting tokens(RoutedMatrix::tokens, ConnectivityPattern::feedforward, R, {N, N}, 0.0, 2,
                       "t");
  const RegionRouting::Apply product = [](const Tensor& w, const Tensor& x) {
    return matmul(w, x);
  };
  require_gradcheck(
      [&](const std::vector<Tensor>& v) {
        std::vector<Tensor> out = tokens.route(tokens.blocks(), {v[0], v[1]}, 1, R + 1, product);
        return mul(concat(out, 0), concat(out, 0));
      },
      {Tensor::randn({2, N, D}, 8), Tensor::randn({2, N, D}, 9)});
}
