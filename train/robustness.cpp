#include "train/robustness.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <ostream>
#include <set>
#include <sstream>

#include "autograd/error.h"
#include "data/atomic_file.h"
#include "data/cifar10c.h"
#include "data/image_io.h"
#include "nn/config.h"
#include "train/evaluate.h"

namespace cf {

namespace fs = std::filesystem;

std::vector<CorruptionResult> evaluate_corruptions(Model& model, const std::string& dir,
                                                   int64_t batch_size, int64_t image_size,
                                                   int64_t num_classes, bool resize,
                                                   std::ostream& progress) {
  CF_CHECK(fs::is_directory(dir), "corruptions: folder '" << dir << "' does not exist");
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir))
    if (entry.path().extension() == ".npy" && entry.path().stem() != "labels")
      names.push_back(entry.path().stem().string());
  std::sort(names.begin(), names.end());
  CF_CHECK(!names.empty(), "corruptions: no <corruption>.npy files in '" << dir
                                                                          << "' (cf corrupt writes them)");
  std::vector<CorruptionResult> results;
  for (const std::string& name : names) {
    for (int severity = 1; severity <= 5; ++severity) {
      data::ImageSet set = data::read_cifar10c(dir, name, severity);
      // Its class names are CIFAR-10's whenever the labels fit them: the
      // labels themselves are what a model of fewer classes must bound.
      const auto top = std::max_element(set.labels.begin(), set.labels.end());
      CF_CHECK(top == set.labels.end() || *top < num_classes,
               "corruptions: " << (fs::path(dir) / "labels.npy").string() << " has labels up to "
                               << *top << ", the model has " << num_classes << " classes");
      if (set.h != image_size || set.w != image_size) {
        CF_CHECK(resize, "corruptions: " << (fs::path(dir) / (name + ".npy")).string() << " holds "
                                         << set.h << "x" << set.w << " images, the model takes "
                                         << image_size << "x" << image_size
                                         << " (--resize resamples them)");
        set = data::resize_images(set, image_size, image_size);
      }
      const EvalResult r = evaluate(model, set, batch_size);
      results.push_back({name, severity, r.accuracy, r.images});
    }
    char line[128];
    std::snprintf(line, sizeof line, "  %-20s", name.c_str());
    progress << line;
    for (size_t k = results.size() - 5; k < results.size(); ++k) {
      std::snprintf(line, sizeof line, " %6.2f%%", 100 * results[k].accuracy);
      progress << line;
    }
    progress << '\n' << std::flush;
  }
  return results;
}

double mean_accuracy(const std::vector<CorruptionResult>& results) {
  double s = 0;
  for (const CorruptionResult& r : results) s += r.accuracy;
  return results.empty() ? 0 : s / double(results.size());
}

std::string robustness_table(const std::vector<CorruptionResult>& results) {
  std::map<std::string, std::vector<double>> rows;
  for (const CorruptionResult& r : results) {
    std::vector<double>& row = rows[r.corruption];
    row.resize(5);
    row[size_t(r.severity - 1)] = r.accuracy;
  }
  std::ostringstream os;
  char line[160];
  std::snprintf(line, sizeof line, "%-20s %8s %8s %8s %8s %8s %8s\n", "corruption", "s1", "s2", "s3",
                "s4", "s5", "mean");
  os << line;
  for (const auto& [name, acc] : rows) {
    double mean = 0;
    for (double a : acc) mean += a / 5.0;
    std::snprintf(line, sizeof line, "%-20s %7.2f%% %7.2f%% %7.2f%% %7.2f%% %7.2f%% %7.2f%%\n",
                  name.c_str(), 100 * acc[0], 100 * acc[1], 100 * acc[2], 100 * acc[3],
                  100 * acc[4], 100 * mean);
    os << line;
  }
  std::snprintf(line, sizeof line, "mean corruption accuracy: %.2f%%\n", 100 * mean_accuracy(results));
  os << line;
  return os.str();
}

void write_robustness_csv(const std::string& path, const std::vector<CorruptionResult>& results) {
  std::string csv = "corruption,severity,accuracy,images\n";
  char line[160];
  for (const CorruptionResult& r : results) {
    std::snprintf(line, sizeof line, "%s,%d,%.6f,%lld\n", r.corruption.c_str(), r.severity,
                  r.accuracy, (long long)r.images);
    csv += line;
  }
  data::write_atomically(path, {csv}, "write_robustness_csv");
}

