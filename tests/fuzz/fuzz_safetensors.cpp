// The safetensors reader; a file it accepts must serialise back to a file
// that parses to the same tensors and metadata.
#include <cstdlib>
#include <cstring>

#include "train/safetensors.h"
#include "tests/fuzz/fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto file = cf::fuzz::unless_cf_error([&] {
    return cf::parse_safetensors(cf::fuzz::as_string(data, size), "fuzz.safetensors");
  });
  if (!file) return 0;
  const cf::Safetensors again =
      cf::parse_safetensors(cf::serialize_safetensors(file->tensors, file->metadata), "round trip");
  if (again.tensors.size() != file->tensors.size() || again.metadata != file->metadata) std::abort();
  for (size_t i = 0; i < again.tensors.size(); ++i) {
    const cf::Tensor& a = file->tensors[i].second;
    const cf::Tensor& b = again.tensors[i].second;
    if (file->tensors[i].first != again.tensors[i].first || a.shape() != b.shape() ||
        std::memcmp(a.data(), b.data(), size_t(a.numel()) * sizeof(float)) != 0)
      std::abort();
  }
  return 0;
}
