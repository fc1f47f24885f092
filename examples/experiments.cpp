// Runs experiment recipes (examples/recipes/*.cfg) with several seeds by
// calling the library's train() in-process, and writes one results table:
// per recipe the test accuracy (mean, min, max over seeds), the parameter
// and attention-parameter counts, training images/s and wall time, as
// results.md, results.csv and results.png.
//
//   ./build/examples/experiments --data data/cifar-10-batches-bin --seeds 3
//       --out results examples/recipes/cct.cfg examples/recipes/vit_lite.cfg
//   ./build/examples/experiments --smoke --out /tmp/smoke examples/recipes/*.cfg
//
// Every recipe is checked before the first one trains. A recipe that fails
// while training is reported in the table and the others still run; the
// table is rewritten after every recipe. See docs/EXPERIMENTS.md.
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "autograd/error.h"
#include "experiments/recipe.h"
#include "experiments/results.h"
#include "nn/registry.h"
#include "train/args.h"
#include "train/trainer.h"

namespace {

using cf::experiments::Recipe;
using cf::experiments::RecipeRow;

cf::ArgParser parser() {
  return cf::ArgParser(
             "experiments",
             "Trains each RECIPE.cfg named on the command line (cf train --config format)\n"
             "once per seed, and writes results.md, results.csv and results.png to --out\n"
             "(docs/EXPERIMENTS.md).")
      .option("data", "DIR", "data folder for every recipe (CIFAR-10 binaries or image folders)")
      .option("seeds", "N", "seeds per recipe: the recipe's seed, +1, ..., +N-1", "1")
      .option("out", "DIR", "results folder; runs go to DIR/runs/<recipe>/seed<k>", "results")
      .option("threads", "N", "worker threads (0: CF_NUM_THREADS or all cores)")
      .repeated("set", "KEY=VALUE", "a training or model key for every recipe")
      .flag("smoke",
            "each recipe for 2 steps on 16 synthetic images (a test that every recipe runs)")
      .flag("overwrite", "train again the seeds whose folders already hold a run")
      .flag("resume",
            "finish an interrupted sweep in --out: a finished seed is read back from its log, "
            "one with a checkpoint continues from it, the others train")
      .option("stop-after", "STEPS",
              "stop the sweep once a run has taken STEPS steps, as Ctrl-C would (the tests "
              "of --resume use it)");
}

std::string seed_dir(const std::string& out, const Recipe& recipe, int64_t seed) {
  return (std::filesystem::path(out) / "runs" / recipe.name / ("seed" + std::to_string(seed)))
      .string();
}

// Splits the command line into flags (with their values) and recipe files:
// a word that is neither a flag nor the value of the flag before it is a recipe.
void split_command_line(const std::vector<std::string>& argv, std::vector<std::string>& flags,
                        std::vector<std::string>& recipes) {
  const std::set<std::string> switches = {"--smoke", "--overwrite", "--resume", "--help", "-h"};
  for (size_t i = 0; i < argv.size(); ++i) {
    const std::string& word = argv[i];
    if (word.rfind("-", 0) != 0) {
      recipes.push_back(word);
      continue;
    }
    flags.push_back(word);
    if (!switches.count(word) && word.find('=') == std::string::npos && i + 1 < argv.size())
      flags.push_back(argv[++i]);
  }
}

// Ctrl-C as in the cf tool: during a run, checkpoint and stop after the step;
// between runs, or a second time, end at once.
void on_interrupt(int) {
  static volatile std::sig_atomic_t count = 0;
  if (++count > 1 || !cf::request_stop()) std::_Exit(130);
}

bool has_checkpoint(const std::string& dir) {
  return std::filesystem::exists(std::filesystem::path(dir) / "last.safetensors");
}

// How the sweep treats seed folders that hold a run, and when it stops.
struct SweepFlags {
  bool overwrite = false, resume = false;
  int64_t stop_after = 0;  // steps (0: never)
};

// A run's figures from its log.csv, once it has trained every epoch: the
// last epoch's test accuracy, and images/s and seconds over the epochs.
cf::experiments::RunOutcome logged_outcome(const cf::RunRecord& r, const std::string& dir) {
  const std::string log = dir + "/log.csv", again = "; remove " + dir + " to train the seed again";
  CF_CHECK(r.epochs_logged == r.epochs, log << " ends at epoch " << r.epochs_logged << " of "
                                            << r.epochs << ", though the checkpoint is at the end"
                                            << again);
  CF_CHECK(std::isfinite(r.final_accuracy),
           log << ": its last epoch has no test accuracy" << again);
  CF_CHECK(std::isfinite(r.seconds) && r.seconds > 0,
           log << ": its epochs' seconds add up to " << r.seconds << again);
  return {r.final_accuracy, r.images / r.seconds, r.seconds};
}

// Trains one seed of a recipe; adds the run to `row` or records why it failed.
// Returns false when the run was interrupted. With --resume, a run in the
// folder that finished is read back, and one with a checkpoint continues; its
// time adds the logged epochs of the earlier sweep (training only) to this
// sweep's wall time, and its img/s counts every logged epoch.
bool run_seed(const Recipe& recipe, int64_t seed, const std::string& out_dir,
              const SweepFlags& flags, RecipeRow& row) {
  cf::TrainOptions options;
  options.run = recipe.run;
  options.run.train.set("seed", seed);
  options.out_dir = out_dir;
  options.overwrite = flags.overwrite || flags.resume;  // --resume: a run with no checkpoint
  options.stop_after_steps = flags.stop_after;
  const auto start = std::chrono::steady_clock::now();
  const auto report = [&](const char* how, const cf::experiments::RunOutcome& run) {
    row.runs.push_back(run);
    std::printf("%s seed %lld: test accuracy %.2f%%, %.1f img/s, %.0f s%s\n", recipe.name.c_str(),
                (long long)seed, 100 * run.accuracy, run.images_per_second, run.seconds, how);
  };
  try {
    double earlier_seconds = 0;
    if (flags.resume && has_checkpoint(out_dir)) {
      const cf::RunRecord before = cf::read_run_record(out_dir);
      if (before.finished) {
        const cf::experiments::RunOutcome outcome = logged_outcome(before, out_dir);
        // Its parameters as it met its data (a CIFAR-100 head is wider).
        const std::unique_ptr<cf::Model> model =
            cf::build_model(before.run.model, before.run.model_config);
        row.parameters = model->learnable_parameters();
        row.attention_parameters = model->attention_parameters();
        report(" (finished by an earlier sweep)", outcome);
        ++row.resumed;
        return true;
      }
      CF_CHECK(std::isfinite(before.seconds), out_dir << "/log.csv: its epochs' seconds add up to "
                                                      << before.seconds << "; remove " << out_dir
                                                      << " to train the seed again");
      options.run = before.run;
      options.run.train.set("threads", recipe.run.train.get_string("threads"));
      options.resume = true;
      earlier_seconds = before.seconds;
    }
    const cf::TrainResult r = cf::train(options, std::cout);
    if (r.interrupted) {
      row.status = "interrupted";
      return false;
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    row.parameters = r.parameters;
    row.attention_parameters = r.attention_parameters;
    if (options.resume) {
      cf::experiments::RunOutcome outcome = logged_outcome(cf::read_run_record(out_dir), out_dir);
      outcome.seconds = earlier_seconds + seconds;
      report(" (continued)", outcome);
      ++row.resumed;
    } else {
      report("", {r.final_accuracy, r.images_per_second, seconds});
    }
  } catch (const std::exception& e) {
    const std::string why = "failed: seed " + std::to_string(seed) + ": " + e.what();
    if (row.status.rfind("failed", 0) != 0) row.status = why;
    std::printf("%s seed %lld %s\n", recipe.name.c_str(), (long long)seed, why.c_str());
  }
  return true;
}

int run(const std::vector<std::string>& argv) {
  std::vector<std::string> flag_words, paths;
  split_command_line(argv, flag_words, paths);
  const cf::ArgParser p = parser();
  const cf::Args args = p.parse(flag_words);
  if (args.help) return std::cout << p.usage(), 0;
  const int64_t seeds = args.integer("seeds");
  CF_CHECK(seeds >= 1, "--seeds " << seeds << ": give at least 1");
  CF_CHECK(!paths.empty(), "no recipe files given (e.g. examples/recipes/*.cfg; see experiments --help)");

  cf::Config overrides;
  for (const std::string& kv : args.all("set")) overrides.set_assignment(kv);
  if (args.on("data")) overrides.set("data", args.str("data"));
  if (args.on("threads")) overrides.set("threads", args.integer("threads"));
  if (args.on("smoke"))
    for (const std::string& key : cf::experiments::smoke_overrides().keys())
      overrides.set(key, cf::experiments::smoke_overrides().get_string(key));

  std::vector<Recipe> recipes;
  std::vector<RecipeRow> rows;
  for (const std::string& path : paths) {
    recipes.push_back(cf::experiments::load_recipe(path, overrides));
    const Recipe& r = recipes.back();
    for (size_t i = 0; i + 1 < recipes.size(); ++i)
      CF_CHECK(recipes[i].name != r.name, "two recipes are named " << r.name << " (" << recipes[i].path
                                                                   << " and " << r.path
                                                                   << "); their runs would share a folder");
    RecipeRow row;
    row.recipe = r.name;
    row.model = r.run.model;
    row.data = r.data;
    row.epochs = r.run.train.get_int("epochs");
    row.batch_size = r.run.train.get_int("batch_size");
    row.seeds = seeds;
    row.parameters = r.parameters;
    row.attention_parameters = r.attention_parameters;
    rows.push_back(row);
  }

  // A second sweep into the same --out would replace the first one's runs;
  // one that finishes it must find the same runs there.
  const std::string out = args.str("out");
  SweepFlags flags;
  flags.overwrite = args.on("overwrite");
  flags.resume = args.on("resume");
  CF_CHECK(!(flags.overwrite && flags.resume),
           "--overwrite trains every seed again, --resume keeps what has trained: give one of "
           "them");
  if (args.on("stop-after")) {
    flags.stop_after = args.integer("stop-after");
    CF_CHECK(flags.stop_after >= 1, "--stop-after " << flags.stop_after << ": give at least 1");
  }
  for (const Recipe& r : recipes)
    for (int64_t k = 0; k < seeds; ++k) {
      const int64_t seed = r.run.train.get_int("seed") + k;
      const std::string dir = seed_dir(out, r, seed);
      if (flags.resume && has_checkpoint(dir))
        cf::experiments::check_same_run(r, seed, dir, cf::read_run_config(dir));
      CF_CHECK(flags.overwrite || flags.resume || !cf::holds_run(dir),
               dir << " already holds a run; --resume finishes an interrupted sweep, --overwrite "
                      "trains it again, or choose another --out");
    }

  std::string command = "experiments";
  for (const std::string& word : argv) command += " " + word;
  cf::experiments::write_results(out, rows, command);
  std::signal(SIGINT, on_interrupt);
  bool interrupted = false;
  for (size_t i = 0; i < recipes.size() && !interrupted; ++i) {
    const int64_t first_seed = recipes[i].run.train.get_int("seed");
    rows[i].status = "ok";
    for (int64_t k = 0; k < seeds && !interrupted; ++k) {
      const int64_t seed = first_seed + k;
      std::printf("== [%zu/%zu] %s (%s), seed %lld\n", i + 1, recipes.size(), recipes[i].name.c_str(),
                  recipes[i].run.model.c_str(), (long long)seed);
      std::fflush(stdout);
      const std::string dir = seed_dir(out, recipes[i], seed);
      interrupted = !run_seed(recipes[i], seed, dir, flags, rows[i]);
    }
    cf::experiments::write_results(out, rows, command);
  }
  std::printf("Wrote %s/results.md, results.csv and results.png\n", out.c_str());
  if (interrupted) {
    std::printf("Interrupted: %s finishes the sweep.\n",
                flags.resume      ? "the same command"
                : flags.overwrite ? "the same command with --resume in place of --overwrite"
                                  : "the same command with --resume");
    return 130;
  }
  for (const RecipeRow& row : rows)
    if (row.status != "ok") return 1;
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(std::vector<std::string>(argv + 1, argv + argc));
  } catch (const std::exception& e) {
    // The flag parser's messages already start with the program's name.
    const std::string message = e.what();
    std::cerr << (message.rfind("experiments: ", 0) == 0 ? "" : "experiments: ") << message << '\n';
    return 2;
  }
}
