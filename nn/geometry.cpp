#include "nn/geometry.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "autograd/error.h"
#include "autograd/graph.h"
#include "autograd/kernels/threads.h"

namespace cf {

Geometry multilayer_geometry(const std::vector<int64_t>& widths, float offset) {
  CF_CHECK(!widths.empty(), "multilayer_geometry: no sheets");
  Geometry g;
  g.widths = widths;
  g.offset = offset;
  for (size_t i = 0; i < widths.size(); ++i) {
    const int64_t w = widths[i];
    CF_CHECK(w > 0, "multilayer_geometry: sheet " << i << " has width " << w);
    // linspace(-w/2, w/2, w)
    auto at = [w](int64_t j) { return w == 1 ? -0.5f : -float(w) / 2 + float(j) * float(w) / float(w - 1); };
    for (int64_t r = 0; r < w; ++r)
      for (int64_t c = 0; c < w; ++c) g.columns.push_back({int64_t(i), r, c, float(i) * offset, at(r), at(c)});
  }
  const int64_t N = g.size();
  const float extra = widths.size() == 1 ? offset * offset : 0.0f;  // one sheet: to the next layer
  g.dist = Tensor::empty({N, N});
  for (int64_t a = 0; a < N; ++a)
    for (int64_t b = 0; b < N; ++b) {
      const SheetPosition &p = g.columns[size_t(a)], &q = g.columns[size_t(b)];
      const float dz = p.z - q.z, dy = p.y - q.y, dx = p.x - q.x;
      g.dist.data()[a * N + b] = std::sqrt(dz * dz + dy * dy + dx * dx + extra);   // (C7)
    }
  return g;
}

Tensor local_attention_bias(const Tensor& dist, float sigma) {
  CF_CHECK(sigma > 0, "local_attention_bias: sigma " << sigma << " must be positive");
  Tensor bias = Tensor::empty(dist.shape());
  for (int64_t i = 0; i < dist.numel(); ++i) {
    const float d = dist.data()[i];
    bias.data()[i] = std::max(-d * d / (2 * sigma * sigma), -8.0f);                 // (C8)
  }
  return bias;
}

Tensor wiring_weights(const Tensor& dist, float p) {
  Tensor w = Tensor::empty(dist.shape());
  double total = 0;
  for (int64_t i = 0; i < dist.numel(); ++i) total += w.data()[i] = std::pow(dist.data()[i], p);
  CF_CHECK(total > 0, "wiring_weights: every distance is 0");
  const float inv_mean = float(double(dist.numel()) / total);
  for (int64_t i = 0; i < w.numel(); ++i) w.data()[i] *= inv_mean;                  // dist^p / mean
  return w;
}

Tensor wiring_cost(const Tensor& attention, const Tensor& weights) {
  CF_CHECK(attention.dim() == 4 && weights.dim() == 2 && attention.size(2) == weights.size(0) &&
               attention.size(3) == weights.size(1),
           "wiring_cost: attention of shape " << shape_str(attention.shape()) << " for weights of shape "
                                              << shape_str(weights.shape()) << ", expected [B, H, N, N]");
  const int64_t N = weights.size(1), NN = weights.numel(), maps = attention.numel() / NN;
  const int64_t rows = attention.numel() / attention.size(3);  // (b, h, query) triples
  const float* A = attention.data();
  const float* W = weights.data();
  // One partial sum per (b, h) map, combined in map order: the same bits
  // for any thread count (kernels/threads.h). Within a row, 8 float lanes
  // (which the compiler vectorises) then the row's total in double.
  const double total = kernels::parallel_reduce(
      maps, 1, 0.0,
      [&](int64_t begin, int64_t end) {
        double s = 0;
        for (int64_t r = begin * N; r < end * N; ++r) {
          const float* a = A + r * N;
          const float* w = W + (r % N) * N;
          float lanes[8] = {};
          int64_t j = 0;
          for (; j + 8 <= N; j += 8)
            for (int l = 0; l < 8; ++l) lanes[l] += std::fabs(a[j + l]) * w[j + l];
          float row = 0;
          for (; j < N; ++j) row += std::fabs(a[j]) * w[j];
          for (float lane : lanes) row += lane;
          s += row;
        }
        return s;
      },
      [](double a, double b) { return a + b; });
  Tensor cost = Tensor::scalar(float(total / double(rows)));                       // (C9)
  return record("wiring_cost", cost, {attention}, [attention, weights, NN, maps, rows](const Tensor& g) {
    Tensor dA = Tensor::empty(attention.shape());
    std::vector<float> scaled(weights.data(), weights.data() + NN);  // Wd / (B H N), times g
    const float scale = g.item() / float(rows);
    for (float& w : scaled) w *= scale;
    const float* A = attention.data();
    float* dst = dA.data();
    kernels::parallel_for(maps, 1, [&](int64_t begin, int64_t end) {
      for (int64_t m = begin; m < end; ++m)
        for (int64_t i = 0; i < NN; ++i) {
          const float a = A[m * NN + i];
          dst[m * NN + i] = a > 0 ? scaled[size_t(i)] : a < 0 ? -scaled[size_t(i)] : 0.0f;
        }
    });
    return std::vector<Tensor>{dA};
  });
}

}  // namespace cf
