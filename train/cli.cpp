#include "train/cli.h"

#include <algorithm>
#include <filesystem>
#include <limits>
#include <ostream>
#include <sstream>

#include "autograd/error.h"
#include "autograd/graph.h"
#include "data/cifar10c.h"
#include "data/corruptions.h"
#include "data/loader.h"
#include "nn/attention.h"
#include "nn/columnformer.h"
#include "nn/registry.h"
#include "train/args.h"
#include "train/data_source.h"
#include "train/evaluate.h"
#include "train/inspect.h"
#include "train/robustness.h"
#include "train/run_config.h"
#include "train/safetensors.h"
#include "train/trainer.h"

namespace cf {

namespace fs = std::filesystem;

namespace {

const char* kOverview =
    "usage: cf <command> [flags]\n\n"
    "Trains and compares brain-inspired and attention-alternative transformers on CIFAR.\n\n"
    "commands:\n"
    "  models [NAME]   list the registered models, or the keys of one\n"
    "  info            a model's module table and parameter counts\n"
    "  train           train a model; evaluates every epoch, keeps last and best checkpoints\n"
    "  eval            evaluate a checkpoint on a test set (and on CIFAR-10-C)\n"
    "  corrupt         write CIFAR-10-C for a test set\n"
    "  inspect         attention maps of a checkpoint as PNG images\n\n"
    "cf <command> --help describes each command's flags.\n";

int models_command(const std::vector<std::string>& args, std::ostream& out) {
  if (args.size() == 1 && args[0] != "--help") {
    out << model_help(args[0]);
    return 0;
  }
  CF_CHECK(args.empty() || args[0] == "--help", "models: takes at most one model name");
  out << "models (cf models NAME lists a model's keys):\n";
  size_t width = 0;
  for (const std::string& name : model_names()) width = std::max(width, name.size());
  for (const std::string& name : model_names())
    out << "  " << name << std::string(width + 2 - name.size(), ' ')
        << model_info(name).description << '\n';
  return 0;
}

ArgParser info_parser() {
  return ArgParser("cf info", "Prints a model's modules, parameter shapes and counts.")
      .option("model", "NAME", "registered model (cf models lists them)")
      .repeated("set", "KEY=VALUE", "a model key");
}

int info_command(const std::vector<std::string>& argv, std::ostream& out) {
  const ArgParser parser = info_parser();
  const Args args = parser.parse(argv);
  if (args.help) return out << parser.usage(), 0;
  CF_CHECK(args.has("model"), "info: --model NAME is required (cf models lists them)");
  Config overrides;
  for (const std::string& kv : args.all("set")) overrides.set_assignment(kv);
  std::unique_ptr<Model> model = build_model(args.str("model"), overrides);
  out << model->summary();
  if (model->learnable_parameters() != model->num_parameters())
    out << "learnable parameters (masked entries excluded): " << model->learnable_parameters() << '\n';
  out << "attention parameters: " << model->attention_parameters() << " of "
      << model->learnable_parameters() << '\n';
  return 0;
}

ArgParser train_parser() {
  return ArgParser("cf train",
                   "Trains a model and evaluates it on the test set every epoch. Settings come\n"
                   "from defaults, then --config, then --set, then the named flags; `cf train\n"
                   "--help` lists the flags, and every training key can also be given as\n"
                   "--set key=value (see docs/TRAINING.md).")
      .option("model", "NAME", "registered model (cf models lists them)")
      .option("config", "FILE", "key = value lines: training keys, model, model keys")
      .repeated("set", "KEY=VALUE", "a training or model key")
      .option("data", "DIR", "CIFAR-10/100 binary folder or image folder with train/ and test/")
      .option("dataset", "KIND", "auto | cifar10 | cifar100 | folder | synthetic")
      .option("epochs", "N", "passes over the training set")
      .option("batch-size", "N", "images per step")
      .option("lr", "RATE", "peak learning rate")
      .option("weight-decay", "W", "weight decay")
      .option("seed", "N", "seed of everything random")
      .option("threads", "N", "worker threads")
      .option("out", "DIR",
              "output folder (default: runs/<model>, or -2, -3, ... if it holds a run)")
      .flag("overwrite", "start again in an --out folder that holds a run, removing its files")
      .option("resume", "DIR", "continue the run in DIR from its last checkpoint");
}

// runs/<model>, or the first of runs/<model>-2, -3, ... that holds no run:
// a second run of the same model does not replace the first.
std::string default_out_dir(const std::string& model) {
  const std::string base = "runs/" + model;
  std::string dir = base;
  for (int k = 2; holds_run(dir); ++k) dir = base + "-" + std::to_string(k);
  return dir;
}

int train_command(const std::vector<std::string>& argv, std::ostream& out, bool terminal) {
  const ArgParser parser = train_parser();
  const Args args = parser.parse(argv);
  if (args.help) return out << parser.usage(), 0;

  TrainOptions options;
  options.terminal = terminal;
  if (args.has("resume")) {
    for (const char* flag : {"model", "config", "set", "data", "dataset", "epochs", "batch-size",
                             "lr", "weight-decay", "seed", "threads", "out", "overwrite"})
      CF_CHECK(!args.on(flag), "train: --resume continues a run with its own settings; drop --" << flag);
    options.out_dir = args.str("resume");
    options.run = read_run_config(options.out_dir);
    options.resume = true;
  } else {
    Config combined;
    if (args.has("config")) combined = Config::read_file(args.str("config"), "config");
    for (const std::string& kv : args.all("set")) combined.set_assignment(kv);
    const std::pair<const char*, const char*> flags[] = {
        {"model", "model"}, {"data", "data"},   {"dataset", "dataset"}, {"epochs", "epochs"},
        {"batch-size", "batch_size"}, {"lr", "lr"}, {"weight-decay", "weight_decay"},
        {"seed", "seed"}, {"threads", "threads"}};
    for (const auto& [flag, key] : flags)
      if (args.on(flag)) combined.set(key, args.str(flag));
    options.run = split_run_config(combined, "cf train");
    options.overwrite = args.on("overwrite");
    options.out_dir = args.on("out")      ? args.str("out")
                      : options.overwrite ? "runs/" + options.run.model
                                          : default_out_dir(options.run.model);
    if (!args.on("out") && options.out_dir != "runs/" + options.run.model)
      out << "Note: runs/" << options.run.model << " holds an earlier run; this one goes to "
          << options.out_dir << ".\n";
  }
  const TrainResult r = train(options, out);
  if (r.interrupted) return 130;
  char line[256];
  std::snprintf(line, sizeof line,
                "Done: %lld steps, final test accuracy %.2f%%, best %.2f%%. Results in %s\n",
                (long long)r.steps, 100 * r.final_accuracy, 100 * r.best_accuracy,
                options.out_dir.c_str());
  out << line;
  return 0;
}

// The flags that choose and read test data in eval, inspect and corrupt.
// `size` is the size --resize resamples to.
ArgParser with_test_data_flags(ArgParser parser, const std::string& data_help,
                               const std::string& size) {
  return parser.option("data", "DIR", data_help)
      .option("dataset", "KIND", "auto | cifar10 | cifar100 | folder | synthetic")
      .flag("resize", "resample test images of another size to " + size)
      .flag("skip-bad-files", "image folders: skip unreadable files with a warning");
}

// --data and --dataset choose other test data as they choose cf train's (a
// folder alone is recognised by its layout); without them, the run's own.
// --resize and --skip-bad-files turn on cf train's keys of those names.
void choose_test_data(const Args& args, Config& train) {
  if (args.on("resize")) train.set("resize", true);
  if (args.on("skip-bad-files")) train.set("skip_bad_files", true);
  if (!args.on("data") && !args.on("dataset")) return;
  train.set("data", args.on("data") ? args.str("data") : "");
  train.set("dataset", args.on("dataset") ? args.str("dataset") : "auto");
}

ArgParser eval_parser() {
  return with_test_data_flags(
             ArgParser("cf eval",
                       "Evaluates a checkpoint: test loss, accuracy and accuracy per class.")
                 .option("checkpoint", "FILE", "a .safetensors checkpoint written by cf train"),
             "test data (default: the data set the run was trained on)", "the model's size")
      .option("batch-size", "N", "images per forward pass", "256")
      .option("corruptions", "DIR", "also evaluate on CIFAR-10-C in DIR (official layout)")
      .option("report", "FILE", "write the CIFAR-10-C results as CSV (default: robustness.csv beside the checkpoint)")
      .option("baseline", "FILE", "a baseline's robustness CSV: adds accuracy by difficulty decile");
}

int eval_command(const std::vector<std::string>& argv, std::ostream& out) {
  const ArgParser parser = eval_parser();
  const Args args = parser.parse(argv);
  if (args.help) return out << parser.usage(), 0;
  CF_CHECK(args.has("checkpoint"), "eval: --checkpoint FILE is required");
  CF_CHECK(args.has("corruptions") || !args.has("report"),
           "eval: --report needs --corruptions DIR");
  CF_CHECK(args.has("corruptions") || !args.has("baseline"),
           "eval: --baseline needs --corruptions DIR");
  const int64_t batch_size = args.integer("batch-size");
  CF_CHECK(batch_size >= 1, "eval: --batch-size " << batch_size << " must be >= 1");
  const std::string file = args.str("checkpoint");
  CF_CHECK(fs::exists(file), "eval: checkpoint " << file << " does not exist");
  const Safetensors st = load_safetensors(file);
  auto config = st.metadata.find("run_config");
  CF_CHECK(config != st.metadata.end(),
           "eval: " << file << " has no run config in its metadata (not written by cf train?)");
  RunConfig run = split_run_config(Config::parse(config->second, file), file);
  choose_test_data(args, run.train);
  std::unique_ptr<Model> model = load_run_model(st, run, file);
  auto test = load_test_data(run.train, model_image_size(run), out);
  fit_model_to_data(run, *test);
  const EvalResult r = evaluate(*model, *test, batch_size);
  char line[160];
  std::snprintf(line, sizeof line, "%s on %lld test images: loss %.4f, accuracy %.2f%%\n",
                run.model.c_str(), (long long)r.images, r.loss, 100 * r.accuracy);
  out << line << class_accuracy_table(r, test->classes);
  if (!args.has("corruptions")) return 0;
  out << "CIFAR-10-C in " << args.str("corruptions") << " (accuracy at severities 1..5):\n";
  const std::vector<CorruptionResult> c =
      evaluate_corruptions(*model, args.str("corruptions"), batch_size, model_image_size(run),
                           test->num_classes(), run.train.get_bool("resize"), out);
  out << robustness_table(c);
  const std::string report = args.has("report")
                                 ? args.str("report")
                                 : (fs::path(file).parent_path() / "robustness.csv").string();
  write_robustness_csv(report, c);
  out << "Wrote " << report << '\n';
  if (args.has("baseline"))
    out << "Accuracy by difficulty (pairs binned by the baseline's accuracy, hardest first):\n"
        << difficulty_table(c, read_robustness_csv(args.str("baseline")));
  return 0;
}

ArgParser corrupt_parser() {
  return with_test_data_flags(
             ArgParser("cf corrupt",
                       "Writes CIFAR-10-C for a test set: every corruption at severities 1..5, as\n"
                       "<corruption>.npy and labels.npy in the official layout."),
             "the clean data (CIFAR-10 binary folder or image folders); its test split is used",
             "32x32")
      .option("out", "DIR", "output folder")
      .option("corruptions", "LIST",
              "comma-separated names (default: the 15 benchmark and 4 extra)")
      .option("limit", "N", "only the first N test images (0: all)", "0")
      .option("seed", "N", "seed of the random corruptions", "0");
}

int corrupt_command(const std::vector<std::string>& argv, std::ostream& out) {
  const ArgParser parser = corrupt_parser();
  const Args args = parser.parse(argv);
  if (args.help) return out << parser.usage(), 0;
  CF_CHECK(args.has("out"), "corrupt: --out DIR is required");
  CF_CHECK(args.integer("limit") >= 0,
           "corrupt: --limit " << args.integer("limit") << " must be >= 0 (0: all images)");
  const std::vector<std::string> known = data::all_corruptions();
  std::vector<std::string> names = known;
  if (args.has("corruptions")) {
    names.clear();
    std::stringstream list(args.str("corruptions"));
    for (std::string name; std::getline(list, name, ',');) {
      name = trim(name);
      const std::string near = closest_match(name, known);
      CF_CHECK(std::find(known.begin(), known.end(), name) != known.end(),
               "corrupt: unknown corruption '"
                   << name << "'" << (near.empty() ? "" : " (did you mean " + near + "?)"));
      names.push_back(name);
    }
    CF_CHECK(!names.empty(), "corrupt: --corruptions names no corruption");
  }
  Config t = train_defaults();
  choose_test_data(args, t);
  t.set("test_limit", args.integer("limit"));
  auto test = load_test_data(t, 32, out);  // CIFAR-10-C's size
  out << "Corrupting " << test->n << " test images into " << args.str("out") << ":\n";
  data::write_cifar10c(*test, args.str("out"), uint64_t(args.integer("seed")), names,
                       [&](const std::string& name) { out << "  " << name << '\n' << std::flush; });
  return 0;
}

ArgParser inspect_parser() {
  return with_test_data_flags(
             ArgParser("cf inspect",
                       "Runs one test image through a checkpoint and writes each block's "
                       "attention\nmaps as PNG files (row: query token, column: key token; "
                       "brighter: more).")
                 .option("checkpoint", "FILE", "a .safetensors checkpoint written by cf train")
                 .option("out", "DIR", "output folder")
                 .option("image", "N", "which test image: its place in the test set, from 0", "0"),
             "test data (default: the run's)", "the model's size");
}

int inspect_command(const std::vector<std::string>& argv, std::ostream& out) {
  const ArgParser parser = inspect_parser();
  const Args args = parser.parse(argv);
  if (args.help) return out << parser.usage(), 0;
  CF_CHECK(args.has("checkpoint") && args.has("out"), "inspect: --checkpoint FILE and --out DIR are required");
  const std::string file = args.str("checkpoint");
  CF_CHECK(fs::exists(file), "inspect: checkpoint " << file << " does not exist");
  const Safetensors st = load_safetensors(file);
  auto config = st.metadata.find("run_config");
  CF_CHECK(config != st.metadata.end(), "inspect: " << file << " has no run config in its metadata");
  RunConfig run = split_run_config(Config::parse(config->second, file), file);
  choose_test_data(args, run.train);
  const int64_t index = args.integer("image");
  CF_CHECK(index >= 0, "inspect: --image " << index << " must be >= 0");
  // Only the images up to the one shown are read (CIFAR's file is read
  // whole) and resampled.
  const int64_t limit = run.train.get_int("test_limit");
  if (index < std::numeric_limits<int64_t>::max() && (limit == 0 || limit > index + 1))
    run.train.set("test_limit", index + 1);
  std::unique_ptr<Model> model = load_run_model(st, run, file);
  auto test = load_test_data(run.train, model_image_size(run), out);
  fit_model_to_data(run, *test);
  CF_CHECK(index < test->n, "inspect: --image " << index << " is not in [0, " << test->n << ")");
  data::LoaderOptions options;
  options.batch_size = 1;
  options.shuffle = false;
  options.prefetch = false;
  const data::Batch batch = data::make_batch(*test, {index}, options, 0);
  NoGradGuard no_grad;
  model->eval();
  keep_attention_maps(*model);
  const Tensor logits = model->forward(batch.images);
  const std::vector<std::string> written = write_attention_pngs(model->attention_maps(), 0, args.str("out"));
  out << "Image " << index << " (" << test->classes[size_t(batch.labels[0])] << "): wrote "
      << written.size() << " attention maps to " << args.str("out") << '\n';
  // Models on a cortical sheet: the maps laid out on it, and the wiring cost.
  if (const auto* columnformer = dynamic_cast<const VisionColumnformer*>(model.get()))
    if (const Geometry* geometry = columnformer->geometry()) {
      const auto sheets = write_sheet_pngs(model->attention_maps(), *geometry, 0, args.str("out"));
      out << "Wrote " << sheets.size() << " maps laid out on the sheet (sheet_block*.png).\n"
          << "Wiring cost per block:";
      for (float cost : columnformer->wiring_costs()) out << ' ' << cost;
      out << '\n';
    }
  return 0;
}

}  // namespace

int run_cli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err,
            bool terminal) {
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    out << kOverview;
    return args.empty() ? 2 : 0;
  }
  const std::string command = args[0];
  const std::vector<std::string> rest(args.begin() + 1, args.end());
  try {
    if (command == "models") return models_command(rest, out);
    if (command == "info") return info_command(rest, out);
    if (command == "train") return train_command(rest, out, terminal);
    if (command == "eval") return eval_command(rest, out);
    if (command == "corrupt") return corrupt_command(rest, out);
    if (command == "inspect") return inspect_command(rest, out);
    const std::string near =
        closest_match(command, {"models", "info", "train", "eval", "corrupt", "inspect"});
    err << "cf: unknown command '" << command << "'"
        << (near.empty() ? "" : " (did you mean " + near + "?)") << "\n\n" << kOverview;
    return 2;
  } catch (const std::exception& e) {
    // The flag parser's messages already start with "cf <command>: ".
    const std::string prefix = "cf " + command + ": ", message = e.what();
    err << (message.rfind(prefix, 0) == 0 ? "" : prefix) << message << '\n';
    return 1;
  }
}

}  // namespace cf
