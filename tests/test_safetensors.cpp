// Checkpoints: the safetensors format byte for byte, save/load round trips,
// every malformed file we can think of, and writes that fail halfway.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

#include "nn/registry.h"
#include "train/crc32.h"
#include "train/json.h"
#include "train/safetensors.h"
#include "tests/temp_dir.h"
#include "tests/test_nn_util.h"

#if defined(__unix__) || defined(__APPLE__)
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#endif

using namespace cf;
using cf::test::contains;
using cf::test::error_of;
using cf::test::TempDir;

namespace {

namespace fs = std::filesystem;

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), std::streamsize(bytes.size()));
}

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// The 8-byte little-endian header length followed by the header.
std::string with_header(const std::string& json, const std::string& data) {
  std::string bytes;
  for (int i = 0; i < 8; ++i) bytes += char((uint64_t(json.size()) >> (8 * i)) & 0xFF);
  return bytes + json + data;
}

std::unique_ptr<Model> tiny_vit(int64_t dim = 8) {
  return build_model("vit_lite_cpu", Config::parse("image_size = 8\ndepth = 1\nheads = 2\nnum_classes = 3")
                                         .set("dim", dim));
}

}  // namespace

TEST_CASE("A safetensors file written by hand from the published format loads", "[checkpoint]") {
  // Two tensors, a [2] and a [1, 2], and metadata; floats as IEEE-754
  // little-endian: 1 = 0x3F800000, -2 = 0xC0000000, 0.5 = 0x3F000000,
  // 3 = 0x40400000.
  const std::string json =
      "{\"__metadata__\":{\"format\":\"pt\"},"
      "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
      "\"b\":{\"dtype\":\"F32\",\"shape\":[1,2],\"data_offsets\":[8,16]}}";
  const std::string data("\x00\x00\x80\x3F\x00\x00\x00\xC0\x00\x00\x00\x3F\x00\x00\x40\x40", 16);
  TempDir dir;
  write_bytes(dir.file("hand.safetensors"), with_header(json, data));

  Safetensors s = load_safetensors(dir.file("hand.safetensors"));
  REQUIRE(s.tensors.size() == 2);
  CHECK(s.tensors[0].first == "a");
  CHECK(s.tensors[0].second.to_vector() == std::vector<float>{1.0f, -2.0f});
  CHECK(s.tensors[1].first == "b");
  CHECK(s.tensors[1].second.shape() == Shape{1, 2});
  CHECK(s.tensors[1].second.to_vector() == std::vector<float>{0.5f, 3.0f});
  CHECK(s.metadata == Metadata{{"format", "pt"}});
}

TEST_CASE("crc32 gives the standard check value", "[checkpoint]") {
  CHECK(crc32("123456789", 9) == 0xCBF43926u);
  CHECK(crc32("6789", 4, crc32("12345", 5)) == 0xCBF43926u);
  CHECK(crc32("", 0) == 0u);
}

TEST_CASE("serialize_safetensors writes the published layout", "[checkpoint]") {
  std::string bytes = serialize_safetensors({{"w", Tensor::from({1.0f, -2.0f}, {2})}}, {{"k", "v"}});
  const std::string data("\x00\x00\x80\x3F\x00\x00\x00\xC0", 8);
  // The checksum covers each tensor's name, shape and bytes, then each
  // metadata key and value, every text with its terminating zero.
  const std::string covered = std::string("w\0[2]\0", 6) + data + std::string("k\0v\0", 4);
  char crc[9];
  std::snprintf(crc, sizeof crc, "%08x", unsigned(crc32(covered.data(), covered.size())));
  const std::string json = "{\"__metadata__\":{\"k\":\"v\",\"cf_checksum\":\"crc32:" + std::string(crc) +
                           "\"},\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}";
  const std::string padded = json + std::string((8 - json.size() % 8) % 8, ' ');  // 8-byte aligned data
  CHECK(bytes == with_header(padded, data));
  CHECK(parse_safetensors(bytes, "w").metadata == Metadata{{"k", "v"}});
}

