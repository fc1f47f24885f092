// The library's version (from CMakeLists.txt's project()), recorded in every
// log and checkpoint with the kernel path, so a result says what made it.
#pragma once

namespace cf {
const char* version();
}  // namespace cf
