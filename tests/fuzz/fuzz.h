// What every fuzz target shares. A cf::Error is a readable answer to a bad
// file, so it is a valid outcome; anything else (a crash, a sanitizer report,
// another exception type, std::bad_alloc from a size the file claims)
// escapes and libFuzzer reports it.
#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "autograd/error.h"

namespace cf::fuzz {

// f()'s result, or nothing when it threw cf::Error.
template <class F>
auto unless_cf_error(F&& f) -> std::optional<decltype(f())> {
  try {
    return f();
  } catch (const cf::Error&) {
    return std::nullopt;
  }
}

inline std::string as_string(const uint8_t* data, size_t size) {
  return std::string(reinterpret_cast<const char*>(data), size);
}

}  // namespace cf::fuzz
