// AVX2 bodies of vecmath.h. sum, add_row, mul_row and AdamW do the same
// float operations as their scalar twins in the same order (no FMA), so
// they agree bit for bit; the transcendental ones use simd_avx2.h.
//
// That agreement needs the compiler not to fuse a multiply and an add into
// an FMA on its own. The build asks for -ffp-contract=off, but GCC's default
// for GNU C++ is "fast", so say it here too, where it matters.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("fp-contract=off")
#endif
#include "autograd/kernels/simd_avx2.h"
#include "autograd/kernels/simd_kernels.h"

namespace cf::kernels::detail {
namespace {

template <class F>
void map(const float* x, float* y, int64_t n, F f) {
  avx2::for_blocks(n, [&](int64_t i, int64_t k) { avx2::store(y + i, f(avx2::load(x + i, k)), k); });
}

template <class F>
void map_rows(const float* x, const float* row, float* y, int64_t rows, int64_t cols, F f) {
  for (int64_t r = 0; r < rows; ++r, x += cols, y += cols)
    avx2::for_blocks(cols, [&](int64_t i, int64_t k) {
      avx2::store(y + i, f(avx2::load(x + i, k), avx2::load(row + i, k)), k);
    });
}

}  // namespace

void vec_exp_avx2(const float* x, float* y, int64_t n) { map(x, y, n, avx2::exp); }
void vec_log_avx2(const float* x, float* y, int64_t n) {
  // Padding lanes are 0 in the load; log(0) = -inf there is never stored.
  map(x, y, n, avx2::log);
}
void vec_tanh_avx2(const float* x, float* y, int64_t n) { map(x, y, n, avx2::tanh); }
void vec_sigmoid_avx2(const float* x, float* y, int64_t n) { map(x, y, n, avx2::sigmoid); }
void vec_erf_avx2(const float* x, float* y, int64_t n) { map(x, y, n, avx2::erf); }

void add_row_avx2(const float* x, const float* row, float* y, int64_t rows, int64_t cols) {
  map_rows(x, row, y, rows, cols, [](__m256 a, __m256 b) { return _mm256_add_ps(a, b); });
}
void mul_row_avx2(const float* x, const float* row, float* y, int64_t rows, int64_t cols) {
  map_rows(x, row, y, rows, cols, [](__m256 a, __m256 b) { return _mm256_mul_ps(a, b); });
}

float sum_block_avx2(const float* x, int64_t n) {
  __m256 p0 = _mm256_setzero_ps(), p1 = p0, p2 = p0, p3 = p0;
  const int64_t n32 = n - n % 32;
  for (int64_t i = 0; i < n32; i += 32) {
    p0 = _mm256_add_ps(p0, _mm256_loadu_ps(x + i));
    p1 = _mm256_add_ps(p1, _mm256_loadu_ps(x + i + 8));
    p2 = _mm256_add_ps(p2, _mm256_loadu_ps(x + i + 16));
    p3 = _mm256_add_ps(p3, _mm256_loadu_ps(x + i + 24));
  }
  // (p0 + p1) + (p2 + p3), then lanes j + 4, j + 2, j + 1: the order of
  // sum_block_scalar.
  const __m256 q = _mm256_add_ps(_mm256_add_ps(p0, p1), _mm256_add_ps(p2, p3));
  __m128 h = _mm_add_ps(_mm256_castps256_ps128(q), _mm256_extractf128_ps(q, 1));
  h = _mm_add_ps(h, _mm_movehl_ps(h, h));
  h = _mm_add_ss(h, _mm_movehdup_ps(h));
  float s = _mm_cvtss_f32(h);
  for (int64_t i = n32; i < n; ++i) s += x[i];
  return s;
}

void adamw_avx2(float* p, const float* g, float* m, float* v, int64_t n, float lr, float beta1,
                float beta2, float eps, float weight_decay, float bc1, float bc2) {
  using avx2::set1;
  const __m256 decay = set1(lr * weight_decay), b1 = set1(beta1), b2 = set1(beta2),
               omb1 = set1(1.0f - beta1), omb2 = set1(1.0f - beta2), vlr = set1(lr),
               veps = set1(eps), vbc1 = set1(bc1), vbc2 = set1(bc2);
  avx2::for_blocks(n, [&](int64_t i, int64_t k) {
    const __m256 pv = avx2::load(p + i, k), gv = avx2::load(g + i, k);
    const __m256 pi = _mm256_sub_ps(pv, _mm256_mul_ps(decay, pv));
    const __m256 mv = _mm256_add_ps(_mm256_mul_ps(b1, avx2::load(m + i, k)), _mm256_mul_ps(omb1, gv));
    const __m256 vv = _mm256_add_ps(_mm256_mul_ps(b2, avx2::load(v + i, k)),
                                    _mm256_mul_ps(omb2, _mm256_mul_ps(gv, gv)));
    const __m256 m_hat = _mm256_div_ps(mv, vbc1), v_hat = _mm256_div_ps(vv, vbc2);
    const __m256 step = _mm256_div_ps(_mm256_mul_ps(vlr, m_hat),
                                      _mm256_add_ps(_mm256_sqrt_ps(v_hat), veps));
    avx2::store(m + i, mv, k);
    avx2::store(v + i, vv, k);
    avx2::store(p + i, _mm256_sub_ps(pi, step), k);
  });
}

}  // namespace cf::kernels::detail
