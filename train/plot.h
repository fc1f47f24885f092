// Training curves as an SVG file: one panel per metric (loss, accuracy),
// one line per series (train, test), with axes, ticks and a legend. SVG is
// text, needs no library, and every browser and image viewer shows it.
#pragma once
#include <string>
#include <vector>

namespace cf {

struct Series {
  std::string name;        // "train", "test"
  std::vector<double> y;   // one value per epoch (x = 1, 2, ...)
};

struct Panel {
  std::string title;       // "loss"
  std::vector<Series> series;
};

// The SVG document for the panels side by side.
std::string curves_svg(const std::vector<Panel>& panels);

}  // namespace cf
