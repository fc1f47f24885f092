#include "data/loader.h"
#include "data/synthetic.h"
#include "tests/helpers.h"

using namespace cf;

TEST_CASE("a loader started at a later batch gives the rest of the epoch", "[data][loader]") {
  auto set = std::make_shared<const data::ImageSet>(data::synthetic_dataset(40, 3));
  data::LoaderOptions options;
  options.batch_size = 8;
  options.seed = 5;
  options.augment.crop_padding = 4;
  options.augment.horizontal_flip = true;
  data::Loader whole(set, options), rest(set, options);
  whole.start_epoch(2);
  rest.start_epoch(2, 3);
  data::Batch a, b;
  for (int i = 0; i < 3; ++i) REQUIRE(whole.next(a));
  int compared = 0;
  while (whole.next(a)) {
    REQUIRE(rest.next(b));
    CHECK(a.indices == b.indices);
    CHECK(a.images.to_vector() == b.images.to_vector());
    ++compared;
  }
  CHECK(compared == 2);
  CHECK_FALSE(rest.next(b));
  CHECK(test::error_of([&] { rest.start_epoch(0, 6); }).find("first batch 6 is not in [0, 5]") !=
        std::string::npos);
}
