#include <sstream>

#include "autograd/random.h"
#include "tests/helpers.h"

using namespace cf;
using cf::test::error_of;

TEST_CASE("tensor factories", "[tensor]") {
  CHECK(Tensor::zeros({2, 3}).to_vector() == std::vector<float>(6, 0.0f));
  CHECK(Tensor::ones({4}).to_vector() == std::vector<float>(4, 1.0f));
  CHECK(Tensor::full({2, 2}, 7.5f).at({1, 1}) == 7.5f);
  CHECK(Tensor::arange(4).to_vector() == std::vector<float>{0, 1, 2, 3});
  Tensor t = Tensor::from({1, 2, 3, 4, 5, 6}, {2, 3});
  CHECK(t.at({1, 0}) == 4.0f);
  CHECK(t.size(-1) == 3);
  CHECK(Tensor::scalar(3.0f).dim() == 0);
  CHECK(Tensor::scalar(3.0f).item() == 3.0f);
  t.set({0, 2}, -1.0f);
  CHECK(t.data()[2] == -1.0f);
}

TEST_CASE("storage is 64-byte aligned and shared by copies and reshape", "[tensor]") {
  for (int64_t n : {1, 3, 17, 1000}) {
    Tensor t = Tensor::zeros({n});
    CHECK(reinterpret_cast<uintptr_t>(t.data()) % 64 == 0);
  }
  Tensor a = Tensor::zeros({2, 3});
  Tensor b = a;
  b.data()[0] = 5.0f;
  CHECK(a.data()[0] == 5.0f);
  CHECK(reshape(a, {3, 2}).data() == a.data());
  CHECK(a.clone().data() != a.data());
}

TEST_CASE("random tensors are reproducible and well distributed", "[tensor][random]") {
  Tensor a = Tensor::randn({10000}, 42), b = Tensor::randn({10000}, 42);
  CHECK(a.to_vector() == b.to_vector());
  CHECK(Tensor::randn({10000}, 43).to_vector() != a.to_vector());
  double m = mean(a).item(), v = var(a).item();
  CHECK(std::fabs(m) < 0.03);
  CHECK(std::fabs(v - 1.0) < 0.05);
  Tensor u = Tensor::rand({10000}, 1, 2.0f, 4.0f);
  CHECK(max(u).item() < 4.0f);
  CHECK(-max(-u).item() >= 2.0f);
  CHECK(std::fabs(mean(u).item() - 3.0f) < 0.03f);
  Tensor tn = Tensor::trunc_normal({10000}, 3, 0.02f);
  CHECK(max(abs(tn)).item() <= 0.04f);
  // Pinned values: the generator is platform independent, so these bits must
  // never change (changing them silently changes every user's initialisation).
  // mix64 is SplitMix64's output function, whose first output from state 0 is
  // published; the others come from a Python transcription of random.cpp's
  // formulas (integers mod 2^64, IEEE doubles, then rounding to float).
  CHECK(mix64(0) == 0xE220A8397B1DCDAFull);
  Rng rng(0);
  CHECK(rng.bits(0) == 0xA7F72697A2731486ull);
  CHECK(rng.bits(1) == 0x5B179A52E1E7C31Aull);
  CHECK(rng.bits(1, 1) == 0xC275DCE7F1E03C9Eull);
  CHECK(rng.uniform(0) == 11007782.0f / 16777216.0f);
  CHECK(rng.normal(0) == 1.7335658073425293f);
  CHECK(rng.normal(1) == -1.123117208480835f);
  CHECK(rng.normal(2) == 0.6112803220748901f);
}

TEST_CASE("portable_log matches the C library", "[tensor][random]") {
  for (double x : {1e-300, 1e-10, 0.001, 0.3, 0.5, 0.7071, 1.0, 1.5, 2.0, 1e10}) {
    INFO(x);
    CHECK(std::fabs(portable_log(x) - std::log(x)) <= 1e-15 * std::max(1.0, std::fabs(std::log(x))));
  }
}

TEST_CASE("tensors print readably", "[tensor]") {
  std::string s = to_string(Tensor::from({1, 2, 3, 4}, {2, 2}));
  CHECK(s.find("Tensor[2, 2]") == 0);
  CHECK(s.find("1.0000") != std::string::npos);
  CHECK(s.find("4.0000") != std::string::npos);
  std::string big = to_string(Tensor::arange(100));
  CHECK(big.find("...") != std::string::npos);
  CHECK(big.find("99.0000") != std::string::npos);
  CHECK(to_string(Tensor::scalar(2.5f)).find("2.5") != std::string::npos);
  CHECK(to_string(Tensor()) == "Tensor(undefined)");
}

TEST_CASE("tensor element access reports bad indices", "[tensor][errors]") {
  Tensor t = Tensor::zeros({2, 3});
  CHECK(error_of([&] { t.at({2, 0}); }).find("out of range on axis 0 of shape [2, 3]") !=
        std::string::npos);
  CHECK(error_of([&] { t.at({1}); }).find("1 indices for shape [2, 3]") != std::string::npos);
  CHECK(error_of([&] { t.item(); }).find("[2, 3]") != std::string::npos);
  CHECK(error_of([&] { t.size(2); }).find("axis 2") != std::string::npos);
  CHECK(error_of([&] { Tensor::from({1, 2, 3}, {2, 2}); }).find("3 values") != std::string::npos);
  CHECK(error_of([&] { Tensor::zeros({2, -1}); }).find("negative") != std::string::npos);
  CHECK(error_of([&] { Tensor().data(); }).find("undefined") != std::string::npos);
}

TEST_CASE("a shape too large to allocate is refused before allocating, naming shape and bytes",
          "[tensor][errors]") {
  using Catch::Matchers::Contains;
  REQUIRE_THROWS_WITH(Tensor::empty({3, -2}),
                      Contains("Tensor::empty: negative size in shape [3, -2]"));
  // 2^62 * 2^62 elements: the element count itself overflows int64.
  const int64_t huge = int64_t(1) << 62;
  REQUIRE_THROWS_WITH(Tensor::zeros({huge, huge}),
                      Contains("Tensor::empty: shape [4611686018427387904, 4611686018427387904]") &&
                          Contains("more than a 64-bit size can count"));
  // 2^61 elements fit in int64, their 2^63 bytes do not.
  REQUIRE_THROWS_WITH(Tensor::empty({int64_t(1) << 61}),
                      Contains("more than a 64-bit size can count"));
  // 2^50 floats = 4 PiB: countable, but more than any machine's memory.
  if (physical_memory_bytes() > 0)
    REQUIRE_THROWS_WITH(Tensor::ones({1 << 25, 1 << 25}),
                        Contains("Tensor::empty: shape [33554432, 33554432] needs "
                                 "4503599627370496 bytes (4194304.0 GiB)") &&
                            Contains("GiB of physical memory"));
  // A zero anywhere makes the product 0, however large the other sizes.
  CHECK(Tensor::empty({huge, huge, 0}).numel() == 0);
  CHECK(checked_numel({huge, huge}) == -1);
  CHECK(checked_numel({2, -1}) == -1);
  CHECK(checked_numel({huge, huge, 0}) == 0);
}
