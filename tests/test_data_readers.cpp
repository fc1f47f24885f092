// The file readers: .npy, CIFAR-10/100 binary batches and image folders, on
// small files the tests write, including every kind of bad input.
#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "autograd/kernels/threads.h"
#include "data/cifar.h"
#include "data/image_folder.h"
#include "data/image_io.h"
#include "data/npy.h"
#include "tests/helpers.h"
#include "tests/test_data_util.h"

using namespace cf;
using namespace cf::data;
using Catch::Matchers::Contains;
using cf::test::error_of;
using cf::test::TempDir;

namespace {

// One CIFAR record: label bytes, then R, G, B planes of 32x32 whose values
// encode (plane, position, seed).
std::vector<uint8_t> cifar_record(std::vector<uint8_t> labels, int seed) {
  std::vector<uint8_t> rec = std::move(labels);
  for (int k = 0; k < 3; ++k)
    for (int p = 0; p < 1024; ++p) rec.push_back(uint8_t((k * 80 + p + seed * 13) % 256));
  return rec;
}

void append(std::vector<uint8_t>& to, const std::vector<uint8_t>& bytes) {
  to.insert(to.end(), bytes.begin(), bytes.end());
}

}  // namespace

TEST_CASE("npy round trip for uint8 and float32", "[data][npy]") {
  TempDir dir;
  const std::vector<uint8_t> bytes = {0, 1, 2, 250, 251, 255};
  write_npy(dir.file("u8.npy"), bytes.data(), {2, 3});
  NpyArray a = read_npy(dir.file("u8.npy"));
  CHECK(a.header.dtype == NpyDtype::uint8);
  CHECK(a.header.shape == std::vector<int64_t>{2, 3});
  CHECK(a.header.data_offset % 64 == 0);
  CHECK(a.bytes == bytes);
  CHECK(a.to_int64() == std::vector<int64_t>{0, 1, 2, 250, 251, 255});

  const std::vector<float> floats = {1.5f, -2.0f, 3.25f, 1e-7f};
  write_npy(dir.file("f4.npy"), floats.data(), {4});
  NpyArray f = read_npy(dir.file("f4.npy"));
  CHECK(f.header.dtype == NpyDtype::float32);
  CHECK(f.header.shape == std::vector<int64_t>{4});
  CHECK(f.to_float32() == floats);

  // A 0-d array, and the header NumPy itself writes for shape (4,).
  write_npy(dir.file("scalar.npy"), floats.data(), {});
  CHECK(read_npy(dir.file("scalar.npy")).to_float32() == std::vector<float>{1.5f});
  std::ifstream in(dir.file("f4.npy"), std::ios::binary);
  std::string head(size_t(f.header.data_offset), '\0');
  in.read(head.data(), f.header.data_offset);
  CHECK_THAT(head, Contains("{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }"));
}

TEST_CASE("npy reads version 2.0 headers", "[data][npy]") {
  TempDir dir;
  // Version 2.0: 4-byte header length; total prefix padded to 64.
  std::string dict = "{'descr': '|u1', 'fortran_order': False, 'shape': (3,), }";
  dict += std::string(64 - (12 + dict.size() + 1) % 64, ' ') + "\n";
  std::vector<uint8_t> file = {0x93, 'N', 'U', 'M', 'P', 'Y', 2, 0, uint8_t(dict.size()), 0, 0, 0};
  file.insert(file.end(), dict.begin(), dict.end());
  append(file, {7, 8, 9});
  cf::test::write_bytes(dir.file("v2.npy"), file);
  NpyArray a = read_npy(dir.file("v2.npy"));
  CHECK(a.header.shape == std::vector<int64_t>{3});
  CHECK(a.bytes == std::vector<uint8_t>{7, 8, 9});
}

