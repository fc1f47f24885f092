// AVX2 bodies of rowops.h: the same formulas as rowops_scalar.cpp, 8 columns
// at a time, with the vector exp / erf of simd_avx2.h. The last block of a
// row is loaded and stored with masks, so any `cols` works and nothing past
// the row is touched. Sums run in 8 lanes, so they round differently from
// the scalar loop (a few ulp); tests/test_kernels_rowops.cpp bounds it.
#include <cmath>

#include "autograd/kernels/simd_avx2.h"
#include "autograd/kernels/simd_kernels.h"

namespace cf::kernels::detail {

using namespace avx2;

namespace {

float row_max(const float* x, int64_t cols) {
  __m256 m = set1(-INFINITY);
  for_blocks(cols, [&](int64_t i, int64_t k) { m = _mm256_max_ps(m, load(x + i, k, -INFINITY)); });
  return hmax(m);
}

float row_sum(const float* x, int64_t cols) {
  return hsum(sum_blocks(cols, [&](int64_t i, int64_t k) { return load(x + i, k); }));
}

float row_dot(const float* a, const float* b, int64_t cols) {
  return hsum(sum_blocks(cols, [&](int64_t i, int64_t k) {
    return _mm256_mul_ps(load(a + i, k), load(b + i, k));
  }));
}

// sum(exp(x - m)), storing the exponentials in y when y is not null.
float sum_exp(const float* x, float m, float* y, int64_t cols) {
  const __m256 vm = set1(m);
  return hsum(sum_blocks(cols, [&](int64_t i, int64_t k) {
    // Padding lanes are -inf: exp(-inf) = 0 adds nothing.
    const __m256 e = exp(_mm256_sub_ps(load(x + i, k, -INFINITY), vm));
    if (y) store(y + i, e, k);
    return e;
  }));
}

}  // namespace

void softmax_forward_avx2(const float* x, float* y, int64_t rows, int64_t cols) {
  for (int64_t r = 0; r < rows; ++r, x += cols, y += cols) {
    const float s = sum_exp(x, row_max(x, cols), y, cols);
    const __m256 inv = set1(1.0f / s);
    for_blocks(cols, [&](int64_t i, int64_t k) { store(y + i, _mm256_mul_ps(load(y + i, k), inv), k); });
  }
}

void softmax_backward_avx2(const float* y, const float* dy, float* dx, int64_t rows,
                           int64_t cols) {
  for (int64_t r = 0; r < rows; ++r, y += cols, dy += cols, dx += cols) {
    const __m256 dot = set1(row_dot(dy, y, cols));
    for_blocks(cols, [&](int64_t i, int64_t k) {
      store(dx + i, _mm256_mul_ps(load(y + i, k), _mm256_sub_ps(load(dy + i, k), dot)), k);
    });
  }
}

void log_softmax_forward_avx2(const float* x, float* y, int64_t rows, int64_t cols) {
  for (int64_t r = 0; r < rows; ++r, x += cols, y += cols) {
    const float m = row_max(x, cols);
    const __m256 lse = set1(m + std::log(sum_exp(x, m, nullptr, cols)));
    for_blocks(cols, [&](int64_t i, int64_t k) { store(y + i, _mm256_sub_ps(load(x + i, k), lse), k); });
  }
}

void log_softmax_backward_avx2(const float* y, const float* dy, float* dx, int64_t rows,
                               int64_t cols) {
  for (int64_t r = 0; r < rows; ++r, y += cols, dy += cols, dx += cols) {
    const __m256 s = set1(row_sum(dy, cols));
    for_blocks(cols, [&](int64_t i, int64_t k) {
      store(dx + i, _mm256_fnmadd_ps(exp(load(y + i, k)), s, load(dy + i, k)), k);
    });
  }
}

void layernorm_forward_avx2(const float* x, const float* w, const float* b, float* y,
                            float* mean, float* rstd, int64_t rows, int64_t cols, float eps) {
  for (int64_t r = 0; r < rows; ++r, x += cols, y += cols) {
    const float m = row_sum(x, cols) / float(cols);
    const __m256 vm = set1(m);
    const __m256 var = sum_blocks(cols, [&](int64_t i, int64_t k) {
      // Padding lanes load as m, so they add (m - m)^2 = 0.
      const __m256 d = _mm256_sub_ps(load(x + i, k, m), vm);
      return _mm256_mul_ps(d, d);
    });
    const float rs = 1.0f / std::sqrt(hsum(var) / float(cols) + eps);
    const __m256 vrs = set1(rs);
    for_blocks(cols, [&](int64_t i, int64_t k) {
      __m256 v = _mm256_mul_ps(_mm256_sub_ps(load(x + i, k), vm), vrs);
      if (w) v = _mm256_mul_ps(v, load(w + i, k));
      if (b) v = _mm256_add_ps(v, load(b + i, k));
      store(y + i, v, k);
    });
    mean[r] = m;
    rstd[r] = rs;
  }
}

namespace {

// Layer norm's backward for kGroup consecutive rows, one instance per
// combination of the optional operands so the loops test no null pointer.
// Pass 1 takes each row's two means; pass 2 writes dx for every row of the
// group and adds the group's terms into dw and db in registers, row after
// row, so dw and db are loaded and stored once per group instead of once
// per row (the same rounding as row by row: one FMA per row, in order).
template <bool kW, bool kDw, bool kDb, int kGroup>
void layernorm_backward_group(const float* x, const float* w, const float* mean,
                              const float* rstd, const float* dy, float* dx, float* dw, float* db,
                              int64_t cols) {
  // g = dy w; without w, g = dy (and w is never read).
  const auto weight = [&](int64_t i, int64_t k) { return kW ? load(w + i, k) : _mm256_setzero_ps(); };
  const auto grad = [](__m256 d, __m256 wv) { return kW ? _mm256_mul_ps(d, wv) : d; };
  // dx = rstd (g - mean(g) - xhat mean(g xhat)), with g = dy w, written as
  // rstd g - c - b (x - mean) with c = rstd mean(g), b = rstd^2 mean(g xhat).
  __m256 vm[kGroup], vrs[kGroup], vb[kGroup], vc[kGroup];
  for (int r = 0; r < kGroup; ++r) {
    const float* xr = x + r * cols;
    const float* dyr = dy + r * cols;
    vm[r] = set1(mean[r]);
    vrs[r] = set1(rstd[r]);
    const Pair sums = sum_blocks(cols, [&](int64_t i, int64_t k) {
      const __m256 g = grad(load(dyr + i, k), weight(i, k));
      const __m256 xh = _mm256_mul_ps(_mm256_sub_ps(load(xr + i, k), vm[r]), vrs[r]);
      return Pair{g, _mm256_mul_ps(g, xh)};
    });
    vc[r] = set1(rstd[r] * (hsum(sums.a) / float(cols)));
    vb[r] = set1(rstd[r] * rstd[r] * (hsum(sums.b) / float(cols)));
  }
  // Every load of the group comes before its first store: with rows of a
  // multiple of 1024 floats, dx of one row and dy, x of the next share their
  // address bits below 4 KiB, and a load behind such a store waits for it
  // (4K aliasing).
  for_blocks(cols, [&](int64_t i, int64_t k) {
    __m256 d[kGroup], xm[kGroup];
    for (int r = 0; r < kGroup; ++r) {
      d[r] = load(dy + r * cols + i, k);
      xm[r] = _mm256_sub_ps(load(x + r * cols + i, k), vm[r]);
    }
    __m256 acc_w = kDw ? load(dw + i, k) : _mm256_setzero_ps();
    __m256 acc_b = kDb ? load(db + i, k) : _mm256_setzero_ps();
    const __m256 wv = weight(i, k);
    for (int r = 0; r < kGroup; ++r) {
      const __m256 g = grad(d[r], wv);
      store(dx + r * cols + i, _mm256_fmsub_ps(vrs[r], g, _mm256_fmadd_ps(vb[r], xm[r], vc[r])), k);
      if (kDw) acc_w = _mm256_fmadd_ps(d[r], _mm256_mul_ps(xm[r], vrs[r]), acc_w);
      if (kDb) acc_b = _mm256_add_ps(acc_b, d[r]);
    }
    if (kDw) store(dw + i, acc_w, k);
    if (kDb) store(db + i, acc_b, k);
  });
}

// Groups of kLayerNormGroup rows, then the rows left one at a time.
constexpr int kLayerNormGroup = 2;

template <bool kW, bool kDw, bool kDb>
void layernorm_backward_rows(const float* x, const float* w, const float* mean, const float* rstd,
                             const float* dy, float* dx, float* dw, float* db, int64_t rows,
                             int64_t cols) {
  int64_t r = 0;
  for (; r + kLayerNormGroup <= rows; r += kLayerNormGroup)
    layernorm_backward_group<kW, kDw, kDb, kLayerNormGroup>(
        x + r * cols, w, mean + r, rstd + r, dy + r * cols, dx + r * cols, dw, db, cols);
  for (; r < rows; ++r)
    layernorm_backward_group<kW, kDw, kDb, 1>(x + r * cols, w, mean + r, rstd + r,
                                              dy + r * cols, dx + r * cols, dw, db, cols);
}

template <bool kW, bool kDw>
auto layernorm_backward_for(bool has_db) {
  return has_db ? &layernorm_backward_rows<kW, kDw, true>
                : &layernorm_backward_rows<kW, kDw, false>;
}

template <bool kW>
auto layernorm_backward_for(bool has_dw, bool has_db) {
  return has_dw ? layernorm_backward_for<kW, true>(has_db)
                : layernorm_backward_for<kW, false>(has_db);
}

}  // namespace

void layernorm_backward_avx2(const float* x, const float* w, const float* mean,
                             const float* rstd, const float* dy, float* dx, float* dw,
                             float* db, int64_t rows, int64_t cols) {
  const auto rows_fn = w ? layernorm_backward_for<true>(dw != nullptr, db != nullptr)
                         : layernorm_backward_for<false>(dw != nullptr, db != nullptr);
  rows_fn(x, w, mean, rstd, dy, dx, dw, db, rows, cols);
}

void gelu_forward_avx2(const float* x, float* y, int64_t n) {
  for_blocks(n, [&](int64_t i, int64_t k) {
    const __m256 v = load(x + i, k);
    const __m256 cdf = half_one_plus_erf(_mm256_mul_ps(v, set1(0.70710678118654752f)));
    store(y + i, _mm256_mul_ps(v, cdf), k);
  });
}

void gelu_backward_avx2(const float* x, const float* dy, float* dx, int64_t n) {
  for_blocks(n, [&](int64_t i, int64_t k) {
    const __m256 v = load(x + i, k);
    const __m256 cdf = half_one_plus_erf(_mm256_mul_ps(v, set1(0.70710678118654752f)));
    const __m256 pdf = _mm256_mul_ps(
        set1(0.39894228040143268f), exp(_mm256_mul_ps(set1(-0.5f), _mm256_mul_ps(v, v))));
    store(dx + i, _mm256_mul_ps(load(dy + i, k), _mm256_fmadd_ps(v, pdf, cdf)), k);
  });
}

}  // namespace cf::kernels::detail
