// Progress while training: a bar redrawn in place on a terminal, plain lines
// (at most one every `interval` seconds, and at the end of each epoch)
// when the output is a file or a pipe, so logs stay readable.
#pragma once
#include <chrono>
#include <cstdint>
#include <iosfwd>
#include <string>

namespace cf {

struct ProgressState {
  int64_t epoch = 0, epochs = 0;  // 1-based epoch
  int64_t step = 0, steps = 0;    // 1-based step within the epoch
  double loss = 0, accuracy = 0;  // running means over the epoch so far
  double images_per_second = 0;
  double eta_seconds = 0;         // for the whole run
};

class Progress {
 public:
  Progress(std::ostream& out, bool terminal, double interval_seconds = 10.0);
  void update(const ProgressState& s);
  void end_epoch(const std::string& summary);  // ends the bar with a summary line

 private:
  std::ostream& out_;
  bool terminal_;
  double interval_;
  std::chrono::steady_clock::time_point last_;
  bool drawn_ = false;
};

// "1:02:03" or "2:03".
std::string format_duration(double seconds);
// The bar line itself (no carriage return), for tests and for non-terminals.
std::string progress_line(const ProgressState& s, int bar_width);

}  // namespace cf
