#include "tests/helpers.h"
#include "train/args.h"

using namespace cf;
using cf::test::error_of;

namespace {
ArgParser parser() {
  return ArgParser("cf train", "Trains a model.")
      .option("epochs", "N", "epochs to train", "10")
      .option("lr", "RATE", "peak learning rate", "0.001")
      .option("out", "DIR", "output folder")
      .repeated("set", "KEY=VALUE", "a model config key")
      .flag("quiet", "no progress bar");
}
}  // namespace

TEST_CASE("flags parse with defaults, repeats and switches", "[train][args]") {
  Args a = parser().parse({"--epochs", "3", "--set", "depth=2", "--set=heads=4", "--quiet", "--lr=0.5"});
  CHECK(a.integer("epochs") == 3);
  CHECK(a.real("lr") == 0.5);
  CHECK(a.all("set") == std::vector<std::string>{"depth=2", "heads=4"});
  CHECK(a.on("quiet"));
  CHECK_FALSE(a.has("out"));
  Args d = parser().parse({});
  CHECK(d.integer("epochs") == 10);
  CHECK(d.has("epochs"));
  CHECK_FALSE(d.on("quiet"));
  CHECK(parser().parse({"--help"}).help);
  std::string usage = parser().usage();
  CHECK(usage.find("--epochs N") != std::string::npos);
  CHECK(usage.find("(default 10)") != std::string::npos);
}

TEST_CASE("bad flags are named in the error", "[train][args][errors]") {
  CHECK(error_of([] { parser().parse({"--epoch", "3"}); }) ==
        "cf train: unknown flag --epoch (did you mean --epochs?); see cf train --help");
  CHECK(error_of([] { parser().parse({"--frobnicate"}); }).find("unknown flag --frobnicate;") != std::string::npos);
  CHECK(error_of([] { parser().parse({"--out"}); }).find("--out needs a value (DIR)") != std::string::npos);
  CHECK(error_of([] { parser().parse({"extra"}); }).find("unexpected argument 'extra'") != std::string::npos);
  CHECK(error_of([] { parser().parse({"--quiet=1"}); }).find("--quiet takes no value") != std::string::npos);
  CHECK(error_of([] { parser().parse({"--lr", "1", "--lr", "2"}); }).find("--lr given twice") != std::string::npos);
  CHECK(error_of([] { parser().parse({"--epochs", "ten"}).integer("epochs"); }).find("--epochs: 'ten' is not an integer") != std::string::npos);
  CHECK(error_of([] {
          parser().parse({"--lr", "x"}).real("lr");
        }).find("--lr: 'x' is not a finite number") != std::string::npos);
  // Out of range is an error, not the nearest representable value.
  CHECK(error_of([] {
          parser().parse({"--epochs", "99999999999999999999"}).integer("epochs");
        }) == "--epochs: 99999999999999999999 does not fit in 64 bits");
  CHECK(error_of([] {
          parser().parse({"--lr", "nan"}).real("lr");
        }) == "--lr: 'nan' is not a finite number");
  CHECK(error_of([] {
          parser().parse({"--lr", "1e999"}).real("lr");
        }) == "--lr: '1e999' is not a finite number");
}