TEST_CASE("A damaged checkpoint fails its checksum", "[checkpoint][errors]") {
  TempDir dir;
  const std::string path = dir.file("m.safetensors");
  save_checkpoint(path, *tiny_vit(), 7);
  const std::string whole = read_bytes(path);

  std::string flipped = whole;
  flipped[flipped.size() - 3] ^= 0x10;  // one bit of the last tensor's data
  write_bytes(path, flipped);
  const std::string msg = error_of([&] { load_model(path); });
  CHECK(contains(msg, path + ": checksum mismatch: the metadata records crc32:"));
  CHECK(contains(msg, "the file was damaged after it was written"));

  std::string edited = whole;  // the step in the metadata, same length
  const size_t at = edited.find("\"step\":\"7\"");
  REQUIRE(at != std::string::npos);
  edited[at + 8] = '8';
  write_bytes(path, edited);
  CHECK(contains(error_of([&] { read_checkpoint(path); }), "checksum mismatch"));

  CHECK(contains(error_of([&] { save_safetensors(path, {}, {{"cf_checksum", "x"}}); }),
                 "metadata key \"cf_checksum\" is reserved"));
}

TEST_CASE("A checkpoint saved and loaded gives identical outputs", "[checkpoint]") {
  TempDir dir;
  auto model = build_model("cct_2_3x2", Config::parse("image_size = 8\ndim = 8\ndepth = 1\nheads = 2\n"
                                                      "conv_channels = 4\nseed = 5"));
  save_checkpoint(dir.file("m.safetensors"), *model, 42, {{"note", "test"}});
  CHECK(!fs::exists(dir.file("m.safetensors.tmp")));

  Checkpoint c = read_checkpoint(dir.file("m.safetensors"));
  CHECK(c.model == "cct_2_3x2");
  CHECK(c.step == 42);
  CHECK(c.config == model->config());
  CHECK(c.metadata.at("note") == "test");
  CHECK(c.metadata.at("format") == "pt");

  auto loaded = load_model(dir.file("m.safetensors"));
  model->eval();
  loaded->eval();
  Tensor images = Tensor::randn({2, 3, 8, 8}, 6);
  CHECK(loaded->forward(images).to_vector() == model->forward(images).to_vector());

  // The same weights loaded into a model built differently (another seed).
  auto other = build_model("cct_2_3x2", Config(model->config()).set("seed", 9));
  CHECK(other->forward(images).to_vector() != model->forward(images).to_vector());
  load_weights(dir.file("m.safetensors"), *other);
  CHECK(other->forward(images).to_vector() == model->forward(images).to_vector());
}

TEST_CASE("Loading into a model of other shapes lists every difference", "[checkpoint][errors]") {
  TempDir dir;
  const std::string path = dir.file("d8.safetensors");
  save_checkpoint(path, *tiny_vit(8), 1);
  auto wider = tiny_vit(16);
  std::string msg = error_of([&] { load_weights(path, *wider); });
  CHECK(contains(msg, path + ": load_state_dict: the state does not match the model"));
  CHECK(contains(msg, "blocks.0.attn.q.weight: given [8, 8], model [16, 16]"));
  CHECK(contains(msg, "head.weight: given [3, 8], model [3, 16]"));

  auto with_cls = build_model("vit_lite_cpu", Config(tiny_vit(8)->config()).set("pool", "cls"));
  msg = error_of([&] { load_weights(path, *with_cls); });
  CHECK(contains(msg, "missing (1): cls_token"));
  CHECK(contains(msg, "pos_embed.weight: given [1, 4, 8], model [1, 5, 8]"));
}

