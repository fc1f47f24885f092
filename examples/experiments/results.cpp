#include "experiments/results.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>

#include "autograd/error.h"
#include "experiments/bar_chart.h"

namespace cf::experiments {

namespace fs = std::filesystem;

namespace {

struct Summary {
  bool any = false;
  double mean = 0, low = 0, high = 0;  // accuracy in percent
  double images_per_second = 0, seconds = 0;
};

Summary summarise(const std::vector<RunOutcome>& runs) {
  Summary s;
  if (runs.empty()) return s;
  s.any = true;
  s.low = s.high = 100 * runs[0].accuracy;
  for (const RunOutcome& r : runs) {
    s.mean += 100 * r.accuracy / double(runs.size());
    s.low = std::min(s.low, 100 * r.accuracy);
    s.high = std::max(s.high, 100 * r.accuracy);
    s.images_per_second += r.images_per_second / double(runs.size());
    s.seconds += r.seconds / double(runs.size());
  }
  return s;
}

std::string fixed(double v, int decimals) {
  char text[64];
  std::snprintf(text, sizeof text, "%.*f", decimals, v);
  return text;
}

// 1234567 -> "1,234,567".
std::string grouped(int64_t n) {
  std::string digits = std::to_string(n), out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

// "4.2 s", "12 min 05 s", "1 h 03 min".
std::string duration(double seconds) {
  char text[64];
  const long long s = std::llround(seconds);
  if (seconds < 60)
    std::snprintf(text, sizeof text, "%.1f s", seconds);
  else if (s < 3600)
    std::snprintf(text, sizeof text, "%lld min %02lld s", s / 60, s % 60);
  else
    std::snprintf(text, sizeof text, "%lld h %02lld min", s / 3600, s % 3600 / 60);
  return text;
}

std::string markdown_cell(std::string text) {
  std::replace(text.begin(), text.end(), '\n', ' ');
  std::string out;
  for (char c : text) out += c == '|' ? std::string("\\|") : std::string(1, c);
  return out;
}

std::string csv_cell(const std::string& text) {
  if (text.find_first_of(",\"\n") == std::string::npos) return text;
  std::string out = "\"";
  for (char c : text) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

// "Data: X." when every recipe read the same data, else each recipe's.
std::string data_line(const std::vector<RecipeRow>& rows) {
  if (rows.empty()) return "";
  bool same = true;
  for (const RecipeRow& row : rows) same = same && row.data == rows[0].data;
  if (same) return "Data: " + markdown_cell(rows[0].data) + ".\n\n";
  std::string line = "Data:";
  for (const RecipeRow& row : rows)
    line += (&row == &rows[0] ? " " : "; ") + row.recipe + ", " + markdown_cell(row.data);
  return line + ".\n\n";
}

// With --resume, which seeds an earlier sweep trained, and what their time is.
std::string resumed_line(const std::vector<RecipeRow>& rows) {
  int64_t resumed = 0, runs = 0;
  for (const RecipeRow& row : rows) resumed += row.resumed, runs += int64_t(row.runs.size());
  if (resumed == 0) return "";
  return "Runs finished or begun by an earlier sweep (--resume): " + std::to_string(resumed) +
         " of " + std::to_string(runs) +
         ". Their time adds the epochs that sweep logged (training only, without its data "
         "loading and evaluation) to this sweep's wall time.\n\n";
}

std::string seeds_cell(const RecipeRow& row) {
  return std::to_string(row.runs.size()) + "/" + std::to_string(row.seeds);
}

std::string markdown(const std::vector<RecipeRow>& rows, const std::string& command) {
  std::ostringstream os;
  os << "# Results\n\n"
     << "Made by `" << command << "`.\n\n"
     << data_line(rows)
     << "Accuracy: final test accuracy (%) after the last epoch, mean over the seeds that "
        "finished, with min and max. Training img/s excludes evaluation; time is the wall time "
        "of one run, mean over seeds.\n\n"
     << resumed_line(rows)
     << "| recipe | model | epochs | batch | seeds | accuracy | min | max | parameters "
        "| attention parameters | train img/s | time per run | status |\n"
     << "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n";
  for (const RecipeRow& row : rows) {
    const Summary s = summarise(row.runs);
    const auto cell = [&](double v, int decimals) { return s.any ? fixed(v, decimals) : "-"; };
    os << "| " << row.recipe << " | `" << row.model << "` | " << row.epochs << " | " << row.batch_size
       << " | " << seeds_cell(row) << " | " << cell(s.mean, 2) << " | " << cell(s.low, 2) << " | "
       << cell(s.high, 2) << " | " << grouped(row.parameters) << " | "
       << grouped(row.attention_parameters) << " | " << cell(s.images_per_second, 1) << " | "
       << (s.any ? duration(s.seconds) : "-") << " | " << markdown_cell(row.status) << " |\n";
  }
  return os.str();
}

std::string csv(const std::vector<RecipeRow>& rows) {
  std::ostringstream os;
  os << "recipe,model,epochs,batch_size,seeds_finished,seeds,accuracy_mean,accuracy_min,"
        "accuracy_max,parameters,attention_parameters,images_per_second,seconds_per_run,status,"
        "data,seeds_resumed\n";
  for (const RecipeRow& row : rows) {
    const Summary s = summarise(row.runs);
    const auto cell = [&](double v, int decimals) { return s.any ? fixed(v, decimals) : ""; };
    os << csv_cell(row.recipe) << ',' << row.model << ',' << row.epochs << ',' << row.batch_size
       << ',' << row.runs.size() << ',' << row.seeds << ',' << cell(s.mean, 2) << ','
       << cell(s.low, 2) << ',' << cell(s.high, 2) << ',' << row.parameters << ','
       << row.attention_parameters << ',' << cell(s.images_per_second, 2) << ','
       << cell(s.seconds, 1) << ',' << csv_cell(row.status) << ',' << csv_cell(row.data) << ','
       << row.resumed << '\n';
  }
  return os.str();
}

std::vector<Bar> bars(const std::vector<RecipeRow>& rows) {
  std::vector<Bar> out;
  for (const RecipeRow& row : rows) {
    const Summary s = summarise(row.runs);
    Bar b;
    b.label = row.recipe;
    b.has_value = s.any;
    b.mean = s.mean, b.low = s.low, b.high = s.high;
    b.note = row.status.rfind("failed", 0) == 0 ? "failed" : row.status;
    out.push_back(b);
  }
  return out;
}

// Writes `path` through `write(temporary path)`, then renames it into place.
void replace_file(const fs::path& path, const std::function<void(const std::string&)>& write) {
  const std::string temporary = path.string() + ".tmp";
  write(temporary);
  std::error_code error;
  fs::rename(temporary, path, error);
  CF_CHECK(!error, "cannot rename " << temporary << " to " << path.string() << ": " << error.message());
}

void replace_text(const fs::path& path, const std::string& text) {
  replace_file(path, [&](const std::string& temporary) {
    std::ofstream f(temporary, std::ios::binary);
    f << text;
    f.close();
    CF_CHECK(f.good(), "cannot write " << temporary);
  });
}

}  // namespace

void write_results(const std::string& dir, const std::vector<RecipeRow>& rows,
                   const std::string& command) {
  std::error_code error;
  fs::create_directories(dir, error);
  CF_CHECK(fs::is_directory(dir), "cannot create the results folder " << dir);
  replace_text(fs::path(dir) / "results.md", markdown(rows, command));
  replace_text(fs::path(dir) / "results.csv", csv(rows));
  int64_t seeds = 0;
  for (const RecipeRow& row : rows) seeds = std::max(seeds, row.seeds);
  replace_file(fs::path(dir) / "results.png", [&](const std::string& temporary) {
    write_bar_chart(temporary, "Test accuracy (%): mean, min-max over " + std::to_string(seeds) + " seed" +
                                   (seeds == 1 ? "" : "s"),
                    bars(rows));
  });
}

}  // namespace cf::experiments
