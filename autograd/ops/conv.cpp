// conv2d as im2col + GEMM. For one image and one group, the input patches are
// unrolled into a matrix col [Cg*kh*kw, Ho*Wo]; then
//   y_g   = W_g col                 [Og, Ho*Wo]
//   dW_g += dy_g col^T
//   dcol  = W_g^T dy_g, folded back onto dx by col2im (overlaps add up).
#include <algorithm>
#include <utility>

#include "autograd/error.h"
#include "autograd/graph.h"
#include "autograd/kernels/gemm.h"
#include "autograd/kernels/simd_kernels.h"
#include "autograd/kernels/threads.h"
#include "autograd/ops.h"
#include "autograd/ops/check.h"

namespace cf {

namespace {

// Each thread's col buffer, grown and reused: a fresh vector per chunk came
// from the system (it is larger than malloc's mmap threshold) and cost a
// page fault per 4 KiB on every step.
thread_local kernels::detail::ScratchBuffer t_col;

struct ConvGeometry {
  int64_t B, C, H, W, O, kh, kw, stride, pad, groups, Ho, Wo;
  int64_t Cg() const { return C / groups; }
  int64_t Og() const { return O / groups; }
  int64_t patch() const { return Cg() * kh * kw; }  // rows of col
  int64_t pixels() const { return Ho * Wo; }        // columns of col
};

// Walks the unrolled patch matrix col[(c, i, j), (y, x)] =
// x[c, y*stride - pad + i, x*stride - pad + j] one row (c, i, j) at a time.
// The entries of a row that fall inside the image form `rows` runs of `count`
// entries, one per output row y in a contiguous range; for each image row it
// calls run(k, p, count, rows): the first run starts at col[k] and matches
// the pixels img[p], img[p + stride], ...; each next run starts Wo entries
// further in col and stride * W pixels further in the image. Entries in the
// padding are not visited (they are zeros).
template <class F>
void for_each_patch_block(const ConvGeometry& g, F run) {
  // The first and one-past-last output index whose input index
  // index * stride - pad + offset lies in [0, size).
  auto inside = [&](int64_t offset, int64_t size, int64_t outputs) {
    return std::pair<int64_t, int64_t>{
        std::max<int64_t>(0, (g.pad - offset + g.stride - 1) / g.stride),
        std::min<int64_t>(outputs, (size + g.pad - offset + g.stride - 1) / g.stride)};
  };
  int64_t row = 0;
  for (int64_t c = 0; c < g.Cg(); ++c)
    for (int64_t i = 0; i < g.kh; ++i)
      for (int64_t j = 0; j < g.kw; ++j, row += g.pixels()) {
        const auto [x0, x1] = inside(j, g.W, g.Wo);
        const auto [y0, y1] = inside(i, g.H, g.Ho);
        if (x0 >= x1 || y0 >= y1) continue;
        run(row + y0 * g.Wo + x0,
            (c * g.H + y0 * g.stride - g.pad + i) * g.W + x0 * g.stride - g.pad + j, x1 - x0,
            y1 - y0);
      }
}

// At stride 1 (the CCT tokenizer's) a run is contiguous in the image: a
// plain copy or add, which the compiler vectorises; the strided loop does
// not. If moreover Wo == W (odd kw, padding kw / 2), consecutive runs are
// the same distance apart in col and in the image, so im2col copies all of
// a block's runs as one span and then zeros the entries between them (the
// padding, which the span filled with pixels of the neighbouring image
// row): a copy per run, of 16 or 32 floats in the CCT, cost a memmove call
// each, more than the copying.
void im2col(const float* img, float* col, const ConvGeometry& g) {
  std::fill(col, col + g.patch() * g.pixels(), 0.0f);
  const int64_t s = g.stride;
  for_each_patch_block(g, [&](int64_t k, int64_t p, int64_t count, int64_t rows) {
    if (s == 1 && g.Wo == g.W) {
      std::copy(img + p, img + p + (rows - 1) * g.W + count, col + k);
      for (int64_t t = count; t < g.W; ++t)  // column by column: not a memset call
        for (int64_t r = 0; r + 1 < rows; ++r) col[k + r * g.W + t] = 0.0f;
      return;
    }
    for (int64_t r = 0; r < rows; ++r, k += g.Wo, p += s * g.W) {
      if (s == 1)
        std::copy(img + p, img + p + count, col + k);
      else
        for (int64_t t = 0; t < count; ++t) col[k + t] = img[p + t * s];
    }
  });
}

// The adjoint of im2col: every col entry is added back to the pixel it came from.
void col2im(const float* col, float* img, const ConvGeometry& g) {
  const int64_t s = g.stride;
  for_each_patch_block(g, [&](int64_t k, int64_t p, int64_t count, int64_t rows) {
    for (int64_t r = 0; r < rows; ++r, k += g.Wo, p += s * g.W) {
      if (s == 1)
        for (int64_t t = 0; t < count; ++t) img[p + t] += col[k + t];
      else
        for (int64_t t = 0; t < count; ++t) img[p + t * s] += col[k + t];
    }
  });
}

ConvGeometry check_conv(const Tensor& x, const Tensor& w, const Tensor& bias, int64_t stride,
                        int64_t padding, int64_t groups) {
  detail::check_input("conv2d", x);
  detail::check_input("conv2d", w);
  // For the messages only: built when a check fails, not on every call.
  const auto shapes = [&] {
    return "input " + shape_str(x.shape()) + ", weight " + shape_str(w.shape());
  };
  CF_CHECK(x.dim() == 4 && w.dim() == 4,
           "conv2d: expected input [B, C, H, W] and weight [O, C/groups, kh, kw], got "
               << shapes());
  CF_CHECK(stride >= 1 && padding >= 0 && groups >= 1,
           "conv2d: stride " << stride << ", padding " << padding << ", groups " << groups
                             << " (need stride >= 1, padding >= 0, groups >= 1)");
  ConvGeometry g{x.size(0), x.size(1), x.size(2), x.size(3), w.size(0), w.size(2),
                 w.size(3), stride,    padding,   groups,    0,         0};
  CF_CHECK(g.C % groups == 0 && g.O % groups == 0 && w.size(1) == g.C / groups,
           "conv2d: " << shapes() << " do not fit groups = " << groups);
  CF_CHECK(!bias.defined() || bias.shape() == Shape{g.O},
           "conv2d: bias of shape " << shape_str(bias.shape()) << " for " << g.O
                                    << " output channels");
  g.Ho = (g.H + 2 * padding - g.kh) / stride + 1;
  g.Wo = (g.W + 2 * padding - g.kw) / stride + 1;
  CF_CHECK(g.H + 2 * padding >= g.kh && g.W + 2 * padding >= g.kw,
           "conv2d: kernel " << g.kh << "x" << g.kw << " is larger than the padded input, "
                             << shapes() << ", padding " << padding);
  return g;
}

}  // namespace

// Images per parallel chunk in the backward pass: each chunk sums its own
// partial weight gradient, and the partials are added in chunk order, so dW
// does not depend on the number of threads.
constexpr int64_t kImagesPerChunk = 4;

Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, int64_t stride,
              int64_t padding, int64_t groups) {
  const ConvGeometry g = check_conv(x, weight, bias, stride, padding, groups);
  Tensor y = Tensor::empty({g.B, g.O, g.Ho, g.Wo});
  // The pointers are taken once: a call in the bias loop below kept it from
  // vectorising and made it 3 % of a Columnformer's inference.
  const float* px = x.data();
  const float* pw = weight.data();
  const float* pb = bias.defined() ? bias.data() : nullptr;
  float* py = y.data();
  const int64_t P = g.pixels();
  // Images are independent: one chunk per image.
  kernels::parallel_for(g.B, 1, [&](int64_t b0, int64_t b1) {
    float* col = t_col.get(size_t(g.patch() * P));
    for (int64_t b = b0; b < b1; ++b)
      for (int64_t grp = 0; grp < groups; ++grp) {
        im2col(px + (b * g.C + grp * g.Cg()) * g.H * g.W, col, g);
        float* out = py + (b * g.O + grp * g.Og()) * P;
        kernels::sgemm(false, false, g.Og(), P, g.patch(), 1.0f, pw + grp * g.Og() * g.patch(),
                       g.patch(), col, P, 0.0f, out, P);
        if (pb)
          for (int64_t o = 0; o < g.Og(); ++o) {
            const float bo = pb[grp * g.Og() + o];
            float* row = out + o * P;
            for (int64_t p = 0; p < P; ++p) row[p] += bo;
          }
      }
  });
  return record("conv2d", y, {x, weight, bias}, [x, weight, bias, g](const Tensor& dy) {
    Tensor dx = x.requires_grad() ? Tensor::zeros(x.shape()) : Tensor();
    Tensor dw = weight.requires_grad() ? Tensor::zeros(weight.shape()) : Tensor();
    Tensor db = bias.requires_grad() ? Tensor::zeros(bias.shape()) : Tensor();
    const int64_t chunks = (g.B + kImagesPerChunk - 1) / kImagesPerChunk;
    // One row of partial weight gradients per chunk, from the buffer pool.
    Tensor partial_dw = dw.defined() ? Tensor::empty({chunks, weight.numel()}) : Tensor();
    kernels::parallel_for(g.B, kImagesPerChunk, [&](int64_t b0, int64_t b1) {
      float* col = t_col.get(size_t(g.patch() * g.pixels()));
      float* dw_chunk = nullptr;
      if (dw.defined()) {
        dw_chunk = partial_dw.data() + (b0 / kImagesPerChunk) * weight.numel();
        std::fill_n(dw_chunk, weight.numel(), 0.0f);
      }
      for (int64_t b = b0; b < b1; ++b)
        for (int64_t grp = 0; grp < g.groups; ++grp) {
          const float* dout = dy.data() + (b * g.O + grp * g.Og()) * g.pixels();
          const int64_t img = (b * g.C + grp * g.Cg()) * g.H * g.W;
          if (dw_chunk) {  // dW_g += dy_g col^T
            im2col(x.data() + img, col, g);
            kernels::sgemm(false, true, g.Og(), g.patch(), g.pixels(), 1.0f, dout, g.pixels(),
                           col, g.pixels(), 1.0f, dw_chunk + grp * g.Og() * g.patch(), g.patch());
          }
          if (dx.defined()) {  // dcol = W_g^T dy_g, folded back by col2im
            kernels::sgemm(true, false, g.patch(), g.pixels(), g.Og(), 1.0f,
                           weight.data() + grp * g.Og() * g.patch(), g.patch(), dout,
                           g.pixels(), 0.0f, col, g.pixels());
            col2im(col, dx.data() + img, g);
          }
        }
    });
    if (dw.defined()) {
      const int64_t n = weight.numel();
      float* pdw = dw.data();
      const float* part = partial_dw.data();
      for (int64_t c = 0; c < chunks; ++c)
        for (int64_t i = 0; i < n; ++i) pdw[i] += part[c * n + i];
    }
    if (db.defined()) {  // db_o = sum over images and pixels of dy
      float* pdb = db.data();
      const float* pdy = dy.data();
      for (int64_t b = 0; b < g.B; ++b)
        for (int64_t o = 0; o < g.O; ++o) {
          float s = pdb[o];
          for (int64_t p = 0; p < g.pixels(); ++p) s += pdy[(b * g.O + o) * g.pixels() + p];
          pdb[o] = s;
        }
    }
    return std::vector<Tensor>{dx, dw, db};
  });
}

}  // namespace cf
