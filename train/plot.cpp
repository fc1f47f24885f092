#include "train/plot.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

namespace cf {

namespace {

const char* kColours[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd"};
constexpr double kWidth = 420, kHeight = 300, kLeft = 60, kRight = 20, kTop = 36, kBottom = 44;

std::string number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3g", v);
  return buf;
}

// One panel at horizontal offset x0: frame, ticks, lines, legend.
void draw_panel(std::ostringstream& svg, const Panel& panel, double x0) {
  double lo = INFINITY, hi = -INFINITY;
  size_t n = 1;
  for (const Series& s : panel.series)
    for (double v : s.y)
      if (std::isfinite(v)) {
        lo = std::min(lo, v);
        hi = std::max(hi, v);
        n = std::max(n, s.y.size());
      }
  if (!(lo <= hi)) lo = 0, hi = 1;
  if (hi - lo < 1e-12) hi = lo + 1;
  const double pw = kWidth - kLeft - kRight, ph = kHeight - kTop - kBottom;
  auto px = [&](size_t i) { return x0 + kLeft + (n > 1 ? pw * double(i) / double(n - 1) : pw / 2); };
  auto py = [&](double v) { return kTop + ph * (1.0 - (v - lo) / (hi - lo)); };

  svg << "<text x='" << x0 + kWidth / 2 << "' y='20' text-anchor='middle' font-size='15'>"
      << panel.title << "</text>\n";
  svg << "<rect x='" << x0 + kLeft << "' y='" << kTop << "' width='" << pw << "' height='" << ph
      << "' fill='none' stroke='#444'/>\n";
  for (int t = 0; t <= 4; ++t) {  // five y ticks with grid lines
    const double v = lo + (hi - lo) * t / 4.0, y = py(v);
    svg << "<line x1='" << x0 + kLeft << "' x2='" << x0 + kLeft + pw << "' y1='" << y << "' y2='" << y
        << "' stroke='#ddd'/>\n<text x='" << x0 + kLeft - 6 << "' y='" << y + 4
        << "' text-anchor='end' font-size='11'>" << number(v) << "</text>\n";
  }
  for (size_t i = 0; i < n; i += std::max<size_t>(1, n / 8))  // x ticks: epochs
    svg << "<text x='" << px(i) << "' y='" << kTop + ph + 16 << "' text-anchor='middle' font-size='11'>"
        << i + 1 << "</text>\n";
  svg << "<text x='" << x0 + kLeft + pw / 2 << "' y='" << kHeight - 8
      << "' text-anchor='middle' font-size='12'>epoch</text>\n";
  for (size_t k = 0; k < panel.series.size(); ++k) {
    const Series& s = panel.series[k];
    const char* colour = kColours[k % 4];
    svg << "<polyline fill='none' stroke-width='2' stroke='" << colour << "' points='";
    for (size_t i = 0; i < s.y.size(); ++i)
      if (std::isfinite(s.y[i])) svg << px(i) << ',' << py(s.y[i]) << ' ';
    svg << "'/>\n<text x='" << x0 + kLeft + pw - 4 << "' y='" << kTop + 16 + 15 * double(k)
        << "' text-anchor='end' font-size='12' fill='" << colour << "'>" << s.name << "</text>\n";
  }
}

}  // namespace

std::string curves_svg(const std::vector<Panel>& panels) {
  std::ostringstream svg;
  const double width = kWidth * double(std::max<size_t>(1, panels.size()));
  svg << "<svg xmlns='http://www.w3.org/2000/svg' width='" << width << "' height='" << kHeight
      << "' font-family='sans-serif'>\n<rect width='100%' height='100%' fill='white'/>\n";
  for (size_t p = 0; p < panels.size(); ++p) draw_panel(svg, panels[p], kWidth * double(p));
  svg << "</svg>\n";
  return svg.str();
}

}  // namespace cf