std::vector<CorruptionResult> read_robustness_csv(const std::string& path) {
  std::ifstream f(path);
  CF_CHECK(f, "cannot read robustness results " << path);
  std::string line;
  // Line ends of Windows (a file opened in a spreadsheet) read as Unix ones.
  const auto next_line = [&] {
    if (!std::getline(f, line)) return false;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    return true;
  };
  next_line();
  CF_CHECK(line == "corruption,severity,accuracy,images",
           path << ": line 1 is not the header corruption,severity,accuracy,images");
  std::vector<CorruptionResult> results;
  for (int number = 2; next_line(); ++number) {
    std::stringstream ss(line);
    CorruptionResult r;
    std::string severity, accuracy, images;
    const bool ok = std::getline(ss, r.corruption, ',') && std::getline(ss, severity, ',') &&
                    std::getline(ss, accuracy, ',') && std::getline(ss, images);
    CF_CHECK(ok, path << ": line " << number << " does not have four fields: " << line);
    // Whole fields only: "3x" is not 3.
    const auto parse = [&](const std::string& field) {
      const std::optional<double> v = parse_number(field);
      CF_CHECK(v, path << ": line " << number << ": '" << field << "' is not a number: " << line);
      return *v;
    };
    const double s = parse(severity);
    r.severity = s >= 1 && s <= 5 && s == std::floor(s) ? int(s) : 0;
    r.accuracy = parse(accuracy);
    r.images = int64_t(parse(images));
    CF_CHECK(r.severity != 0,
             path << ": line " << number << ": severity " << severity << " is not in 1..5");
    CF_CHECK(r.accuracy >= 0 && r.accuracy <= 1,
             path << ": line " << number << ": accuracy " << accuracy
                  << " is not in [0, 1] (a fraction, not a percentage)");
    results.push_back(r);
  }
  return results;
}

std::string difficulty_table(const std::vector<CorruptionResult>& results,
                             const std::vector<CorruptionResult>& baseline, int bins) {
  // Both sides must hold the same pairs, each once: a pair on one side only
  // would silently fall out of the bins.
  std::map<std::pair<std::string, int>, double> ours;
  for (const CorruptionResult& r : results)
    CF_CHECK(ours.emplace(std::make_pair(r.corruption, r.severity), r.accuracy).second,
             "difficulty: these results have " << r.corruption << " severity " << r.severity
                                               << " twice");
  std::set<std::pair<std::string, int>> in_baseline;
  // (baseline accuracy, our accuracy) per pair, hardest for the baseline first.
  std::vector<std::pair<double, double>> pairs;
  for (const CorruptionResult& b : baseline) {
    CF_CHECK(
        in_baseline.emplace(b.corruption, b.severity).second,
        "difficulty: the baseline has " << b.corruption << " severity " << b.severity << " twice");
    auto it = ours.find({b.corruption, b.severity});
    CF_CHECK(it != ours.end(), "difficulty: the baseline has " << b.corruption << " severity "
                                                               << b.severity << ", these results do not");
    pairs.emplace_back(b.accuracy, it->second);
  }
  for (const auto& [pair, accuracy] : ours)
    CF_CHECK(in_baseline.count(pair), "difficulty: these results have "
                                          << pair.first << " severity " << pair.second
                                          << ", the baseline does not");
  CF_CHECK(int(pairs.size()) >= bins, "difficulty: " << pairs.size() << " pairs for " << bins << " bins");
  std::stable_sort(pairs.begin(), pairs.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  std::ostringstream os;
  os << "bin  pairs  baseline  this model  ratio\n";
  char line[128];
  for (int k = 0; k < bins; ++k) {
    const size_t lo = pairs.size() * size_t(k) / size_t(bins), hi = pairs.size() * size_t(k + 1) / size_t(bins);
    double b = 0, m = 0;
    for (size_t i = lo; i < hi; ++i) b += pairs[i].first, m += pairs[i].second;
    b /= double(hi - lo);
    m /= double(hi - lo);
    std::snprintf(line, sizeof line, "%3d  %5zu  %7.2f%%  %9.2f%%  %5.3f\n", k + 1, hi - lo, 100 * b, 100 * m,
                  b > 0 ? m / b : 0.0);
    os << line;
  }
  return os.str();
}

}  // namespace cf
