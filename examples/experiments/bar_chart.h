// A horizontal bar chart as a PNG, drawn pixel by pixel with a built-in 5x7
// bitmap font, so that the experiment driver needs nothing beyond the
// library's PNG writer (data/image_io.h).
#pragma once
#include <string>
#include <vector>

namespace cf::experiments {

struct Bar {
  std::string label;
  bool has_value = false;  // false: the bar is left empty and `note` is shown
  double mean = 0, low = 0, high = 0;  // percent, 0..100
  std::string note;        // "failed", "not run"
};

// One row per bar: the label, then a bar from 0 to `mean` with a whisker from
// `low` to `high`, on a 0-100% axis with grid lines every 10%.
void write_bar_chart(const std::string& path, const std::string& title,
                     const std::vector<Bar>& bars);

}  // namespace cf::experiments