TEST_CASE("npy errors name the file and what was expected", "[data][npy]") {
  TempDir dir;
  const std::vector<float> floats(6, 1.0f);
  write_npy(dir.file("f.npy"), floats.data(), {2, 3});
  const NpyHeader h = read_npy_header(dir.file("f.npy"));
  std::string e = error_of([&] { require_npy(h, dir.file("f.npy"), NpyDtype::uint8, {-1, 3}); });
  CHECK_THAT(e, Contains("f.npy") && Contains("expected a uint8 array of shape [any, 3]") &&
                    Contains("found float32 [2, 3]"));
  e = error_of([&] { require_npy(h, dir.file("f.npy"), NpyDtype::float32, {2, 4}); });
  CHECK_THAT(e, Contains("[2, 4]") && Contains("found float32 [2, 3]"));
  CHECK(error_of([&] { require_npy(h, dir.file("f.npy"), NpyDtype::float32, {-1, 3}); }).empty());

  // Truncated data, an unsupported dtype, no magic at all.
  std::vector<uint8_t> bytes = data::read_file_bytes(dir.file("f.npy"));
  bytes.resize(bytes.size() - 5);
  cf::test::write_bytes(dir.file("short.npy"), bytes);
  CHECK_THAT(error_of([&] { read_npy(dir.file("short.npy")); }),
             Contains("short.npy") && Contains("truncated"));
  std::string text(bytes.begin(), bytes.end());
  text.replace(text.find("<f4"), 3, ">f8");
  cf::test::write_bytes(dir.file("f8.npy"), {text.begin(), text.end()});
  CHECK_THAT(error_of([&] { read_npy(dir.file("f8.npy")); }),
             Contains("f8.npy") && Contains("'>f8' is not supported"));
  cf::test::write_bytes(dir.file("junk.npy"), {1, 2, 3});
  CHECK_THAT(error_of([&] { read_npy(dir.file("junk.npy")); }),
             Contains("junk.npy") && Contains("not a .npy file"));
  CHECK_THAT(error_of([&] { read_npy(dir.file("missing.npy")); }),
             Contains("missing.npy") && Contains("cannot open"));
}

TEST_CASE("npy files are written whole or not at all", "[data][npy][errors]") {
  TempDir dir;
  const std::string path = dir.file("a.npy");
  const std::vector<float> small(4, 1.0f), large(4096, 2.0f);
  write_npy(path, small.data(), {4});
  const std::vector<uint8_t> before = data::read_file_bytes(path);
  CHECK(!std::filesystem::exists(path + ".tmp"));
  CHECK_THAT(error_of([&] { write_npy(dir.file("no/such/folder/a.npy"), small.data(), {4}); }),
             Contains("write_npy: cannot open " + dir.file("no/such/folder/a.npy.tmp")) &&
                 Contains(dir.file("no/such/folder/a.npy") + " is unchanged"));
#if CF_TEST_HAS_FILE_LIMIT
  // A write that fails midway: the earlier file survives whole, no .tmp is left.
  std::string msg;
  cf::test::with_file_size_limit(
      1000, [&] { msg = error_of([&] { write_npy(path, large.data(), {4096}); }); });
  CHECK_THAT(msg, Contains("write_npy: writing") && Contains(path + " is unchanged"));
  CHECK(data::read_file_bytes(path) == before);
  CHECK(!std::filesystem::exists(path + ".tmp"));
#endif
}

TEST_CASE("CIFAR-10 batches: planes to HWC, labels, class names", "[data][cifar]") {
  TempDir dir;
  for (int b = 1; b <= 5; ++b) {
    std::vector<uint8_t> file;
    for (int r = 0; r < 2; ++r) append(file, cifar_record({uint8_t((b + r) % 10)}, b * 10 + r));
    cf::test::write_bytes(dir.file("data_batch_" + std::to_string(b) + ".bin"), file);
  }
  cf::test::write_bytes(dir.file("test_batch.bin"), cifar_record({9}, 99));
  ImageSet train = read_cifar10(dir.path().string(), Split::train);
  CHECK(train.n == 10);
  CHECK((train.h == 32 && train.w == 32 && train.c == 3));
  CHECK(train.labels == std::vector<int64_t>{1, 2, 2, 3, 3, 4, 4, 5, 5, 6});
  CHECK(train.classes.size() == 10);
  CHECK(train.classes[0] == "airplane");  // built-in names without batches.meta.txt
  // Image 3 is batch 2, record 1: seed 21. Pixel (y=1, x=2) channel G.
  const int p = 1 * 32 + 2;
  CHECK(train.image(3)[p * 3 + 1] == uint8_t((80 + p + 21 * 13) % 256));
  CHECK(train.image(3)[p * 3 + 2] == uint8_t((160 + p + 21 * 13) % 256));
  check_image_set(train, "train");

  std::ofstream(dir.file("batches.meta.txt")) << "a\nb\nc\nd\ne\nf\ng\nh\ni\nj\n\n";
  ImageSet test = read_cifar10(dir.path().string(), Split::test);
  CHECK(test.n == 1);
  CHECK(test.labels[0] == 9);
  CHECK(test.classes[9] == "j");
}

