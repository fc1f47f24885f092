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

// Layer norm's backward for one row, one instance per combination of the
// optional operands so the loops test no null pointer. With xh = (x - mean)
// rstd and g = dy w (g = dy without w):
//   dx = rstd (g - mean(g) - xh mean(g xh)),  dw += dy xh,  db += dy.
// Pass 1 takes the two means and also adds the row's terms into dw and db;
// pass 2 writes dx. Each pass touches one row of x and dy, which pass 2
// finds in L1, and pass 2 keeps the fewest streams (x, dy, w in; dx out).
// Rows one at a time measured faster than two or four at once, which hold
// dw and db in registers across rows but overflow L1 (docs/PERFORMANCE.md).
template <bool kW, bool kDw, bool kDb>
void layernorm_backward_row(const float* x, const float* w, float mean, float rstd,
                            const float* dy, float* dx, float* dw, float* db, int64_t cols) {
  const __m256 vm = set1(mean), vrs = set1(rstd);
  const auto xhat = [&](int64_t i, int64_t k) {
    return _mm256_mul_ps(_mm256_sub_ps(load(x + i, k), vm), vrs);
  };
  const auto grad = [&](__m256 d, int64_t i, int64_t k) {
    return kW ? _mm256_mul_ps(d, load(w + i, k)) : d;
  };
  const Pair sums = sum_blocks(cols, [&](int64_t i, int64_t k) {
    const __m256 d = load(dy + i, k);
    const __m256 g = grad(d, i, k);
    const __m256 xh = xhat(i, k);
    if (kDw) store(dw + i, _mm256_fmadd_ps(d, xh, load(dw + i, k)), k);
    if (kDb) store(db + i, _mm256_add_ps(load(db + i, k), d), k);
    return Pair{g, _mm256_mul_ps(g, xh)};
  });
  // dx = rstd g - (c + b xh), with c = rstd mean(g), b = rstd mean(g xh).
  const __m256 vc = set1(rstd * (hsum(sums.a) / float(cols)));
  const __m256 vb = set1(rstd * (hsum(sums.b) / float(cols)));
  for_blocks(cols, [&](int64_t i, int64_t k) {
    const __m256 g = grad(load(dy + i, k), i, k);
    store(dx + i, _mm256_fmsub_ps(vrs, g, _mm256_fmadd_ps(vb, xhat(i, k), vc)), k);
  });
}

template <bool kW, bool kDw, bool kDb>
void layernorm_backward_rows(const float* x, const float* w, const float* mean, const float* rstd,
                             const float* dy, float* dx, float* dw, float* db, int64_t rows,
                             int64_t cols) {
  for (int64_t r = 0; r < rows; ++r)
    layernorm_backward_row<kW, kDw, kDb>(x + r * cols, w, mean[r], rstd[r], dy + r * cols,
                                         dx + r * cols, dw, db, cols);
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
