#include "nn/columnformer_attention.h"

#include <algorithm>
#include <cmath>

#include "autograd/error.h"
#include "autograd/graph.h"
#include "autograd/kernels/gemm.h"
#include "autograd/kernels/rowops.h"
#include "autograd/kernels/threads.h"
#include "autograd/ops.h"

namespace cf {

namespace {

// (B, N, H w) -> (B, H, N, w): heads become a batch axis of the matmuls.
Tensor split_heads(const Tensor& t, int64_t heads) {
  const int64_t B = t.size(0), N = t.size(1), w = t.size(2) / heads;
  return permute(reshape(t, {B, N, heads, w}), {0, 2, 1, 3});
}

}  // namespace

Tensor attention_weights(const Tensor& q, const Tensor& k, const Tensor& attn_bias, const Tensor& head_bias,
                         int64_t heads, float scale) {
  CF_CHECK(q.defined() && k.defined() && q.dim() == 3 && q.shape() == k.shape() && heads > 0 &&
               q.size(2) % heads == 0,
           "attention_weights: q of shape " << (q.defined() ? shape_str(q.shape()) : "undefined") << " and k of shape "
                                            << (k.defined() ? shape_str(k.shape()) : "undefined") << " for " << heads
                                            << " heads, expected both [B, N, heads d]");
  const int64_t B = q.size(0), N = q.size(1), H = heads, ld = q.size(2), d = ld / H, NN = N * N;
  CF_CHECK(!attn_bias.defined() || attn_bias.shape() == Shape({N, N}),
           "attention_weights: attn_bias of shape " << shape_str(attn_bias.shape()) << ", expected [" << N << ", "
                                                    << N << "]");
  CF_CHECK(!head_bias.defined() || head_bias.shape() == Shape({H, N, N}),
           "attention_weights: head_bias of shape " << shape_str(head_bias.shape()) << ", expected [" << H << ", "
                                                    << N << ", " << N << "]");
  // What head h's scores start from: attn_bias + head_bias[h], or the one
  // that is present (stride 0: attn_bias serves every head).
  Tensor bias = head_bias.defined() ? head_bias : attn_bias;
  const int64_t bias_stride = head_bias.defined() ? NN : 0;
  if (attn_bias.defined() && head_bias.defined()) {
    bias = Tensor::empty({H, N, N});
    for (int64_t i = 0; i < H * NN; ++i) bias.data()[i] = attn_bias.data()[i % NN] + head_bias.data()[i];
  }
  Tensor A = Tensor::empty({B, H, N, N});
  kernels::parallel_for(B * H, 1, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const int64_t offset = (i / H) * N * ld + (i % H) * d;  // image b = i / H, head h = i % H
      float* a = A.data() + i * NN;
      // (A2): S = scale q_h k_h^T + bias (the GEMM's addend D); (A3):
      // A = softmax(S), in place.
      kernels::sgemm(false, true, N, N, d, scale, q.data() + offset, ld, k.data() + offset, ld,
                     bias.defined() ? 1.0f : 0.0f, a, N,
                     bias.defined() ? bias.data() + (i % H) * bias_stride : nullptr, N);
      kernels::softmax_forward(a, a, N, N);
    }
  });
  return record("attention_weights", A, {q, k, attn_bias, head_bias},
                [q, k, attn_bias, head_bias, A = A.detach(), H, scale](const Tensor& g) {
                  const int64_t B = A.size(0), N = A.size(2), ld = q.size(2), d = ld / H, NN = N * N;
                  Tensor dq = q.requires_grad() ? Tensor::empty(q.shape()) : Tensor();
                  Tensor dk = k.requires_grad() ? Tensor::empty(k.shape()) : Tensor();
                  Tensor d_attn = attn_bias.defined() && attn_bias.requires_grad() ? Tensor::empty({N, N}) : Tensor();
                  Tensor d_head = head_bias.defined() && head_bias.requires_grad() ? Tensor::empty({H, N, N}) : Tensor();
                  const bool bias_grad = d_attn.defined() || d_head.defined();
                  // Chunks of whole images, fixed by B alone: each keeps dS of
                  // one (b, h) at a time (in cache, never the whole
                  // (B, H, N, N)) and, for the biases, its own sum over its
                  // images per head; the sums are added in chunk order, so
                  // the result is the same for any thread count.
                  const int64_t images = (B + 7) / 8, chunks = (B + images - 1) / images;
                  std::vector<float> partial(bias_grad ? size_t(chunks * H * NN) : 0);
                  kernels::parallel_for(B * H, images * H, [&](int64_t begin, int64_t end) {
                    std::vector<float> scratch(static_cast<size_t>(NN));
                    float* ds = scratch.data();
                    float* sums = bias_grad ? partial.data() + begin / (images * H) * H * NN : nullptr;
                    for (int64_t i = begin; i < end; ++i) {
                      const int64_t offset = (i / H) * N * ld + (i % H) * d;
                      kernels::softmax_backward(A.data() + i * NN, g.data() + i * NN, ds, N, N);
                      if (dq.defined())  // dq_h = scale dS k_h
                        kernels::sgemm(false, false, N, d, N, scale, ds, N, k.data() + offset, ld, 0.0f,
                                       dq.data() + offset, ld);
                      if (dk.defined())  // dk_h = scale dS^T q_h
                        kernels::sgemm(true, false, N, d, N, scale, ds, N, q.data() + offset, ld, 0.0f,
                                       dk.data() + offset, ld);
                      if (sums) {  // d head_bias[h] and d attn_bias collect dS over b
                        float* sum = sums + (i % H) * NN;
                        if (i < begin + H) std::copy(ds, ds + NN, sum);  // the chunk's first image
                        else
                          for (int64_t j = 0; j < NN; ++j) sum[j] += ds[j];
                      }
                    }
                  });
                  for (int64_t c = 0; c < chunks && bias_grad; ++c)
                    for (int64_t h = 0; h < H; ++h) {
                      const float* sum = partial.data() + (c * H + h) * NN;
                      if (d_head.defined()) {
                        float* dh = d_head.data() + h * NN;
                        for (int64_t j = 0; j < NN; ++j) dh[j] = c == 0 ? sum[j] : dh[j] + sum[j];
                      }
                      if (d_attn.defined())
                        for (int64_t j = 0; j < NN; ++j)
                          d_attn.data()[j] = c == 0 && h == 0 ? sum[j] : d_attn.data()[j] + sum[j];
                    }
                  return std::vector<Tensor>{dq, dk, d_attn, d_head};
                });
}

