// The .npy reader, then what CIFAR-10-C's reader does with an array: the
// dtype and shape check, the conversion of its dtype.
#include "data/npy.h"
#include "tests/fuzz/fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using cf::data::NpyDtype;
  const auto array =
      cf::fuzz::unless_cf_error([&] { return cf::data::parse_npy(data, size, "fuzz.npy"); });
  if (!array) return 0;
  cf::fuzz::unless_cf_error([&] {
    cf::data::require_npy(array->header, "fuzz.npy", NpyDtype::uint8, {-1, -1, -1, 3});
    return true;
  });
  if (array->header.dtype == NpyDtype::float32)
    array->to_float32();
  else
    array->to_int64();
  return 0;
}
