// The CIFAR-10-C results file and the accuracy-by-difficulty table: the
// bins, and every bad input (a damaged CSV, pairs on one side only or twice).
#include <fstream>
#include <string>
#include <vector>

#include "tests/helpers.h"
#include "tests/temp_dir.h"
#include "train/robustness.h"

using namespace cf;
using cf::test::error_of;
using cf::test::TempDir;

namespace {

// Two corruptions at severities 1..5; accuracy falls with severity, the
// second corruption is harder, and `gain` is added to every accuracy.
std::vector<CorruptionResult> results(double gain) {
  std::vector<CorruptionResult> r;
  for (const char* name : {"fog", "snow"})
    for (int s = 1; s <= 5; ++s)
      r.push_back({name, s, 0.9 - 0.1 * s - (name[0] == 's' ? 0.05 : 0.0) + gain, 100});
  return r;
}

bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("robustness results round-trip through their CSV", "[train][robustness]") {
  TempDir dir("robustness");
  const std::string path = dir.file("r.csv");
  write_robustness_csv(path, results(0));
  const std::vector<CorruptionResult> back = read_robustness_csv(path);
  REQUIRE(back.size() == 10);
  CHECK(back[7].corruption == "snow");
  CHECK(back[7].severity == 3);
  CHECK(back[7].accuracy == Approx(0.55));
  CHECK(back[7].images == 100);
}

TEST_CASE("the difficulty table bins pairs by the baseline's accuracy, hardest first",
          "[train][robustness]") {
  const std::string table = difficulty_table(results(0.05), results(0), 5);
  // Five bins of two pairs; the hardest two are snow at 5 (0.35) and fog at 5 (0.40).
  CHECK(has(table, "  1      2    37.50%      42.50%  1.133\n"));
  CHECK(has(table, "  5      2    77.50%      82.50%  1.065\n"));
}

TEST_CASE("the difficulty table and the results CSV report bad input",
          "[train][robustness][errors]") {
  std::vector<CorruptionResult> ours = results(0), baseline = results(0);
  ours.pop_back();
  CHECK(has(error_of([&] { difficulty_table(ours, baseline, 5); }),
            "difficulty: the baseline has snow severity 5, these results do not"));
  CHECK(has(error_of([&] { difficulty_table(baseline, ours, 5); }),
            "difficulty: these results have snow severity 5, the baseline does not"));
  baseline.push_back(baseline[0]);
  CHECK(has(error_of([&] { difficulty_table(results(0), baseline, 5); }),
            "difficulty: the baseline has fog severity 1 twice"));
  CHECK(has(error_of([&] { difficulty_table(baseline, results(0), 5); }),
            "difficulty: these results have fog severity 1 twice"));
  CHECK(has(error_of([&] { difficulty_table(results(0), results(0), 11); }),
            "difficulty: 10 pairs for 11 bins"));

  TempDir dir("robustness_bad");
  const auto read_error = [&](const std::string& text) {
    const std::string path = dir.file("bad.csv");
    std::ofstream(path) << text;
    return error_of([&] { read_robustness_csv(path); });
  };
  const std::string header = "corruption,severity,accuracy,images\n";
  CHECK(has(error_of([&] { read_robustness_csv(dir.file("none.csv")); }),
            "cannot read robustness results " + dir.file("none.csv")));
  CHECK(has(read_error("name,level\n"), "line 1 is not the header"));
  CHECK(has(read_error(header + "fog,1,0.5\n"), "line 2 does not have four fields: fog,1,0.5"));
  CHECK(has(read_error(header + "fog,3x,0.5,100\n"), "line 2: '3x' is not a number"));
  CHECK(has(read_error(header + "fog,1,0.5,100\nfog,2,,100\n"), "line 3: '' is not a number"));
  CHECK(has(read_error(header + "fog,6,0.5,100\n"), "line 2: severity 6 is not in 1..5"));
  CHECK(has(read_error(header + "fog,2.5,0.5,100\n"), "line 2: severity 2.5 is not in 1..5"));
  CHECK(has(read_error(header + "fog,1,51.5,100\n"),
            "line 2: accuracy 51.5 is not in [0, 1] (a fraction, not a percentage)"));
  // Windows line ends read as Unix ones.
  const std::string crlf = dir.file("crlf.csv");
  std::ofstream(crlf) << "corruption,severity,accuracy,images\r\nfog,1,0.5,100\r\n";
  const std::vector<CorruptionResult> read = read_robustness_csv(crlf);
  REQUIRE(read.size() == 1);
  CHECK(read[0].images == 100);
}
