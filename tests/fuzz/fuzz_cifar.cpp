// The CIFAR binary batch reader, as CIFAR-10 (1 label byte) and as CIFAR-100
// (2 label bytes, fine labels) on the same bytes. A set it accepts must pass
// the data set check every consumer relies on.
#include "data/cifar.h"
#include "tests/fuzz/fuzz.h"

namespace {

bool read(const uint8_t* data, size_t size, int label_bytes, int64_t classes,
          cf::data::ImageSet& set) {
  return cf::fuzz::unless_cf_error([&] {
           cf::data::append_cifar_batch_memory(data, size, "fuzz.bin", label_bytes,
                                               label_bytes - 1, classes, set);
           return true;
         })
      .has_value();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  for (int label_bytes : {1, 2}) {
    cf::data::ImageSet set;
    set.classes.resize(label_bytes == 1 ? 10 : 100);
    if (read(data, size, label_bytes, int64_t(set.classes.size()), set))
      cf::data::check_image_set(set, "fuzz.bin");
  }
  return 0;
}