Tensor attend(const Tensor& attention, const Tensor& v) {
  CF_CHECK(attention.defined() && v.defined() && attention.dim() == 4 && v.dim() == 3 &&
               (attention.size(0) == 1 || attention.size(0) == v.size(0)) && attention.size(2) == v.size(1) &&
               attention.size(3) == v.size(1) && v.size(2) % attention.size(1) == 0,
           "attend: attention of shape " << (attention.defined() ? shape_str(attention.shape()) : "undefined")
                                         << " and values of shape " << (v.defined() ? shape_str(v.shape()) : "undefined")
                                         << ", expected [B or 1, H, N, N] and [B, N, H w]");
  const int64_t B = v.size(0), H = attention.size(1), N = v.size(1), ld = v.size(2), w = ld / H, NN = N * N;
  const int64_t a_stride = attention.size(0) == 1 ? 0 : H * NN;  // per image; 0: one map for all
  Tensor o = Tensor::empty(v.shape());
  kernels::parallel_for(B * H, 1, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const int64_t b = i / H, h = i % H, offset = b * N * ld + h * w;
      kernels::sgemm(false, false, N, w, N, 1.0f, attention.data() + b * a_stride + h * NN, N, v.data() + offset,
                     ld, 0.0f, o.data() + offset, ld);
    }
  });
  return record("attend", o, {attention, v}, [attention, v, a_stride](const Tensor& g) {
    const int64_t B = v.size(0), H = attention.size(1), N = v.size(1), ld = v.size(2), w = ld / H, NN = N * N;
    Tensor dA, dv;
    if (attention.requires_grad() && a_stride > 0) {  // dA[b, h] = g_h v_h^T
      dA = Tensor::empty(attention.shape());
      kernels::parallel_for(B * H, 1, [&](int64_t begin, int64_t end) {
        for (int64_t i = begin; i < end; ++i) {
          const int64_t offset = (i / H) * N * ld + (i % H) * w;
          kernels::sgemm(false, true, N, N, w, 1.0f, g.data() + offset, ld, v.data() + offset, ld, 0.0f,
                         dA.data() + i * NN, N);
        }
      });
    } else if (attention.requires_grad()) {
      // Shared: dA_h = sum over b of g_h v_h^T = G_h V_h^T, with G_h (N, B w)
      // head h's columns of every image side by side: one GEMM per head
      // with K = B w rather than B products with K = w.
      Tensor gh = Tensor::empty({H, N, B * w}), vh = Tensor::empty({H, N, B * w});
      kernels::parallel_for(H * N, 16, [&](int64_t begin, int64_t end) {
        for (int64_t r = begin; r < end; ++r)  // r = (h, n)
          for (int64_t b = 0; b < B; ++b) {
            const int64_t from = (b * N + r % N) * ld + (r / N) * w, to = r * B * w + b * w;
            std::copy(g.data() + from, g.data() + from + w, gh.data() + to);
            std::copy(v.data() + from, v.data() + from + w, vh.data() + to);
          }
      });
      dA = Tensor::empty(attention.shape());
      kernels::sgemm_batched(false, true, N, N, B * w, 1.0f, gh.data(), B * w, N * B * w, vh.data(), B * w,
                             N * B * w, 0.0f, dA.data(), N, NN, H);
    }
    if (v.requires_grad()) {  // dv_h = A[b, h]^T g_h
      dv = Tensor::empty(v.shape());
      kernels::parallel_for(B * H, 1, [&](int64_t begin, int64_t end) {
        for (int64_t i = begin; i < end; ++i) {
          const int64_t b = i / H, h = i % H, offset = b * N * ld + h * w;
          kernels::sgemm(true, false, N, w, N, 1.0f, attention.data() + b * a_stride + h * NN, N, g.data() + offset,
                         ld, 0.0f, dv.data() + offset, ld);
        }
      });
    }
    return std::vector<Tensor>{dA, dv};
  });
}

