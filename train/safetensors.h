// Checkpoints as safetensors files (DESIGN.md), so weights move to and from
// PyTorch (safetensors.torch.load_file / save_file) and other tools:
//
//   bytes 0..8      N, the header length, unsigned 64-bit little-endian
//   bytes 8..8+N    a JSON object: for each tensor
//                     "name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}
//                   and optionally "__metadata__": {string: string}
//   bytes 8+N..     the data: each tensor's raw little-endian values at
//                   [begin, end) relative to the start of the data, which
//                   the tensors cover with no gaps or overlaps.
//
// Only F32 is read and written (the library is float32). A file is written
// to a temporary file in the same folder, flushed to disk (fsync) and renamed
// into place, so the target path never holds a half-written file, even after
// a crash or a power cut. The metadata key "cf_checksum" holds a CRC-32 of
// the contents (tensor names, shapes and bytes, and the other metadata);
// reading verifies it when present (files from other tools have none) and
// removes it from the metadata returned. Reading checks every field and names
// the file and the tensor or byte offset that is wrong.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>

#include "nn/config.h"
#include "nn/model.h"
#include "nn/module.h"

namespace cf {

using Metadata = std::map<std::string, std::string>;

struct Safetensors {
  NamedTensors tensors;  // in header order
  Metadata metadata;
};

// The file's bytes, and back. `name` names the source in error messages.
std::string serialize_safetensors(const NamedTensors& tensors, const Metadata& metadata = {});
Safetensors parse_safetensors(const std::string& bytes, const std::string& name);

void save_safetensors(const std::string& path, const NamedTensors& tensors,
                      const Metadata& metadata = {});
Safetensors load_safetensors(const std::string& path);

// A model checkpoint: the state dict, and metadata "model" (the registered
// name), "config" (Config::to_string()), "step" and "format" = "pt".
struct Checkpoint {
  std::string model;
  Config config;
  int64_t step = 0;
  NamedTensors tensors;
  Metadata metadata;
};

void save_checkpoint(const std::string& path, const Model& model, int64_t step,
                     const Metadata& extra = {});
Checkpoint read_checkpoint(const std::string& path);
// Loads the file's tensors into `module`, leaving out the optimiser's state
// of a last checkpoint (names and shapes must match exactly; the error names
// the file and lists every difference).
void load_weights(const std::string& path, Module& module);
// Rebuilds the model by name from the checkpoint's config, then loads it;
// the optimiser's state in cf train's last checkpoint is left out.
std::unique_ptr<Model> load_model(const std::string& path);

// cf train's last checkpoint holds the optimiser's state too, its names
// prefixed so; split_optimizer_state separates the model's tensors from the
// optimiser's (returned without the prefix).
inline const std::string kOptimizerPrefix = "optimizer.";
std::pair<NamedTensors, NamedTensors> split_optimizer_state(const NamedTensors& tensors);

}  // namespace cf
