// Config::parse, the typed getters on every key, and the round trip
// parse(to_string()) == config that checkpoints rely on.
#include <cstdlib>

#include "nn/config.h"
#include "tests/fuzz/fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto config = cf::fuzz::unless_cf_error(
      [&] { return cf::Config::parse(cf::fuzz::as_string(data, size), "fuzz.cfg"); });
  if (!config) return 0;
  for (const std::string& key : config->keys()) {
    cf::fuzz::unless_cf_error([&] { return config->get_int(key); });
    cf::fuzz::unless_cf_error([&] { return config->get_float(key); });
    cf::fuzz::unless_cf_error([&] { return config->get_bool(key); });
  }
  if (cf::Config::parse(config->to_string(), "round trip") != *config) std::abort();
  return 0;
}
