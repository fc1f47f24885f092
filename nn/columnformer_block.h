// The Columnformer block and encoder (ARCHITECTURES.md 3.4, 3.5).
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "nn/columnformer_attention.h"
#include "nn/columnformer_layers.h"
#include "nn/mixture.h"
#include "nn/position.h"

namespace cf {

struct ColumnBlockOptions {
  MixerOptions attn;                 // attn.mode is attn_mode
  std::string mlp_mode = "classic";  // classic, untied, moe
  std::string norm_mode = "classic";
  double mlp_ratio = 4.0;            // D_ff = floor(mlp_ratio D)
  bool mlp_conserve = true;          // moe MLP: D_ff = floor(mlp_ratio D / E)
  std::string act = "gelu";
  int64_t experts = 1;               // E of the block's mixture coefficients
  bool temp_scale = true;            // (C2)
  bool skip_attn = true;             // (C3)
};

//   a = Mixer(Norm1(x));  x = skip_attn ? x + a : a                    (C3)
//   x = x + MLP(Norm2(x))                                               (C4)
class ColumnBlock : public Module {
 public:
  explicit ColumnBlock(const ColumnBlockOptions& o);
  Tensor forward(const Tensor& x);  // (B, N, D) -> (B, N, D)
  const Tensor& attention_map() const { return attn->attention_map(); }
  // The block's mixture coefficients (N, E) with their graph, undefined
  // when no layer of the block is moe.
  Tensor coefficients() const { return coeffs ? coeffs->forward() : Tensor(); }
  // The hidden width of the MLP (3.2: divided by E when moe and conserve).
  static int64_t mlp_width(const ColumnBlockOptions& o);
  // Whether any layer (attention, MLP, norm) is moe: then the block has
  // mixture coefficients over its `experts`.
  static bool any_moe(const ColumnBlockOptions& o);

  const bool skip_attn;
  std::unique_ptr<MixtureCoefficients> coeffs;  // present when any mode is moe
  std::unique_ptr<TokenLayer> norm1;
  std::unique_ptr<TokenMixer> attn;
  std::unique_ptr<TokenLayer> norm2;
  std::unique_ptr<ColumnMLP> mlp;
};

struct EncoderOptions {
  // One block per layer (feed-forward, `depth` entries) or the one block
  // applied `depth` times (recurrent, one entry).
  std::vector<ColumnBlockOptions> blocks;
  int64_t depth = 1;                  // L
  bool recurrent = false;
  int64_t seq_len = 0;                // N, columns the encoder holds
  bool pos_embed = true;
  bool time_embed = false;            // recurrent only
  std::vector<int64_t> direct_edges;  // recurrent only; empty: none
};

//   u = input (B, n_in, D); if recurrent and n_in < N: pad with zeros to N
//   x = u + pos;  u := x[:, :n_in]                                      (C5)
//   for t = 0 .. L-1:
//     if recurrent:
//       if direct_edges and t > 0: x = concat([u, x], 1)[:, direct_edges]  (C6)
//       if time_embed: x = x + tau[t]
//     x = Block_{recurrent ? 0 : t}(x)
class ColumnEncoder : public Module {
 public:
  explicit ColumnEncoder(const EncoderOptions& o);
  Tensor forward(const Tensor& u);  // (B, n_in, D) -> (B, N, D)
  // Per step t = 0 .. L-1 of the last forward: attention maps and outputs.
  const std::vector<Tensor>& attention_maps() const { return attention_maps_; }
  const std::vector<Tensor>& step_outputs() const { return step_outputs_; }
  // Copies `bias` (N, N) into every block's attention bias (C8).
  void set_attention_bias(const Tensor& bias);

  const int64_t depth, seq_len, dim;
  const bool recurrent;
  const std::vector<int64_t> direct_edges;
  std::unique_ptr<PositionEmbedding> pos_embed;
  Tensor time_embed;  // tau (L, D), trunc_normal(0.02)
  std::vector<std::unique_ptr<ColumnBlock>> blocks;

 private:
  std::vector<Tensor> attention_maps_, step_outputs_;
};

}  // namespace cf