TEST_CASE("CIFAR-100 batches: two label bytes, coarse or fine", "[data][cifar]") {
  TempDir dir;
  std::vector<uint8_t> file;
  append(file, cifar_record({3, 77}, 1));
  append(file, cifar_record({19, 99}, 2));
  cf::test::write_bytes(dir.file("train.bin"), file);
  ImageSet fine = read_cifar100(dir.path().string(), Split::train, Cifar100Labels::fine);
  ImageSet coarse = read_cifar100(dir.path().string(), Split::train, Cifar100Labels::coarse);
  CHECK(fine.labels == std::vector<int64_t>{77, 99});
  CHECK(coarse.labels == std::vector<int64_t>{3, 19});
  CHECK(fine.classes.size() == 100);
  CHECK(coarse.classes.size() == 20);
  CHECK(fine.pixels == coarse.pixels);
  CHECK(fine.image(1)[0] == uint8_t(2 * 13));  // record 2, R plane, position 0

  std::ofstream names(dir.file("coarse_label_names.txt"));
  for (int k = 0; k < 20; ++k) names << "super" << k << "\n";
  names.close();
  CHECK(read_cifar100(dir.path().string(), Split::train, Cifar100Labels::coarse).classes[19] ==
        "super19");
}

TEST_CASE("CIFAR bad input: partial records and labels out of range", "[data][cifar]") {
  TempDir dir;
  std::vector<uint8_t> file;
  for (int r = 0; r < 3; ++r) append(file, cifar_record({uint8_t(r)}, r));
  file.resize(file.size() - 100);  // truncated: record 2 is partial
  cf::test::write_bytes(dir.file("test_batch.bin"), file);
  std::string e = error_of([&] { read_cifar10(dir.path().string(), Split::test); });
  CHECK_THAT(e, Contains("test_batch.bin") && Contains("not a whole number of 3073-byte records") &&
                    Contains("partial record 2 starts at offset 6146"));

  file.resize(3 * 3073 + 3073 + 1);  // oversized: one stray byte after 4 records
  cf::test::write_bytes(dir.file("test_batch.bin"), file);
  e = error_of([&] { read_cifar10(dir.path().string(), Split::test); });
  CHECK_THAT(e, Contains("partial record 4 starts at offset 12292"));

  file.clear();
  append(file, cifar_record({1}, 0));
  append(file, cifar_record({10}, 1));
  cf::test::write_bytes(dir.file("test_batch.bin"), file);
  e = error_of([&] { read_cifar10(dir.path().string(), Split::test); });
  CHECK_THAT(e, Contains("test_batch.bin") && Contains("record 1 (offset 3073)") &&
                    Contains("label 10") && Contains("0..9"));

  // CIFAR-100 records are 3074 bytes; a fine label of 100 is out of range.
  file.clear();
  append(file, cifar_record({0, 100}, 0));
  cf::test::write_bytes(dir.file("test.bin"), file);
  e = error_of([&] { read_cifar100(dir.path().string(), Split::test); });
  CHECK_THAT(e, Contains("test.bin") && Contains("record 0 (offset 1)") && Contains("0..99"));
  cf::test::write_bytes(dir.file("test.bin"), std::vector<uint8_t>(3073, 0));
  e = error_of([&] { read_cifar100(dir.path().string(), Split::test); });
  CHECK_THAT(e, Contains("3074-byte records"));

  CHECK_THAT(error_of([&] { read_cifar10(dir.path().string(), Split::train); }),
             Contains("data_batch_1.bin") && Contains("cannot open"));
}

