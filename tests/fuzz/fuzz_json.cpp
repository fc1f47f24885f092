// The JSON parser under safetensors headers. What it accepts must be written
// back as JSON it accepts again; from the second writing on, the text is
// stable (the first may change a number's spelling: 1.0 -> 1).
#include <cstdlib>

#include "train/json.h"
#include "tests/fuzz/fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto value =
      cf::fuzz::unless_cf_error([&] { return cf::parse_json(cf::fuzz::as_string(data, size)); });
  if (!value) return 0;
  const std::string once = cf::to_json(cf::parse_json(cf::to_json(*value)));
  if (cf::to_json(cf::parse_json(once)) != once) std::abort();
  return 0;
}
