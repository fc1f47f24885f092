// The experiment driver's one results table: a row per recipe with its
// test accuracy over seeds, size, speed and time, written as Markdown, CSV
// and a bar chart.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace cf::experiments {

// One finished training run (one seed).
struct RunOutcome {
  double accuracy = 0;           // final test accuracy, 0..1
  double images_per_second = 0;  // training throughput, evaluation excluded
  double seconds = 0;            // wall time of the whole run
};

struct RecipeRow {
  std::string recipe, model;
  std::string data;  // "CIFAR-10 from DIR", "the built-in synthetic set"
  int64_t epochs = 0, batch_size = 0, seeds = 0;  // seeds asked for
  int64_t parameters = 0, attention_parameters = 0;
  std::vector<RunOutcome> runs;  // the seeds that finished
  int64_t resumed = 0;  // seeds an earlier sweep finished or began (--resume)
  std::string status = "not run";  // "ok", "not run", "interrupted", "failed: <why>"
};

// Writes results.md, results.csv and results.png in `dir`, each to a
// temporary file renamed over the old one, so a reader never sees half a
// file. `command` (how the table was made) heads the Markdown.
void write_results(const std::string& dir, const std::vector<RecipeRow>& rows,
                   const std::string& command);

}  // namespace cf::experiments