TEST_CASE("image folder reads PNG and JPEG, classes from sorted subfolders", "[data][folder]") {
  TempDir dir;
  const ImageSet src = cf::test::pattern_set(3, 32, 32, 3);
  std::filesystem::create_directories(dir.path() / "dog");
  std::filesystem::create_directories(dir.path() / "cat");
  write_png(dir.file("dog/b.png"), src.image(0), 32, 32, 3);
  write_png(dir.file("dog/a.png"), src.image(1), 32, 32, 3);
  write_jpeg(dir.file("cat/x.jpg"), src.image(2), 32, 32, 3, 95);
  std::ofstream(dir.file("cat/.DS_Store")) << "ignored";
  std::ofstream(dir.file("README")) << "files at the root are not classes";

  ImageSet set = read_image_folder(dir.path().string());
  CHECK(set.classes == std::vector<std::string>{"cat", "dog"});
  REQUIRE(set.n == 3);
  CHECK(set.labels == std::vector<int64_t>{0, 1, 1});
  // PNG is lossless, and files come in sorted order: a.png (image 1) first.
  CHECK(std::vector<uint8_t>(set.image(1), set.image(1) + 3072) ==
        std::vector<uint8_t>(src.image(1), src.image(1) + 3072));
  CHECK(std::vector<uint8_t>(set.image(2), set.image(2) + 3072) ==
        std::vector<uint8_t>(src.image(0), src.image(0) + 3072));
  // JPEG is close.
  double err = 0;
  for (int i = 0; i < 3072; ++i) err += std::abs(int(set.image(0)[i]) - int(src.image(2)[i]));
  CHECK(err / 3072 < 20);
}

TEST_CASE("image folder: other sizes are rejected or resized, grey becomes RGB", "[data][folder]") {
  TempDir dir;
  std::filesystem::create_directories(dir.path() / "only");
  std::vector<uint8_t> grey(16 * 8, 0);
  for (size_t i = 0; i < grey.size(); ++i) grey[i] = uint8_t(i * 2);
  write_png(dir.file("only/big.png"), grey.data(), 16, 8, 1);
  CHECK_THAT(
      error_of([&] { read_image_folder(dir.path().string()); }),
      Contains("big.png") && Contains("16x8, expected 32x32") && Contains("SizePolicy::resize"));
  ImageFolderOptions options;
  options.height = 8;
  options.width = 4;
  options.size_policy = SizePolicy::resize;
  ImageSet set = read_image_folder(dir.path().string(), options);
  REQUIRE(set.n == 1);
  CHECK((set.h == 8 && set.w == 4 && set.c == 3));
  // Halving each side samples between 2x2 neighbours: (y 0.5, x 0.5) -> mean
  // of rows 0..1, columns 0..1 of the source = (0 + 2 + 16 + 18) / 4 = 9.
  CHECK(int(set.pixels[0]) == 9);
  CHECK(set.pixels[0] == set.pixels[1]);
  CHECK(set.pixels[1] == set.pixels[2]);
}

TEST_CASE("a whole set resized: each image as resize_bilinear does it, at any thread count",
          "[data][folder]") {
  const ImageSet set = cf::test::pattern_set(130, 32, 32, 3);
  const int saved = kernels::num_threads();
  kernels::set_num_threads(1);
  const ImageSet one = resize_images(set, 20, 12);
  kernels::set_num_threads(2);
  const ImageSet two = resize_images(set, 20, 12);
  kernels::set_num_threads(saved);
  CHECK(one.pixels == two.pixels);
  REQUIRE((one.n == 130 && one.h == 20 && one.w == 12 && one.c == 3));
  CHECK((one.labels == set.labels && one.classes == set.classes));
  for (int64_t i : {0, 64, 129}) {
    Image image;
    image.h = image.w = 32;
    image.c = 3;
    image.pixels.assign(set.image(i), set.image(i) + set.image_bytes());
    const Image alone = resize_bilinear(image, 20, 12);
    CHECK(std::equal(alone.pixels.begin(), alone.pixels.end(), one.image(i)));
  }
  CHECK(error_of([&] { resize_images(set, 0, 12); }) ==
        "resize_images: cannot resize 32x32 to 0x12");
}

