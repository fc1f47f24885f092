// Errors are exceptions whose message a person can act on: the op, the shapes,
// the axis, the file. CF_CHECK builds its message only when the check fails.
#pragma once
#include <sstream>
#include <stdexcept>
#include <string>

namespace cf {

struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

}  // namespace cf

// CF_CHECK(cond, "matmul: inner sizes differ: " << a << " vs " << b)
#define CF_CHECK(cond, message)            \
  do {                                     \
    if (!(cond)) {                         \
      std::ostringstream cf_check_os_;     \
      cf_check_os_ << message;             \
      throw ::cf::Error(cf_check_os_.str()); \
    }                                      \
  } while (0)