void TokenMixer::check_input(const Tensor& x) const {
  CF_CHECK(x.defined() && x.dim() == 3 && x.size(1) == tokens && x.size(2) == dim,
           "token mixer: input of shape " << (x.defined() ? shape_str(x.shape()) : "undefined")
                                          << ", expected [B, " << tokens << ", " << dim << "]");
}

Tensor TokenMixer::add_biases(Tensor scores) const {
  if (attn_bias.defined()) scores = add(scores, attn_bias);  // + (N, N)
  if (head_bias.defined()) scores = add(scores, head_bias);  // + (H, N, N)
  return scores;
}

std::unique_ptr<TokenMixer> make_mixer(const MixerOptions& o, const MixtureCoefficients* coeffs) {
  CF_CHECK(o.heads > 0 && o.dim % o.heads == 0,
           "config: key \"heads\" has value \"" << o.heads << "\"; it must divide dim " << o.dim);
  CF_CHECK(o.qk_dim >= 0, "config: key \"qk_dim\" has value \"" << o.qk_dim << "\"; must be >= 0 (0: dim / heads)");
  CF_CHECK(!o.head_bias || o.attn_bias, "config: key \"head_bias\" has value \"true\"; it needs attn_bias");
  CF_CHECK(o.tokens > 0, "token mixer: the number of columns N must be positive, got " << o.tokens);
  if (o.mode == "selection") return std::make_unique<SelectionAttention>(o);
  if (o.mode == "mixing" || o.mode == "linmixing")
    return std::make_unique<MixingAttention>(o, o.mode == "mixing");
  if (o.mode != "classic" && o.mode != "untied" && o.mode != "moe")
    throw Error("config: key \"attn_mode\" has value \"" + o.mode +
                "\"; allowed: classic, untied, selection, mixing, linmixing, moe");
  return std::make_unique<ProjectedAttention>(o, Sharing{parse_weight_mode("attn_mode", o.mode), o.tokens, coeffs});
}