TEST_CASE("image folder bad input: error naming the file, or skip with a warning",
          "[data][folder]") {
  TempDir dir;
  const ImageSet src = cf::test::pattern_set(2, 32, 32, 2);
  std::filesystem::create_directories(dir.path() / "a");
  write_png(dir.file("a/0.png"), src.image(0), 32, 32, 3);
  std::ofstream(dir.file("a/1_notes.txt")) << "not an image";
  cf::test::write_bytes(dir.file("a/2_cut.png"), {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0});
  write_png(dir.file("a/3.png"), src.image(1), 32, 32, 3);

  CHECK_THAT(error_of([&] { read_image_folder(dir.path().string()); }),
             Contains("1_notes.txt") && Contains("cannot decode") &&
                 Contains("BadFilePolicy::skip_and_warn"));

  ImageFolderOptions options;
  options.bad_files = BadFilePolicy::skip_and_warn;
  std::ostringstream captured;
  std::streambuf* old = std::cerr.rdbuf(captured.rdbuf());
  ImageSet set;
  const std::string e = error_of([&] { set = read_image_folder(dir.path().string(), options); });
  std::cerr.rdbuf(old);
  CHECK(e.empty());
  CHECK(set.n == 2);
  CHECK(std::vector<uint8_t>(set.image(1), set.image(1) + 3072) ==
        std::vector<uint8_t>(src.image(1), src.image(1) + 3072));
  CHECK_THAT(captured.str(),
             Contains("warning: skipping") && Contains("1_notes.txt") && Contains("2_cut.png"));
}

TEST_CASE("image folder: the classes take turns, and a limit decodes only the first files",
          "[data][folder]") {
  TempDir dir;
  const ImageSet src = cf::test::pattern_set(6, 32, 32, 4);
  // a holds 3 images, b 1, c 2: the set reads a0 b0 c0 a1 c1 a2.
  const char* const files[] = {"a/0.png", "a/1.png", "a/2.png", "b/0.png", "c/0.png", "c/1.png"};
  const int order[] = {0, 3, 4, 1, 5, 2};  // files[] index of each image in the set's order
  for (const char* d : {"a", "b", "c"}) std::filesystem::create_directories(dir.path() / d);
  for (int i = 0; i < 6; ++i) write_png(dir.file(files[i]), src.image(i), 32, 32, 3);
  const auto same = [&](const ImageSet& set, int64_t k, int file) {
    return std::equal(set.image(k), set.image(k) + 3072, src.image(file));
  };
  const ImageSet all = read_image_folder(dir.path().string());
  CHECK(all.labels == std::vector<int64_t>{0, 1, 2, 0, 2, 0});
  for (int k = 0; k < 6; ++k) CHECK(same(all, k, order[k]));

  ImageFolderOptions options;
  options.limit = 4;
  ImageSet first = read_image_folder(dir.path().string(), options);
  CHECK(first.labels == std::vector<int64_t>{0, 1, 2, 0});
  CHECK(first.pixels.size() == 4 * 3072);
  for (int k = 0; k < 4; ++k) CHECK(same(first, k, order[k]));
  options.limit = 100;
  CHECK(read_image_folder(dir.path().string(), options).n == 6);

  // A file past the limit is never decoded; a bad one within it gives its
  // place to the next file when skipped.
  cf::test::write_bytes(dir.file("a/2.png"), {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0});
  options.limit = 5;
  CHECK(read_image_folder(dir.path().string(), options).n == 5);
  cf::test::write_bytes(dir.file("b/0.png"), {'n', 'o', 't'});
  CHECK_THAT(error_of([&] { read_image_folder(dir.path().string(), options); }),
             Contains("b/0.png") && Contains("cannot decode"));
  options.bad_files = BadFilePolicy::skip_and_warn;
  std::ostringstream captured;
  std::streambuf* old = std::cerr.rdbuf(captured.rdbuf());
  first = read_image_folder(dir.path().string(), options);
  std::cerr.rdbuf(old);
  CHECK(first.labels == std::vector<int64_t>{0, 2, 0, 2});  // a0 c0 a1 c1; a2 bad
  CHECK(same(first, 3, 5));
  CHECK_THAT(captured.str(), Contains("b/0.png") && Contains("a/2.png"));
  options.limit = -1;
  CHECK(error_of([&] { read_image_folder(dir.path().string(), options); }) ==
        "read_image_folder: limit -1 must be >= 0");
}

