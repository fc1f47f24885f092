#include "nn/model.h"

namespace cf {

int64_t Model::attention_parameters() const {
  int64_t count = 0;
  for (const auto& [name, p] : named_parameters())
    if (name.find("attn.") == 0 || name.find(".attn.") != std::string::npos) count += p.numel();
  return count;
}

}  // namespace cf
