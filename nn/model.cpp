#include "nn/model.h"

namespace cf {

int64_t Model::attention_parameters() const {
  // The token mixers' module names: attention ("attn"), AFT's mixer ("aft"),
  // MLP-Mixer's token MLP ("mlp_tokens"). The names stay those of the
  // reference implementations, so checkpoints keep loading in PyTorch.
  int64_t count = 0;
  for (const auto& [name, p] : named_parameters())
    for (const char* mixer : {"attn.", "aft.", "mlp_tokens."})
      if (name.find(mixer) == 0 || name.find(std::string(".") + mixer) != std::string::npos) {
        count += p.numel();
        break;
      }
  return count;
}

}  // namespace cf