TEST_CASE("image folder with no classes, or no folder at all, is an error", "[data][folder]") {
  TempDir dir;
  std::ofstream(dir.file("loose.png")) << "x";
  CHECK_THAT(error_of([&] { read_image_folder(dir.path().string()); }),
             Contains(dir.path().string()) && Contains("no class subfolders"));
  CHECK_THAT(error_of([&] { read_image_folder(dir.file("nowhere")); }),
             Contains("nowhere") && Contains("not a folder"));
}

namespace {

// A version 1.0 .npy file with this header dict (padded as NumPy pads it) and data.
std::vector<uint8_t> npy_file(const std::string& dict, const std::string& data) {
  std::string header = dict;
  header += std::string((64 - (10 + header.size() + 1) % 64) % 64, ' ') + "\n";
  std::string file = "\x93NUMPY";
  file += {char(1), char(0), char(header.size() & 0xFF), char(header.size() >> 8)};
  file += header + data;
  return {file.begin(), file.end()};
}

NpyArray parse(const std::vector<uint8_t>& bytes) {
  return parse_npy(bytes.data(), bytes.size(), "bad.npy");
}

Image decode(const std::vector<uint8_t>& bytes) {
  return decode_image_memory(bytes.data(), bytes.size(), "bad.img");
}

}  // namespace

// Inputs the fuzz targets (tests/fuzz) found, minimised, and the limits on
// claimed sizes: each gives a cf::Error naming the file and the field.
TEST_CASE("npy: claimed sizes are checked before allocating, and empty arrays convert",
          "[data][npy][errors]") {
  // The element count overflows int64 (found by fuzz_npy: signed overflow).
  REQUIRE_THROWS_WITH(
      parse(npy_file("{'descr': '|u1', 'fortran_order': False, 'shape': (2, 8888888888888888888), }",
                     "abcd")),
      Contains("bad.npy: .npy shape [2, 8888888888888888888] of uint8 claims more bytes than a "
               "64-bit size can count"));
  // Countable, but the file is far too short for it.
  REQUIRE_THROWS_WITH(
      parse(npy_file("{'descr': '<f4', 'fortran_order': False, 'shape': (100000, 100000), }", "ab")),
      Contains("should be 40000000128 bytes, but the file has 130 (truncated)"));
  // Empty arrays (found by fuzz_npy: memcpy from a null pointer).
  const NpyArray empty =
      parse(npy_file("{'descr': '<i8', 'fortran_order': False, 'shape': (0,), }", ""));
  CHECK(empty.to_int64().empty());
  CHECK(parse(npy_file("{'descr': '<f4', 'fortran_order': False, 'shape': (0, 3), }", ""))
            .to_float32()
            .empty());
  // Shorter than the magic and version.
  REQUIRE_THROWS_WITH(parse({0x93, 'N', 'U'}), Contains("bad.npy: not a .npy file"));
  // The same checks through the file reader.
  TempDir dir;
  cf::test::write_bytes(
      dir.file("huge.npy"),
      npy_file("{'descr': '<i8', 'fortran_order': False, 'shape': (4611686018427387904, 4), }", ""));
  REQUIRE_THROWS_WITH(read_npy(dir.file("huge.npy")),
                      Contains("huge.npy: .npy shape [4611686018427387904, 4] of int64 claims more "
                               "bytes than a 64-bit size can count"));
}

