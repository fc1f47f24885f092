// The transpose kernel behind permute and transpose: every path against the
// definition (a copy, so exactly), on sizes around its 8 x 8 blocks, without
// touching anything past the rows and columns it owns.
#include <vector>

#include "autograd/kernels/transpose.h"
#include "tests/catch.h"
#include "tests/test_kernels_util.h"

using namespace cf::kernels;
using cf::test::invalid_argument_of;
using cf::test::uniform;

TEST_CASE("transpose: every path moves each element to its place and nothing else",
          "[kernels][transpose]") {
  cf::test::SimdPathGuard guard;
  const float kUntouched = -7.0f;  // outside [-1, 1), so no source value
  for (SimdPath path : cf::test::supported_paths()) {
    set_simd_path(path);
    for (int64_t rows : {1, 3, 7, 8, 9, 16, 17, 33})
      for (int64_t cols : {1, 2, 8, 15, 24, 41}) {
        INFO("path " << simd_path_name(path) << " rows " << rows << " cols " << cols);
        // Leading dimensions longer than a row: the gaps must stay as they are.
        const int64_t lds = rows + 3, ldd = cols + 5;
        const auto src = uniform(size_t(cols * lds), uint64_t(rows * 100 + cols));
        std::vector<float> dst(size_t(rows * ldd), kUntouched);
        transpose(src.data(), lds, dst.data(), ldd, rows, cols);
        bool right = true;
        for (int64_t j = 0; j < rows; ++j)
          for (int64_t l = 0; l < ldd; ++l)
            right = right && dst[size_t(j * ldd + l)] ==
                                 (l < cols ? src[size_t(l * lds + j)] : kUntouched);
        CHECK(right);
      }
  }
}

TEST_CASE("transpose: bad sizes are refused with a message naming them", "[kernels][transpose]") {
  float buf[64] = {};
  CHECK(invalid_argument_of([&] { transpose(buf, 4, buf + 32, 4, -1, 4); }) ==
        "transpose: rows = -1, cols = 4, lds = 4, ldd = 4; need sizes >= 0, lds >= rows and "
        "ldd >= cols");
  CHECK(invalid_argument_of([&] { transpose(buf, 3, buf + 32, 8, 4, 8); }) ==
        "transpose: rows = 4, cols = 8, lds = 3, ldd = 8; need sizes >= 0, lds >= rows and "
        "ldd >= cols");
  CHECK(invalid_argument_of([&] { transpose(buf, 8, buf + 32, 2, 4, 3); }) ==
        "transpose: rows = 4, cols = 3, lds = 8, ldd = 2; need sizes >= 0, lds >= rows and "
        "ldd >= cols");
  CHECK(invalid_argument_of([&] { transpose(buf, 1, buf + 32, 1, 0, 0); }).empty());
  // In place (or partly) it would read what it has overwritten; null data.
  CHECK(invalid_argument_of([&] { transpose(buf, 4, buf, 4, 4, 4); }) ==
        "transpose: src and dst overlap (rows = 4, cols = 4); give dst its own buffer");
  CHECK(invalid_argument_of([&] { transpose(buf, 4, buf + 15, 4, 4, 4); }).find("overlap") !=
        std::string::npos);
  CHECK(invalid_argument_of([&] { transpose(buf, 4, buf + 16, 4, 4, 4); }).empty());
  CHECK(invalid_argument_of([&] { transpose(nullptr, 4, buf, 4, 4, 4); }) ==
        "transpose: src is null, with 16 elements to read or write");
}
