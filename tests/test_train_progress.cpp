#include <sstream>

#include "tests/helpers.h"
#include "train/plot.h"
#include "train/progress.h"

using namespace cf;

TEST_CASE("progress lines and durations", "[train][progress]") {
  CHECK(format_duration(0) == "0:00");
  CHECK(format_duration(125) == "2:05");
  CHECK(format_duration(3723) == "1:02:03");
  ProgressState s{2, 10, 50, 100, 1.23456, 0.5, 1234.4, 65};
  std::string line = progress_line(s, 10);
  CHECK(line == "epoch 2/10 [=====     ] step 50/100  loss 1.2346  acc  50.0%  1234 img/s  ETA 1:05");
  CHECK(progress_line(s, 0).find("[") == std::string::npos);
}

TEST_CASE("progress redraws on a terminal and prints lines elsewhere", "[train][progress]") {
  std::ostringstream tty, file;
  Progress bar(tty, true), plain(file, false, 0.0);
  ProgressState s{1, 1, 1, 2, 1.0, 0.5, 10, 1};
  bar.update(s);
  plain.update(s);
  bar.end_epoch("epoch 1 done");
  plain.end_epoch("epoch 1 done");
  CHECK(tty.str().find('\r') != std::string::npos);
  CHECK(file.str().find('\r') == std::string::npos);
  CHECK(file.str().find("step 1/2") != std::string::npos);
  CHECK(file.str().find("epoch 1 done\n") != std::string::npos);
}

TEST_CASE("curves plot as SVG", "[train][plot]") {
  std::string svg = curves_svg({{"loss", {{"train", {2.0, 1.5, 1.0}}, {"test", {2.1, 1.7, 1.4}}}},
                                {"accuracy", {{"train", {0.2, 0.5, 0.7}}}}});
  CHECK(svg.rfind("<svg", 0) == 0);
  CHECK(svg.find("</svg>") != std::string::npos);
  CHECK(std::count(svg.begin(), svg.end(), '\n') > 10);
  size_t polylines = 0;
  for (size_t at = svg.find("<polyline"); at != std::string::npos; at = svg.find("<polyline", at + 1)) ++polylines;
  CHECK(polylines == 3);
  CHECK(svg.find(">test<") != std::string::npos);
  CHECK(curves_svg({{"empty", {}}}).find("</svg>") != std::string::npos);  // no data: still a valid file
}