TEST_CASE("image decoding refuses headers claiming no pixels or too many, and bad JPEG tables",
          "[data][folder][errors]") {
  // A PNM whose width does not parse reads as 0x0 (found by fuzz_image: the
  // decoder returned an image with no pixels).
  const std::string pnm = "P6+2 2\n255\n";
  REQUIRE_THROWS_WITH(decode({pnm.begin(), pnm.end()}),
                      Contains("bad.img: the header claims a 0x0 image, which has no pixels"));
  // A JPEG Huffman table with 2 x 255 codes, more than the 256 there can be
  // (found by fuzz_image: stb_image wrote past its 257-entry table).
  std::vector<uint8_t> jpeg = {0xFF, 0xD8, 0xFF, 0xC4, 0x00, 0x13, 0x00, 0xFF, 0xFF};
  jpeg.resize(jpeg.size() + 14, 0);
  REQUIRE_THROWS_WITH(decode(jpeg), Contains("bad.img: corrupt JPEG: the Huffman table at offset "
                                             "6 declares 510 codes, more than 256"));
  // The same after 0xFF fill bytes, which stb skips before the start marker.
  jpeg.insert(jpeg.begin(), {0xFF, 0xFF});
  REQUIRE_THROWS_WITH(decode(jpeg), Contains("bad.img: corrupt JPEG: the Huffman table at offset "
                                             "8 declares 510 codes, more than 256"));
  // A JPEG whose scan selects an AC table no DHT defines: its AC table 0
  // relabelled DC table 2 (found by fuzz_image: stb decoded with another
  // allocation's bytes as the table, and failed its internal assertion).
  {
    std::vector<uint8_t> rgb(8 * 8 * 3);
    for (size_t i = 0; i < rgb.size(); ++i) rgb[i] = uint8_t(i * 7);
    std::vector<uint8_t> good = data::encode_jpeg(rgb.data(), 8, 8, 3, 90);
    CHECK(decode(good).h == 8);
    size_t dht = 2;
    while (dht + 1 < good.size() && !(good[dht] == 0xFF && good[dht + 1] == 0xC4)) ++dht;
    REQUIRE(dht + 1 < good.size());
    size_t table = dht + 4;  // the first table's class/id byte
    int codes = 0;
    for (size_t i = 1; i <= 16; ++i) codes += good[table + i];
    table += 17 + size_t(codes);  // the second table: AC 0
    std::vector<uint8_t> bad = good;
    REQUIRE(bad[table] == 0x10);
    bad[table] = 0x02;
    REQUIRE_THROWS_WITH(decode(bad), Contains("bad.img: corrupt JPEG: the scan at offset") &&
                                         Contains("decodes component 1 with AC Huffman table 0, "
                                                  "which no DHT segment before it defines"));
    // The same for a quantisation table: the chroma table 1 relabelled 2.
    size_t dqt = 2;
    while (dqt + 1 < good.size() && !(good[dqt] == 0xFF && good[dqt + 1] == 0xDB)) ++dqt;
    REQUIRE(dqt + 4 + 65 < good.size());
    bad = good;
    REQUIRE(bad[dqt + 4 + 65] == 0x01);
    bad[dqt + 4 + 65] = 0x02;
    REQUIRE_THROWS_WITH(decode(bad), Contains("bad.img: corrupt JPEG: component 2 uses quantisation "
                                              "table 1, which no DQT segment defines before the "
                                              "scan at offset"));
  }
  // A PNG whose header claims 20000 x 2 pixels: refused from the header.
  TempDir dir;
  const ImageSet src = cf::test::pattern_set(1, 2, 2, 1);
  write_png(dir.file("small.png"), src.image(0), 2, 2, 3);
  std::vector<uint8_t> png = data::read_file_bytes(dir.file("small.png"));
  png[18] = 20000 >> 8;  // IHDR width, big-endian, at bytes 16..19
  png[19] = 20000 & 0xFF;
  REQUIRE_THROWS_WITH(decode(png), Contains("bad.img: the header claims a 20000x2 image; images "
                                            "larger than 16384 pixels a side are refused"));
  // A 19-byte run-length TGA whose header claims 9417x15706 pixels (found by
  // fuzz_image: stb filled the missing pixels with zeros for half a minute).
  const std::vector<uint8_t> tga = {0x00, 0x00, 0x0a, 0x00, 0x00, 0x00, 0x00, 0x00, 0xfb, 0x08,
                                    0x03, 0x7f, 0xc9, 0x24, 0x5a, 0x3d, 0x18, 0xee, 0x2d};
  REQUIRE_THROWS_WITH(decode(tga), Contains("bad.img: the header claims a 9417x15706 image, more "
                                            "pixels than a 19-byte file can encode"));
  // Through the folder reader, the error names the file.
  std::filesystem::create_directories(dir.path() / "a");
  cf::test::write_bytes(dir.file("a/wide.png"), png);
  REQUIRE_THROWS_WITH(read_image_folder(dir.path().string()),
                      Contains("wide.png: the header claims a 20000x2 image"));
}