ProjectedAttention::ProjectedAttention(const MixerOptions& o, const Sharing& s)
    : TokenMixer(o), d_qk(o.qk_dim > 0 ? o.qk_dim : o.dim / o.heads), no_vp(o.no_vp) {
  q = make_linear(s, o.dim, heads * d_qk, o.qkv_bias);
  k = make_linear(s, o.dim, heads * d_qk, o.qkv_bias);
  register_module("q", *q);
  register_module("k", *k);
  if (!no_vp) {
    v = make_linear(s, o.dim, o.dim, o.qkv_bias);
    proj = make_linear(s, o.dim, o.dim);
    register_module("v", *v);
    register_module("proj", *proj);
  }
  const int64_t N = o.tokens;
  if (o.attn_bias) register_parameter("attn_bias", &attn_bias, {N, N}, Init::zeros(), Decay::no);
  if (o.head_bias)
    register_parameter("head_bias", &head_bias, {heads, N, N}, Init::zeros(), Decay::no);
}

Tensor ProjectedAttention::forward(const Tensor& x) {
  check_input(x);
  // (A1), then (A2), (A3) with the GEMM's alpha as the scale 1/sqrt(d_qk).
  attention_ = attention_weights(q->forward(x), k->forward(x), attn_bias, head_bias, heads,
                                 1.0f / std::sqrt(float(d_qk)));
  Tensor o = attend(attention_, no_vp ? x : v->forward(x));             // (A4)
  return no_vp ? o : proj->forward(o);                                  // (A5)
}

SelectionAttention::SelectionAttention(const MixerOptions& o) : TokenMixer(o) {
  const int64_t N = o.tokens, h = o.dim / o.heads;
  register_parameter("query", &query, {heads, N, h}, Init::trunc_normal(0.02f));
  register_parameter("attn_bias", &attn_bias, {N, N}, Init::zeros(), Decay::no);
  register_parameter("head_bias", &head_bias, {heads, N, N}, Init::zeros(), Decay::no);
}

Tensor SelectionAttention::forward(const Tensor& x) {
  check_input(x);
  Tensor xh = split_heads(x, heads);                                    // (B, H, N, h)
  Tensor scaled_query = mul_scalar(query, 1.0f / std::sqrt(float(query.size(2))));
  Tensor scores = matmul(scaled_query, transpose(xh, 2, 3));            // Q x_h^T / sqrt(h)
  attention_ = softmax(add_biases(scores), -1);
  return attend(attention_, x);                                         // y = A x_h
}

MixingAttention::MixingAttention(const MixerOptions& o, bool softmax) : TokenMixer(o), use_softmax(softmax) {
  const int64_t N = o.tokens;
  register_parameter("attn_bias", &attn_bias, {N, N}, Init::trunc_normal(0.02f), Decay::no);
  register_parameter("head_bias", &head_bias, {heads, N, N}, Init::zeros(), Decay::no);
}

Tensor MixingAttention::forward(const Tensor& x) {
  check_input(x);
  Tensor scores = reshape(add(attn_bias, head_bias), {1, heads, tokens, tokens});  // bias + head_bias
  attention_ = use_softmax ? softmax(scores, -1) : scores;
  return attend(attention_, x);                                         // y = A x_h
}

}  // namespace cf