TEST_CASE("Malformed safetensors files name the file and the byte or tensor", "[checkpoint][errors]") {
  const std::string good_json = "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}";
  const std::string data(8, '\0');
  auto error_for = [](const std::string& bytes) {
    return error_of([&] { parse_safetensors(bytes, "f.safetensors"); });
  };
  CHECK(error_for(with_header(good_json, data)).empty());

  CHECK(error_for("abc") == "f.safetensors: truncated: 3 bytes, fewer than the 8 of the header length");
  std::string past_end = with_header(good_json, data);
  past_end[1] = 0x10;  // header length 4096 + ...
  CHECK(contains(error_for(past_end), "f.safetensors: header length 4"));
  CHECK(contains(error_for(past_end), "(bytes 0-7) runs past the end of the file (" +
                                          std::to_string(past_end.size()) + " bytes)"));
  CHECK(error_for(with_header("{\"w\":{\"dtype\" \"F32\"}}", "")) ==
        "f.safetensors: malformed JSON header at byte 22: expected ':', found '\"'");
  CHECK(error_for(with_header("{\"w\":{\"dtype\":\"F32\",", "")) ==
        "f.safetensors: malformed JSON header at byte 28: expected a string key");
  CHECK(error_for(with_header("[1, 2]", "")) == "f.safetensors: the header is a JSON array, expected an object");
  CHECK(error_for(with_header("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,12]}}", data)) ==
        "f.safetensors: tensor \"w\": data_offsets [0, 12] are out of range: the data section has 8 bytes "
        "(file bytes 63 to 71)");
  CHECK(error_for(with_header("{\"w\":{\"dtype\":\"F16\",\"shape\":[4],\"data_offsets\":[0,8]}}", data)) ==
        "f.safetensors: tensor \"w\": dtype \"F16\" is not supported (only F32)");
  CHECK(error_for(with_header("{\"w\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", data + "    ")) ==
        "f.safetensors: tensor \"w\": shape [3] of F32 needs 12 bytes but data_offsets [0, 8] hold 8");
  CHECK(contains(error_for(with_header("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", data)),
                 "tensor \"w\" starts at data byte 4 (file byte"));
  CHECK(contains(error_for(with_header(good_json, data + "xxxx")), "4 bytes after the last tensor"));
  CHECK(contains(error_for(with_header("{\"w\":{\"shape\":[2],\"data_offsets\":[0,8]}}", data)),
                 "tensor \"w\": entry needs dtype, shape and data_offsets"));
  CHECK(contains(error_for(with_header("{\"__metadata__\":{\"step\":3}}", "")),
                 "__metadata__ value of \"step\" is a JSON integer, expected a string"));
  CHECK(contains(error_for(with_header("{\"w\":{\"dtype\":\"F32\",\"shape\":[4611686018427387904,4],"
                                       "\"data_offsets\":[0,8]}}", data)),
                 "does not fit in the data section (8 bytes)"));

  // A real checkpoint cut short anywhere is rejected, never read past its end.
  TempDir dir;
  const std::string path = dir.file("cut.safetensors");
  save_checkpoint(path, *tiny_vit(), 3);
  const std::string whole = read_bytes(path);
  for (size_t keep : {size_t(0), size_t(5), size_t(8), size_t(100), whole.size() / 2, whole.size() - 1}) {
    INFO("kept " << keep << " of " << whole.size() << " bytes");
    write_bytes(path, whole.substr(0, keep));
    std::string msg = error_of([&] { load_model(path); });
    CHECK(contains(msg, path + ": "));
  }
}

TEST_CASE("A failed save leaves the previous file intact", "[checkpoint][errors]") {
  TempDir dir;
  CHECK(contains(error_of([&] { save_checkpoint(dir.file("no/such/folder/m.safetensors"), *tiny_vit(), 1); }),
                 "cannot open " + dir.file("no/such/folder/m.safetensors.tmp") + " for writing"));
  CHECK(!fs::exists(dir.file("no")));

  const std::string path = dir.file("m.safetensors");
  save_checkpoint(path, *tiny_vit(), 1);
  const std::string before = read_bytes(path);
#if CF_TEST_HAS_FILE_LIMIT
  // A write that fails midway: the checkpoint is larger than 1000 bytes.
  std::string msg;
  cf::test::with_file_size_limit(
      1000, [&] { msg = error_of([&] { save_checkpoint(path, *tiny_vit(16), 2); }); });
  CHECK(contains(msg, "failed (disk full or file too large?); " + path + " is unchanged"));
  CHECK(read_bytes(path) == before);
  CHECK(!fs::exists(path + ".tmp"));
  CHECK(read_checkpoint(path).step == 1);
#endif
}

