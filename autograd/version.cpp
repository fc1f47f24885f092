#include "autograd/version.h"

namespace cf {
const char* version() { return CF_VERSION; }
}  // namespace cf
