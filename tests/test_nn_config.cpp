#include <fstream>

#include "nn/config.h"
#include "nn/registry.h"
#include "tests/helpers.h"
#include "tests/temp_dir.h"

using namespace cf;
using cf::test::error_of;

namespace {
bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }
}  // namespace

TEST_CASE("Config parses key = value lines with comments", "[nn][config]") {
  Config c = Config::parse("# a comment\n dim = 128  # width\n\nact=gelu\nlr = 5e-4\nqkv_bias = true\n");
  CHECK(c.keys() == std::vector<std::string>{"dim", "act", "lr", "qkv_bias"});
  CHECK(c.get_int("dim") == 128);
  CHECK(c.get_string("act") == "gelu");
  CHECK(c.get_float("lr") == Approx(5e-4));
  CHECK(c.get_bool("qkv_bias"));
  c.set_assignment("dim=64");
  CHECK(c.get_int("dim") == 64);
  CHECK(c.keys().front() == "dim");  // an override keeps the key's place
}

TEST_CASE("Config::to_string round-trips", "[nn][config]") {
  Config c;
  c.set("dim", 128).set("mlp_ratio", 2.5).set("eps", 1e-7).set("name", "vit").set("flag", false);
  Config back = Config::parse(c.to_string());
  CHECK(back == c);
  CHECK(back.get_float("eps") == 1e-7);
  CHECK(back.to_string() == c.to_string());
}

TEST_CASE("Config getters name the key and value of a wrong type", "[nn][config][errors]") {
  Config c = Config::parse("dim = 12x\nratio = fast\nflag = maybe\n");
  CHECK(error_of([&] { c.get_int("dim"); }) ==
        "config: key \"dim\" has value \"12x\", which is not an integer");
  CHECK(error_of([&] { c.get_float("ratio"); }) ==
        "config: key \"ratio\" has value \"fast\", which is not a number");
  CHECK(contains(error_of([&] { c.get_bool("flag"); }), "key \"flag\" has value \"maybe\""));
  CHECK(contains(error_of([&] { c.get_int("dimm"); }), "no key \"dimm\" (did you mean \"dim\"?)"));
  CHECK(contains(error_of([] { Config::parse("a = 1\nnot an assignment\n", "run.cfg"); }),
                 "run.cfg:2: expected `key = value`"));
  CHECK(contains(error_of([] { Config().set_assignment("novalue"); }), "expected key=value"));
  // A '#' inside a value is kept; after a space it starts a comment, and a
  // value that would read back as one is refused.
  const Config hash = Config::parse("data = /mnt/run#2/cifar  # the second run\n");
  CHECK(hash.get_string("data") == "/mnt/run#2/cifar");
  CHECK(Config::parse(hash.to_string()) == hash);
  CHECK(error_of([] { Config().set("data", "a #b"); }) ==
        "config: the value of key \"data\" may not contain a newline, nor a '#' at its start or "
        "after a space (\"a #b\")");
  CHECK(contains(error_of([] { Config().set_assignment("data=#x"); }), "nor a '#' at its start"));
  // In a file, a key given twice is a mistake (--set is how to override).
  CHECK(error_of([] { Config::parse("lr = 1\nepochs = 2\nlr = 3\n", "run.cfg"); }) ==
        "run.cfg:3: key \"lr\" is given twice (first on line 1)");
}

TEST_CASE("Two spellings of one value are the same value", "[nn][config]") {
  CHECK(parse_bool("Yes") == std::optional<bool>(true));
  CHECK(parse_bool("off") == std::optional<bool>(false));
  CHECK_FALSE(parse_bool("2"));
  CHECK(same_value("0.0010", "1e-3"));
  CHECK(same_value("1", "true"));
  CHECK(same_value("on", "YES"));
  CHECK(same_value("1, 1,2", "1,1.0,2"));
  CHECK(same_value("cosine", "cosine"));
  CHECK_FALSE(same_value("0.001", "0.002"));
  CHECK_FALSE(same_value("true", "no"));
  CHECK_FALSE(same_value("1,2", "1,2,3"));
  CHECK_FALSE(same_value("1,2,3", "1,2"));
  CHECK_FALSE(same_value("cosine", "Cosine"));
}

TEST_CASE("Config::read_file names a file it cannot read", "[nn][config][errors]") {
  test::TempDir dir("config_file");
  CHECK(error_of([&] { Config::read_file(dir.path().string(), "config"); }) ==
        "cannot read config file " + dir.path().string() + ": it is a folder");
  CHECK(error_of([&] { Config::read_file(dir.file("missing.cfg"), "recipe"); }) ==
        "cannot read recipe file " + dir.file("missing.cfg") + ": no such file");
  std::ofstream(dir.file("run.cfg")) << "model = cct_2_3x2\nepochs = 3\n";
  CHECK(Config::read_file(dir.file("run.cfg"), "config").get_int("epochs") == 3);
}

TEST_CASE("A model built with an unknown key names it and lists the valid ones", "[nn][config][errors]") {
  std::string msg = error_of([] { build_model("vit_lite_cpu", Config().set("dimm", 64)); });
  CHECK(contains(msg, "model vit_lite_cpu has no key \"dimm\" (did you mean \"dim\"?)"));
  CHECK(contains(msg, "valid keys: image_size, in_channels,"));
  msg = error_of([] { build_model("vit_lite_cpu", Config().set("depth", "two")); });
  CHECK(msg == "config: key \"depth\" has value \"two\", which is not an integer");
  msg = error_of([] { build_model("vit_lite_cpu", Config().set("pool", "max")); });
  CHECK(contains(msg, "key \"pool\" has value \"max\"; allowed: mean, seq, cls"));
  msg = error_of([] { build_model("vit_lite", Config()); });
  CHECK(contains(msg, "unknown model \"vit_lite\" (did you mean"));
  CHECK(contains(msg, "cct_2_3x2"));
}