#if defined(__unix__) || defined(__APPLE__)
TEST_CASE("A writer killed at any moment leaves a checkpoint that loads", "[checkpoint][errors]") {
  TempDir dir;
  const std::string path = dir.file("m.safetensors");
  // Version k: a 1 MB tensor of k's, and k in the metadata, so a file mixing
  // two versions would show.
  auto save_version = [&](int k) {
    const Tensor w = Tensor::from(std::vector<float>(size_t(1) << 18, float(k)), {int64_t(1) << 18});
    save_safetensors(path, {{"w", w}}, {{"version", std::to_string(k)}});
  };
  save_version(0);
  std::mt19937 random(12345);
  for (int trial = 0; trial < 20; ++trial) {
    int done[2];  // the child reports each version it has saved
    REQUIRE(pipe(done) == 0);
    const pid_t child = fork();
    REQUIRE(child >= 0);
    if (child == 0) {  // saves new versions until it is killed
      close(done[0]);
      try {
        for (int k = 1;; ++k) {
          save_version(k);
          if (write(done[1], &k, sizeof k) != sizeof k) break;
        }
      } catch (...) {
      }
      _exit(1);
    }
    close(done[1]);
    // Let it finish 1 to 3 saves, then kill it a random moment later: most
    // often in the middle of the next one.
    const int target = 1 + int(random() % 3);
    int saved = 0;
    while (saved < target) REQUIRE(read(done[0], &saved, sizeof saved) == sizeof saved);
    std::this_thread::sleep_for(std::chrono::microseconds(random() % 5000));
    kill(child, SIGKILL);
    int status = 0;
    waitpid(child, &status, 0);
    close(done[0]);
    REQUIRE(WIFSIGNALED(status));  // it was killed, not failed
    const Safetensors s = load_safetensors(path);
    const int k = std::stoi(s.metadata.at("version"));
    INFO("trial " << trial << ": saved " << target << ", the file holds version " << k);
    CHECK(k >= target);
    const std::vector<float> w = s.tensors.at(0).second.to_vector();
    CHECK(std::all_of(w.begin(), w.end(), [&](float v) { return v == float(k); }));
  }
}
#endif

TEST_CASE("The JSON reader: escapes, nesting and errors with offsets", "[checkpoint][json]") {
  Json j = parse_json(" {\"a\\n\\u00e9\\ud83d\\ude00\": [1, -20, \"x\"], \"b\": {}} ");
  REQUIRE(j.object.size() == 2);
  CHECK(j.object[0].first == "a\n\xC3\xA9\xF0\x9F\x98\x80");
  CHECK(j.object[0].second.array[1].integer == -20);
  CHECK(j.find("b")->type == Json::Type::Object);
  CHECK(parse_json(to_json(j)).object[0].first == j.object[0].first);
  CHECK(to_json(Json::make_string("q\"\\\x01")) == "\"q\\\"\\\\\\u0001\"");

  auto msg = [](const std::string& text) { return error_of([&] { parse_json(text); }); };
  CHECK(msg("{\"a\": 1e}") == "at byte 6: malformed number");
  CHECK(msg("{\"a\": tru}") == "at byte 6: unexpected 't'");
  CHECK(msg("{\"a\": 1} x") == "at byte 9: unexpected text after the JSON value");
  CHECK(msg("{\"a\": 1, \"a\": 2}") == "at byte 9: duplicate key \"a\"");
  CHECK(msg("\"abc") == "at byte 4: unterminated string");
  CHECK(msg("99999999999999999999") == "at byte 0: integer out of range");
  CHECK(msg(std::string(100, '[')) == "at byte 65: nesting deeper than 64 levels");
}

TEST_CASE("json reads numbers, booleans and null", "[checkpoint][json]") {
  Json j = parse_json(R"({"a": 0.25, "b": -1e3, "c": true, "d": null, "e": 7})");
  CHECK(j.find("a")->as_number() == 0.25);
  CHECK(j.find("b")->type == Json::Type::Number);
  CHECK(j.find("b")->as_number() == -1000.0);
  CHECK(j.find("c")->boolean);
  CHECK(j.find("d")->type == Json::Type::Null);
  CHECK(j.find("e")->type == Json::Type::Integer);
  CHECK(to_json(j) == R"({"a":0.25,"b":-1000,"c":true,"d":null,"e":7})");
  CHECK(cf::test::error_of([] { parse_json("[1.5.2]"); }).find("at byte 4") != std::string::npos);
  CHECK(cf::test::error_of([] { parse_json("\"x\"").as_number(); })
            .find("expected a number, found string") != std::string::npos);
}

TEST_CASE("Loading a folder or a missing file says which", "[checkpoint][errors]") {
  using Catch::Matchers::Contains;
  TempDir dir;
  REQUIRE_THROWS_WITH(load_safetensors(dir.path().string()),
                      Contains("load_safetensors: " + dir.path().string() + " is a folder, not a file"));
  REQUIRE_THROWS_WITH(load_safetensors(dir.file("missing.safetensors")),
                      Contains("load_safetensors: cannot open") && Contains("missing.safetensors"));
}