TEST_CASE("CIFAR: a bad label leaves the set as it was", "[data][cifar][errors]") {
  ImageSet set;
  std::vector<uint8_t> file = cifar_record({3}, 0);
  append_cifar_batch_memory(file.data(), file.size(), "good.bin", 1, 0, 10, set);
  append(file, cifar_record({10}, 1));
  REQUIRE_THROWS_WITH(append_cifar_batch_memory(file.data(), file.size(), "bad.bin", 1, 0, 10, set),
                      Contains("bad.bin: record 1 (offset 3073) has label 10"));
  CHECK(set.n == 1);
  CHECK(set.labels.size() == 1);
  CHECK(set.pixels.size() == 3072);
  REQUIRE_THROWS_WITH(
      append_cifar_batch_memory(file.data(), 3073 + 5, "short.bin", 1, 0, 10, set),
      Contains("short.bin: 3078 bytes is not a whole number of 3073-byte records; the partial "
               "record 1 starts at offset 3073"));
}

TEST_CASE("a 16-bit PNM is refused", "[data][folder][errors]") {
  // 2x2 grey samples of 16 bits (found by fuzz_image: stb's conversion to 3
  // channels read the 16-bit samples past its buffer; it also reads them in
  // the wrong byte order).
  const std::string pgm = "P5 2 2 65535\n" + std::string(8, '\x40');
  REQUIRE_THROWS_WITH(decode({pgm.begin(), pgm.end()}),
                      Contains("bad.img: 16-bit PNM (maximum value 65535) is not supported"));
  // A header number too large for stb's int.
  const std::string huge = "P5\n2 99999999999 255\n";
  REQUIRE_THROWS_WITH(decode({huge.begin(), huge.end()}),
                      Contains("bad.img: corrupt PNM: the height at offset 5 does not fit in 32 bits"));
}

TEST_CASE("a PNG with an empty IDAT chunk decodes", "[data][folder][errors]") {
  // Zero-length IDAT chunks are valid PNG (found by fuzz_image: stb copies
  // one with memcpy from a null pointer; the sanitizer check is exempted for
  // stb, see CMakeLists.txt, and the image must decode as without it).
  TempDir dir;
  const ImageSet src = cf::test::pattern_set(1, 4, 4, 1);
  write_png(dir.file("a.png"), src.image(0), 4, 4, 3);
  const std::vector<uint8_t> png = data::read_file_bytes(dir.file("a.png"));
  std::vector<uint8_t> with_empty(png.begin(), png.begin() + 33);  // signature, IHDR
  append(with_empty, {0, 0, 0, 0, 'I', 'D', 'A', 'T', 0x35, 0xAF, 0x06, 0x1E});
  with_empty.insert(with_empty.end(), png.begin() + 33, png.end());
  CHECK(decode(with_empty).pixels == decode(png).pixels);
  CHECK(decode(png).pixels == std::vector<uint8_t>(src.image(0), src.image(0) + 48));
}

TEST_CASE("a PNG chunk longer than the file is refused", "[data][folder][errors]") {
  // A second IDAT whose header claims 0x50810029 bytes in a 130-byte file
  // (found by fuzz_image: stb asked for 2 GiB before reading the chunk).
  TempDir dir;
  const ImageSet src = cf::test::pattern_set(1, 4, 4, 1);
  write_png(dir.file("a.png"), src.image(0), 4, 4, 3);
  std::vector<uint8_t> png = data::read_file_bytes(dir.file("a.png"));
  std::vector<uint8_t> bad(png.begin(), png.begin() + 33);  // signature, IHDR
  append(bad, {0x50, 0x81, 0x00, 0x29, 'I', 'D', 'A', 'T', 1, 2, 3});
  REQUIRE_THROWS_WITH(decode(bad), Contains("bad.img: corrupt PNG: the chunk at offset 33 claims "
                                            "1350631465 bytes, but only 3 follow its header"));
  // A truncated file: its IDAT runs past the end.
  png.resize(png.size() - 20);
  REQUIRE_THROWS_WITH(decode(png), Contains("bad.img: corrupt PNG: the chunk at offset 33 claims"));
}
