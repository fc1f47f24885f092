#include "train/trainer.h"

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <optional>
#include <ostream>
#include <sstream>

#include "autograd/error.h"
#include "autograd/graph.h"
#include "autograd/kernels/cpu.h"
#include "autograd/kernels/threads.h"
#include "autograd/ops.h"
#include "autograd/version.h"
#include "data/atomic_file.h"
#include "data/loader.h"
#include "data/mixing.h"
#include "nn/registry.h"
#include "train/crc32.h"
#include "train/data_source.h"
#include "train/evaluate.h"
#include "train/grad_clip.h"
#include "train/json.h"
#include "train/optim.h"
#include "train/plot.h"
#include "train/progress.h"
#include "train/safetensors.h"
#include "train/schedule.h"

namespace cf {

namespace fs = std::filesystem;

namespace {

std::atomic<bool> g_stop{false}, g_training{false};

// Marks a train() call as running for request_stop(), until it returns or throws.
struct TrainingFlag {
  TrainingFlag() { g_training = true; }
  ~TrainingFlag() { g_training = false; }
};

// The epoch in progress's running figures, for its row of the logs.
struct EpochSums {
  double loss = 0, correct = 0, seen = 0;  // task loss x images, right answers, images
  int64_t batches = 0;
  std::map<std::string, double> aux;  // each auxiliary loss and diagnostic, summed over batches
};

// What the run has done so far: saved in last.safetensors's metadata, the
// epoch's running sums included, so a resumed epoch logs what an
// uninterrupted one would.
struct Position {
  int64_t step = 0;        // optimiser steps taken
  int64_t epoch = 0;       // the epoch in progress
  int64_t batch = 0;       // batches of that epoch already trained on
  double best_accuracy = -1;
  EpochSums sums;
};

// One epoch's figures, one row of the logs.
struct EpochLog {
  int64_t epoch = 0, step = 0;
  double lr = 0, train_loss = 0, train_accuracy = 0, test_loss = NAN, test_accuracy = NAN;
  std::map<std::string, double> aux;  // mean of each auxiliary loss and diagnostic
  double images_per_second = 0, seconds = 0;
};

std::string number(double v, int digits = 8) {
  if (!std::isfinite(v)) return "null";
  std::ostringstream os;
  os.precision(digits);
  os << v;
  return os.str();
}

// 17 digits: a double read back from the metadata is the same double.
std::string exact(double v) { return number(v, 17); }

std::string epoch_json(const EpochLog& e) {
  std::ostringstream os;
  os << "{\"event\":\"epoch\",\"epoch\":" << e.epoch << ",\"step\":" << e.step
     << ",\"lr\":" << number(e.lr) << ",\"train_loss\":" << number(e.train_loss)
     << ",\"train_accuracy\":" << number(e.train_accuracy) << ",\"test_loss\":" << number(e.test_loss)
     << ",\"test_accuracy\":" << number(e.test_accuracy);
  for (const auto& [name, v] : e.aux) os << ',' << json_quote("aux_" + name) << ':' << number(v);
  os << ",\"images_per_second\":" << number(e.images_per_second)
     << ",\"seconds\":" << number(e.seconds) << '}';
  return os.str();
}

std::string csv_header(const EpochLog& e) {
  std::string h = "epoch,step,lr,train_loss,train_accuracy,test_loss,test_accuracy";
  for (const auto& kv : e.aux) h += ",aux_" + kv.first;
  return h + ",images_per_second,seconds";
}

std::string csv_row(const EpochLog& e) {
  std::string r = std::to_string(e.epoch) + ',' + std::to_string(e.step) + ',' + number(e.lr) +
                  ',' + number(e.train_loss) + ',' + number(e.train_accuracy) + ',' +
                  number(e.test_loss) + ',' + number(e.test_accuracy);
  for (const auto& kv : e.aux) r += ',' + number(kv.second);
  return r + ',' + number(e.images_per_second) + ',' + number(e.seconds);
}

void append_line(const fs::path& path, const std::string& line) {
  std::ofstream f(path, std::ios::app);
  f << line << '\n';
  CF_CHECK(f.good(), "train: cannot write " << path.string());
}

// Reads the per-epoch history back from log.csv (for the curves after a
// resume, and a sweep's figures): columns found by their header names.
std::vector<EpochLog> read_history(const fs::path& path) {
  std::vector<EpochLog> history;
  std::ifstream f(path);
  std::string line;
  auto split = [](const std::string& text) {
    std::vector<std::string> cells;
    std::stringstream ss(text);
    for (std::string cell; std::getline(ss, cell, ',');) cells.push_back(cell);
    return cells;
  };
  if (!std::getline(f, line)) return history;
  const std::vector<std::string> header = split(line);
  while (std::getline(f, line)) {
    const std::vector<std::string> cells = split(line);
    auto column = [&](const char* name) {
      for (size_t i = 0; i < header.size() && i < cells.size(); ++i)
        if (header[i] == name) return cells[i] == "null" ? NAN : std::strtod(cells[i].c_str(), nullptr);
      return double(NAN);
    };
    EpochLog e;
    e.epoch = int64_t(column("epoch"));
    e.train_loss = column("train_loss");
    e.train_accuracy = column("train_accuracy");
    e.test_loss = column("test_loss");
    e.test_accuracy = column("test_accuracy");
    e.images_per_second = column("images_per_second");
    e.seconds = column("seconds");
    history.push_back(e);
  }
  return history;
}

// An epoch is logged before its checkpoint is written, so a run stopped
// between the two has logged an epoch that its checkpoint does not hold,
// and that the resumed run trains and logs again: its lines go, and so does
// a last line cut short (without its line end) when the run stopped.
void drop_epochs_after(const fs::path& dir, int64_t epochs_done) {
  for (const char* name : {"log.csv", "log.jsonl"}) {
    const fs::path path = dir / name;
    const bool csv = path.extension() == ".csv";
    std::ifstream in(path);
    std::string kept, line;
    bool dropped = false;
    for (int64_t number = 1; std::getline(in, line); ++number) {
      bool later = in.eof();
      if (!later && csv && number > 1) {
        later = std::strtoll(line.c_str(), nullptr, 10) > epochs_done;
      } else if (!later && !csv) {
        try {
          const Json event = parse_json(line);
          const Json *kind = event.find("event"), *epoch = event.find("epoch");
          later = kind && kind->string == "epoch" && epoch && epoch->as_number() > epochs_done;
        } catch (const Error& e) {
          throw Error("resume: " + path.string() + ": line " + std::to_string(number) + ": " +
                      e.what());
        }
      }
      dropped = dropped || later;
      if (!later) kept += line + '\n';
    }
    if (!dropped) continue;
    if (kept.empty())  // a log.csv cut in its header goes, to be written anew
      fs::remove(path);
    else
      data::write_atomically(path.string(), {kept}, "resume");
  }
}

void write_curves(const fs::path& path, const std::vector<EpochLog>& history) {
  Panel loss{"loss", {{"train", {}}, {"test", {}}}}, acc{"accuracy", {{"train", {}}, {"test", {}}}};
  for (const EpochLog& e : history) {
    loss.series[0].y.push_back(e.train_loss);
    loss.series[1].y.push_back(e.test_loss);
    acc.series[0].y.push_back(e.train_accuracy);
    acc.series[1].y.push_back(e.test_accuracy);
  }
  const std::string tmp = path.string() + ".tmp";
  {
    std::ofstream f(tmp);
    f << curves_svg({loss, acc});
    CF_CHECK(f.good(), "train: cannot write " << tmp);
  }
  fs::rename(tmp, path);
}

std::unique_ptr<Optimizer> make_optimizer(const Config& t, const Model& model) {
  check_choice(t, "optimizer");
  const std::string kind = t.get_string("optimizer");
  auto groups =
      weight_decay_groups(model, float(t.get_float("weight_decay")), t.get_bool("decay_all"));
  const float lr = float(t.get_float("lr"));
  if (kind == "adamw")
    return std::make_unique<AdamW>(std::move(groups), lr, float(t.get_float("beta1")),
                                   float(t.get_float("beta2")));
  if (kind == "adam")
    return std::make_unique<Adam>(std::move(groups), lr, float(t.get_float("beta1")),
                                  float(t.get_float("beta2")));
  return std::make_unique<SGD>(std::move(groups), lr, float(t.get_float("momentum")),
                               t.get_bool("nesterov"));  // kind == "sgd"
}

Metadata position_metadata(const RunConfig& run, const Position& p) {
  Metadata m = {{"run_config", join_run_config(run).to_string()},
                {"step", std::to_string(p.step)},
                {"epoch", std::to_string(p.epoch)},
                {"batch", std::to_string(p.batch)},
                {"best_accuracy", exact(p.best_accuracy)},
                {"epoch_loss", exact(p.sums.loss)},
                {"epoch_correct", exact(p.sums.correct)},
                {"epoch_seen", exact(p.sums.seen)},
                {"epoch_batches", std::to_string(p.sums.batches)},
                {"version", version()},
                {"kernel_path", kernels::simd_path_name(kernels::simd_path())},
                {"threads", std::to_string(kernels::num_threads())},
                // Image folders take their classes in turn since 32aa5d8;
                // checkpoints say so since 1c4b42a.
                {"image_folder_order", "classes in turn"}};
  for (const auto& [name, sum] : p.sums.aux) m["epoch_aux." + name] = exact(sum);
  return m;
}

// The optimiser keeps its state by group and position, so a checkpoint's
// state fits only the same split into groups. These are the names weight
// decay spares (none with decay_all); `before_8a12e0e` gives the rule of
// checkpoints written before that commit, which hold no checksum of them:
// the parameters of at most one axis and four names.
std::vector<std::string> spared_names(const Model& model, const Config& t, bool before_8a12e0e) {
  if (t.get_bool("decay_all")) return {};
  if (!before_8a12e0e) return model.no_weight_decay();
  std::vector<std::string> spared;
  for (const auto& [name, param] : model.named_parameters()) {
    bool named = false;
    std::istringstream parts(name);
    for (std::string part; std::getline(parts, part, '.');)
      for (const char* exempt : {"pos_embed", "cls_token", "attn_bias", "head_bias"})
        named = named || part == exempt;
    if (param.dim() <= 1 || named) spared.push_back(name);
  }
  return spared;
}

std::string checksum(const std::vector<std::string>& names) {
  std::string joined;
  for (const std::string& name : names) joined += name + ",";
  char hex[9];
  std::snprintf(hex, sizeof hex, "%08x", unsigned(crc32(joined.data(), joined.size())));
  return hex;
}

// A resume whose groups differ would pair moments with other parameters of
// the same shape.
void check_optimizer_groups(const Metadata& meta, const Model& model, const Config& t,
                            const std::string& file) {
  const auto it = meta.find("no_weight_decay_crc32");
  const std::string saved = it != meta.end() ? it->second : checksum(spared_names(model, t, true));
  CF_CHECK(saved == checksum(spared_names(model, t, false)),
           "resume: the optimiser state in "
               << file
               << " was saved for other parameter groups than this version makes (weight decay "
                  "spares this model's multi-axis norms, biases and positions since commit "
                  "8a12e0e); start the run again, or evaluate its checkpoints");
}

// last.safetensors: the model's tensors under their own names (so any
// safetensors reader sees the weights) and the optimiser's under kOptimizerPrefix.
void save_last(const fs::path& path, const RunConfig& run, const Model& model,
               const Optimizer& optimizer, const Position& p) {
  NamedTensors tensors = model.state_dict();
  for (auto& [name, t] : optimizer.state_dict()) tensors.emplace_back(kOptimizerPrefix + name, t);
  Metadata meta = position_metadata(run, p);
  meta["model"] = run.model;
  meta["config"] = model.config().to_string();
  meta["format"] = "pt";
  meta["no_weight_decay_crc32"] = checksum(spared_names(model, run.train, false));
  save_safetensors(path.string(), tensors, meta);
}

// A number of the metadata, read whole: "12abc" or "" is an error naming the
// file and the key, as is a value outside [lo, hi].
double meta_number(const Metadata& m, const std::string& key, const std::string& file, double lo,
                   double hi) {
  auto it = m.find(key);
  CF_CHECK(it != m.end(), "resume: " << file << " has no '" << key << "' in its metadata");
  const std::optional<double> v = parse_number(it->second);
  CF_CHECK(v && *v >= lo && *v <= hi, "resume: " << file << ": metadata " << key << " = '"
                                                 << it->second << "' is not a number in [" << lo
                                                 << ", " << hi << "]");
  return *v;
}

int64_t meta_int(const Metadata& m, const std::string& key, const std::string& file, int64_t hi) {
  const double v = meta_number(m, key, file, 0, double(hi));
  CF_CHECK(v == std::floor(v), "resume: " << file << ": metadata " << key << " = " << m.at(key)
                                          << " is not a whole number");
  return int64_t(v);
}

// Where the checkpoint `file` left the run, checked against the run's length.
Position read_position(const Metadata& m, const std::string& file, int64_t epochs,
                       int64_t steps_per_epoch) {
  const double inf = std::numeric_limits<double>::infinity();
  Position p;
  p.step = meta_int(m, "step", file, epochs * steps_per_epoch);
  p.epoch = meta_int(m, "epoch", file, epochs);
  p.batch = meta_int(m, "batch", file, steps_per_epoch);
  const auto best = m.find("best_accuracy");
  p.best_accuracy =
      best != m.end() && best->second == "null" ? -1 : meta_number(m, "best_accuracy", file, -1, 1);
  if (!m.count("epoch_seen")) return p;  // written before the sums were saved
  p.sums.loss = meta_number(m, "epoch_loss", file, 0, inf);
  p.sums.correct = meta_number(m, "epoch_correct", file, 0, inf);
  p.sums.seen = meta_number(m, "epoch_seen", file, 0, inf);
  p.sums.batches = meta_int(m, "epoch_batches", file, steps_per_epoch);
  const std::string aux = "epoch_aux.";
  for (const auto& [key, value] : m)
    if (key.rfind(aux, 0) == 0)
      p.sums.aux[key.substr(aux.size())] = meta_number(m, key, file, -inf, inf);
  return p;
}

}  // namespace

// The model's keys that follow from the data (classes, channels) and from
// the run (seed), unless the user set them; a contradiction is an error.
Config fit_model_to_data(const RunConfig& run, const data::ImageSet& set) {
  const Config& defaults = model_info(run.model).defaults;
  Config c = run.model_config;
  auto fit = [&](const char* key, int64_t value, const char* what) {
    if (!defaults.has(key)) return;
    if (!c.has(key)) {
      c.set(key, value);
      return;
    }
    CF_CHECK(c.get_int(key) == value, "model " << run.model << ": " << key << " = "
                                               << c.get_string(key) << " but the data has " << value
                                               << ' ' << what);
  };
  fit("num_classes", set.num_classes(), "classes");
  fit("in_channels", set.c, "channels");
  CF_CHECK(set.h == set.w,
           "train: images are " << set.h << "x" << set.w << "; models take square images");
  // The image size is the model's, its default included: a model of
  // 224-pixel images is not silently rebuilt for 32-pixel ones.
  if (defaults.has("image_size")) {
    const int64_t side = model_image_size(run);
    CF_CHECK(set.h == side, "model " << run.model << ": image_size = " << side
                                     << " but the data has " << set.h << "x" << set.w
                                     << " images (set image_size = " << set.h
                                     << ", or resize = true to resample them)");
    c.set("image_size", side);
  }
  if (defaults.has("seed") && !c.has("seed")) c.set("seed", run.train.get_int("seed"));
  return c;
}

int64_t model_image_size(const RunConfig& run) {
  const Config& defaults = model_info(run.model).defaults;
  if (!defaults.has("image_size")) return 32;
  const Config& c = run.model_config.has("image_size") ? run.model_config : defaults;
  const int64_t side = c.get_int("image_size");
  CF_CHECK(side >= 1, "model " << run.model << ": image_size = " << side << " must be >= 1");
  return side;
}

bool request_stop() {
  if (!g_training) return false;
  g_stop = true;
  return true;
}

std::unique_ptr<Model> load_run_model(const Safetensors& checkpoint, const RunConfig& run,
                                      const std::string& file) {
  try {  // a model no longer registered, or tensors that do not fit it
    std::unique_ptr<Model> model = build_model(run.model, run.model_config);
    model->load_state_dict(split_optimizer_state(checkpoint.tensors).first);
    return model;
  } catch (const Error& e) {
    throw Error(file + ": " + e.what());
  }
}

namespace {

// What a run writes in its folder.
const char* const kRunFiles[] = {"config.txt", "log.jsonl",        "log.csv",
                                 "curves.svg", "last.safetensors", "best.safetensors"};

// A new run's folder: refused if it holds another run, unless overwriting.
void check_run_folder(const fs::path& dir, bool overwrite) {
  CF_CHECK(overwrite || !holds_run(dir.string()),
           "train: " << dir.string() << " already holds a run"
                     << (fs::exists(dir / "last.safetensors")
                             ? "; --resume " + dir.string() + " continues it if it did not finish,"
                             : ";")
                     << " --overwrite starts it again, or choose another --out");
}

// Whether `dir` is a folder or can be made one: the deepest part of its path
// that exists must be a folder. Checked before the data is read, which can
// take a while, though the folder is made only after.
void check_can_make_folder(const fs::path& dir) {
  fs::path p = fs::absolute(dir);
  while (!fs::exists(p) && p.has_relative_path()) p = p.parent_path();
  CF_CHECK(fs::is_directory(p), "train: cannot create the output folder "
                                    << dir.string() << ": " << p.string() << " is not a folder");
}

std::string last_checkpoint(const std::string& out_dir) {
  const std::string file = (fs::path(out_dir) / "last.safetensors").string();
  CF_CHECK(fs::exists(file), "resume: no checkpoint " << file);
  return file;
}

RunConfig stored_run_config(const Safetensors& st, const std::string& file) {
  auto it = st.metadata.find("run_config");
  CF_CHECK(it != st.metadata.end(), "resume: " << file << " has no run_config in its metadata");
  return split_run_config(Config::parse(it->second, file), file);
}

}  // namespace

bool holds_run(const std::string& dir) {
  for (const char* name : kRunFiles)
    if (fs::exists(fs::path(dir) / name)) return true;
  return false;
}

RunConfig read_run_config(const std::string& out_dir) {
  const std::string file = last_checkpoint(out_dir);
  const Safetensors st = load_safetensors(file);
  return stored_run_config(st, file);
}

RunRecord read_run_record(const std::string& out_dir) {
  const std::string file = last_checkpoint(out_dir);
  const Safetensors st = load_safetensors(file);
  RunRecord record;
  record.run = stored_run_config(st, file);
  const int64_t epochs = record.run.train.get_int("epochs");
  record.epochs = epochs;
  const int64_t done = meta_int(st.metadata, "epoch", file, epochs);
  record.finished = done == epochs;
  // A log row past the checkpoint's epochs is one the run logged and then
  // stopped before its checkpoint: a resume trains that epoch again.
  for (const EpochLog& e : read_history(fs::path(out_dir) / "log.csv")) {
    if (e.epoch > done) break;
    record.epochs_logged = e.epoch;
    record.final_accuracy = e.test_accuracy;
    record.images += e.images_per_second * e.seconds;
    record.seconds += e.seconds;
  }
  return record;
}

TrainResult train(const TrainOptions& options, std::ostream& out) {
  g_stop = false;
  const TrainingFlag training;
  RunConfig run = options.run;
  const Config& t = run.train;
  check_train_keys(t);
  check_model_keys(run);
  const fs::path dir = options.out_dir;
  if (!options.resume) check_run_folder(dir, options.overwrite);
  check_can_make_folder(dir);
  if (t.get_int("threads") > 0) kernels::set_num_threads(int(t.get_int("threads")));
  if (t.get_bool("check_finite")) set_check_finite(true);

  DataSplits data = load_data(t, model_image_size(run), out);
  for (const std::string& note : unused_train_keys(t, data.dataset))
    out << "Note: " << note << ".\n";
  if (!options.resume) run.train.set("dataset", data.dataset).set("data", data.dir);
  run.model_config = fit_model_to_data(run, *data.train);
  std::unique_ptr<Model> model = build_model(run.model, run.model_config);
  std::unique_ptr<Optimizer> optimizer = make_optimizer(t, *model);

  const int64_t epochs = t.get_int("epochs"), batch_size = t.get_int("batch_size");
  data::LoaderOptions lo;
  lo.batch_size = batch_size;
  lo.drop_last = data.train->n >= batch_size;
  lo.seed = uint64_t(t.get_int("seed"));
  if (t.get_bool("augment")) {
    lo.augment.crop_padding = 4;
    lo.augment.horizontal_flip = true;
  }
  lo.augment.cutout_size = t.get_int("cutout");
  data::Loader loader(data.train, lo);
  const int64_t steps_per_epoch = loader.batches_per_epoch();

  Schedule schedule;
  schedule.kind = Schedule::parse_kind(t.get_string("schedule"));
  schedule.lr = float(t.get_float("lr"));
  schedule.min_lr = float(t.get_float("min_lr"));
  schedule.total = epochs * steps_per_epoch;
  schedule.warmup = int64_t(std::llround(t.get_float("warmup") * double(schedule.total)));
  schedule.step_size = std::max<int64_t>(1, int64_t(std::llround(t.get_float("step_epochs") * double(steps_per_epoch))));
  schedule.gamma = float(t.get_float("gamma"));

  const fs::path last = dir / "last.safetensors", best = dir / "best.safetensors";
  Position pos;
  if (options.resume) {
    const Safetensors st = load_safetensors(last.string());
    CF_CHECK(data.dataset != "folder" || st.metadata.count("image_folder_order"),
             "resume: the run in "
                 << dir.string()
                 << " may have begun before image folders took their classes in turn (its "
                    "checkpoint does not record image_folder_order, as those of commit 1c4b42a "
                    "on do): continued now, it could draw its batches from another order. Finish "
                    "it with the commit it began with, or train it again from the start "
                    "(cf train --overwrite; in a sweep, remove its folder)");
    const auto [weights, state] = split_optimizer_state(st.tensors);
    check_optimizer_groups(st.metadata, *model, t, last.string());
    try {  // the errors name a tensor; say which file holds it
      model->load_state_dict(weights);
      optimizer->load_state_dict(state);
    } catch (const Error& e) {
      throw Error(last.string() + ": " + e.what());
    }
    pos = read_position(st.metadata, last.string(), epochs, steps_per_epoch);
    CF_CHECK(pos.epoch < epochs, "resume: the run in " << dir.string() << " is finished (epoch "
                                                       << pos.epoch << " of " << epochs
                                                       << "); nothing to train");
    drop_epochs_after(dir, pos.epoch);
    if (pos.step > 0) optimizer->lr = schedule.at(pos.step - 1);  // the last step's, for the log
    out << "Resuming " << run.model << " from " << last.string() << " at epoch " << pos.epoch + 1
        << ", step " << pos.step << ".\n";
  } else {
    // A new run starts clean: an overwritten run's files and cf eval's report
    // on its checkpoints (nothing else in the folder) go once the new run
    // has its data and model. Only then is a new folder made: a run that
    // cannot start leaves nothing behind.
    std::error_code error;
    fs::create_directories(dir, error);
    CF_CHECK(!error, "train: cannot create the output folder " << dir.string() << ": "
                                                               << error.message());
    for (const char* name : kRunFiles) fs::remove(dir / name);
    fs::remove(dir / "robustness.csv");
    std::ofstream(dir / "config.txt") << join_run_config(run).to_string();
  }
  // What reproduces the run (its config holds the seed), and where a resumed
  // run picked up: a resume may happen on another machine or kernel path.
  std::ofstream(dir / "log.jsonl", std::ios::app)
      << "{\"event\":" << json_quote(options.resume ? "resume" : "start") << ",\"step\":" << pos.step
      << ",\"version\":" << json_quote(version())
      << ",\"kernel_path\":" << json_quote(kernels::simd_path_name(kernels::simd_path()))
      << ",\"threads\":" << kernels::num_threads() << ",\"data\":" << json_quote(data.description)
      << ",\"config\":" << json_quote(join_run_config(run).to_string()) << "}\n";
  out << "Training " << run.model << " (" << model->num_parameters() << " parameters) on "
      << data.description << ": " << data.train->n << " training and " << data.test->n
      << " test images, " << epochs << " epochs of " << steps_per_epoch << " steps, "
      << kernels::num_threads() << " threads, " << kernels::simd_path_name(kernels::simd_path())
      << " kernels";
  out << ".\n";

  std::vector<EpochLog> history = read_history(dir / "log.csv");
  Progress progress(out, options.terminal);
  const float smoothing = float(t.get_float("label_smoothing"));
  const double clip = t.get_float("clip_grad_norm"), mixup_alpha = t.get_float("mixup"),
               cutmix_alpha = t.get_float("cutmix");
  const int64_t eval_every = t.get_int("eval_every");
  const auto run_start = std::chrono::steady_clock::now();
  const int64_t first_step = pos.step;
  TrainResult result;
  result.parameters = model->learnable_parameters();
  result.attention_parameters = model->attention_parameters();
  double trained_images = 0, training_seconds = 0;
  model->train();

  for (; pos.epoch < epochs; ++pos.epoch, pos.batch = 0, pos.sums = {}) {
    const auto epoch_start = std::chrono::steady_clock::now();
    loader.start_epoch(pos.epoch, pos.batch);
    EpochSums& sums = pos.sums;
    const double seen_before = sums.seen;  // by the run that was interrupted
    data::Batch batch;
    while (loader.next(batch)) {
      model->set_step(uint64_t(pos.step));
      // Mixup and cutmix alternate by step when both are on.
      const bool use_cutmix = cutmix_alpha > 0 && (mixup_alpha <= 0 || pos.step % 2 == 1);
      const bool mixing = use_cutmix || mixup_alpha > 0;
      data::MixedBatch mixed;
      if (mixing)
        mixed = use_cutmix ? data::cutmix(batch.images, batch.labels, float(cutmix_alpha), lo.seed, pos.step)
                           : data::mixup(batch.images, batch.labels, float(mixup_alpha), lo.seed, pos.step);
      Tensor logits = model->forward(mixing ? mixed.images : batch.images);
      Tensor loss = mixing ? cross_entropy(logits, mixed.labels_a, smoothing) * mixed.lambda +
                                 cross_entropy(logits, mixed.labels_b, smoothing) * (1.0f - mixed.lambda)
                           : cross_entropy(logits, batch.labels, smoothing);
      const double task_loss = loss.item();
      Tensor total = loss;
      for (const auto& [name, aux] : model->aux_losses()) {
        total = total + aux;
        sums.aux[name] += double(aux.item());
      }
      for (const auto& [name, value] : model->diagnostics()) sums.aux[name] += value;
      if (!std::isfinite(total.item()))
        throw Error("train: the loss became " + std::string(std::isnan(total.item()) ? "NaN" : "infinite") +
                    " at step " + std::to_string(pos.step) + " (epoch " + std::to_string(pos.epoch + 1) +
                    ", batch " + std::to_string(pos.batch + 1) + "); the last good checkpoint is " +
                    (fs::exists(last) ? last.string() : std::string("not written yet")) +
                    ". Try a lower --lr or clip_grad_norm; --set check_finite=true names the op that "
                    "first produces a NaN or an infinity.");
      optimizer->zero_grad();
      total.backward();
      if (clip > 0) clip_grad_norm(model->parameters(), clip);
      optimizer->lr = schedule.at(pos.step);
      optimizer->step();

      const int64_t B = logits.size(0), K = logits.size(1);
      for (int64_t b = 0; b < B; ++b) {
        const float* row = logits.data() + b * K;
        int64_t arg = 0;
        for (int64_t k = 1; k < K; ++k)
          if (row[k] > row[arg]) arg = k;
        sums.correct += arg == batch.labels[size_t(b)];
      }
      sums.loss += task_loss * double(B);
      sums.seen += double(B);
      ++sums.batches;
      ++pos.step;
      ++pos.batch;

      const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - run_start).count();
      const double rate = double(pos.step - first_step) / std::max(elapsed, 1e-9);
      progress.update({pos.epoch + 1, epochs, pos.batch, steps_per_epoch, sums.loss / sums.seen,
                       sums.correct / sums.seen, rate * double(batch_size),
                       double(epochs * steps_per_epoch - pos.step) / std::max(rate, 1e-9)});
      if (g_stop || pos.step == options.stop_after_steps) {
        save_last(last, run, *model, *optimizer, pos);
        progress.end_epoch("Interrupted at step " + std::to_string(pos.step) + "; saved " +
                           last.string() + ". Continue with: cf train --resume " + dir.string());
        result.interrupted = true;
        result.steps = pos.step;
        return result;
      }
    }

    EpochLog e;
    e.epoch = pos.epoch + 1;
    e.step = pos.step;
    e.lr = optimizer->lr;
    e.train_loss = sums.loss / sums.seen;
    e.train_accuracy = sums.correct / sums.seen;
    for (const auto& [name, s] : sums.aux) e.aux[name] = s / double(sums.batches);
    e.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - epoch_start).count();
    e.images_per_second = (sums.seen - seen_before) / std::max(e.seconds, 1e-9);
    trained_images += sums.seen - seen_before;
    training_seconds += e.seconds;
    result.images_per_second = trained_images / std::max(training_seconds, 1e-9);
    const bool evaluate_now = (pos.epoch + 1) % eval_every == 0 || pos.epoch + 1 == epochs;
    if (evaluate_now) {
      const EvalResult r = evaluate(*model, *data.test, batch_size);
      e.test_loss = r.loss;
      e.test_accuracy = r.accuracy;
      result.final_accuracy = r.accuracy;
      result.final_loss = r.loss;
      if (r.accuracy > pos.best_accuracy) {
        pos.best_accuracy = r.accuracy;
        save_checkpoint(best.string(), *model, pos.step, position_metadata(run, pos));
      }
    }
    append_line(dir / "log.jsonl", epoch_json(e));
    if (!fs::exists(dir / "log.csv")) append_line(dir / "log.csv", csv_header(e));
    append_line(dir / "log.csv", csv_row(e));
    Position next = pos;
    next.epoch += 1;
    next.batch = 0;
    next.sums = {};
    save_last(last, run, *model, *optimizer, next);
    history.push_back(e);
    write_curves(dir / "curves.svg", history);

    char summary[256];
    std::snprintf(summary, sizeof summary,
                  "epoch %lld/%lld  train loss %.4f acc %.2f%%  test loss %.4f acc %.2f%%  %.0f img/s  %s",
                  (long long)e.epoch, (long long)epochs, e.train_loss, 100 * e.train_accuracy,
                  e.test_loss, 100 * e.test_accuracy, e.images_per_second,
                  evaluate_now ? "" : "(not evaluated)");
    progress.end_epoch(summary);
    result.epochs = e.epoch;
  }
  result.steps = pos.step;
  result.best_accuracy = pos.best_accuracy;
  return result;
}

}  // namespace cf
