#include "train/progress.h"

#include <cmath>
#include <cstdio>
#include <ostream>

namespace cf {

std::string format_duration(double seconds) {
  const int64_t s = int64_t(std::llround(std::fmax(0.0, seconds)));
  char buf[32];
  if (s >= 3600)
    std::snprintf(buf, sizeof buf, "%lld:%02lld:%02lld", (long long)(s / 3600),
                  (long long)(s / 60 % 60), (long long)(s % 60));
  else
    std::snprintf(buf, sizeof buf, "%lld:%02lld", (long long)(s / 60), (long long)(s % 60));
  return buf;
}

std::string progress_line(const ProgressState& s, int bar_width) {
  std::string bar;
  if (bar_width > 0) {
    const int filled = s.steps > 0 ? int(bar_width * s.step / s.steps) : 0;
    bar = "[" + std::string(size_t(filled), '=') + std::string(size_t(bar_width - filled), ' ') + "] ";
  }
  char buf[256];
  std::snprintf(buf, sizeof buf,
                "epoch %lld/%lld %sstep %lld/%lld  loss %.4f  acc %5.1f%%  %.0f img/s  ETA %s",
                (long long)s.epoch, (long long)s.epochs, bar.c_str(), (long long)s.step,
                (long long)s.steps, s.loss, 100.0 * s.accuracy, s.images_per_second,
                format_duration(s.eta_seconds).c_str());
  return buf;
}

Progress::Progress(std::ostream& out, bool terminal, double interval_seconds)
    : out_(out), terminal_(terminal), interval_(interval_seconds),
      last_(std::chrono::steady_clock::now()) {}

void Progress::update(const ProgressState& s) {
  if (terminal_) {
    out_ << '\r' << progress_line(s, 20) << "\x1b[K" << std::flush;  // clear to end of line
    drawn_ = true;
    return;
  }
  const auto now = std::chrono::steady_clock::now();
  if (std::chrono::duration<double>(now - last_).count() < interval_) return;
  last_ = now;
  out_ << progress_line(s, 0) << '\n' << std::flush;
}

void Progress::end_epoch(const std::string& summary) {
  if (terminal_ && drawn_) out_ << '\r' << "\x1b[K";
  drawn_ = false;
  out_ << summary << '\n' << std::flush;
  last_ = std::chrono::steady_clock::now();
}

}  // namespace cf
