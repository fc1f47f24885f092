// The image-folder decode path: stb_image on the file's bytes, then the
// resize to the data set's size (SizePolicy::resize).
#include "data/image_io.h"
#include "tests/fuzz/fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto image =
      cf::fuzz::unless_cf_error([&] { return cf::data::decode_image_memory(data, size, "fuzz.img"); });
  if (image) cf::data::resize_bilinear(*image, 32, 32);
  return 0;
}
