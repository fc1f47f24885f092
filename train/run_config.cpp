#include "train/run_config.h"

#include <algorithm>
#include <limits>
#include <sstream>
#include <tuple>

#include "autograd/error.h"
#include "nn/registry.h"
#include "train/schedule.h"

namespace cf {

const Config& train_defaults() {
  static const Config defaults = [] {
    Config c;
    c.define("dataset", "auto", "auto | cifar10 | cifar100 | folder | synthetic")
        .define("data", "",
                "data folder (cifar-10-batches-bin, cifar-100-binary, or a folder with train/ and "
                "test/)")
        .define("cifar100_labels", "fine", "fine | coarse (CIFAR-100)")
        .define("resize", false, "resample images of another size than the model's image_size")
        .define("skip_bad_files", false, "image folders: skip unreadable files with a warning")
        .define("train_limit", 0, "use only the first N training images (0: all)")
        .define("test_limit", 0, "use only the first N test images (0: all)")
        .define("synthetic_train", 5000, "training images of the synthetic set")
        .define("synthetic_test", 1000, "test images of the synthetic set")
        .define("epochs", 10, "passes over the training set")
        .define("batch_size", 128, "images per step")
        .define("optimizer", "adamw", "adamw | adam | sgd")
        .define("lr", 5e-4, "peak learning rate")
        .define("min_lr", 1e-5, "final learning rate of the cosine schedule")
        .define("schedule", "cosine", "constant | step | cosine (per step)")
        .define("warmup", 0.1, "linear warmup, as a fraction of all steps")
        .define("step_epochs", 30.0, "step schedule: decay every this many epochs")
        .define("gamma", 0.1, "step schedule: decay factor")
        .define("weight_decay", 0.03, "decoupled (adamw) or L2 (adam, sgd) weight decay")
        .define("decay_all", false,
                "also decay biases, norms, position embeddings, attention biases")
        .define("momentum", 0.9, "sgd momentum")
        .define("nesterov", false, "sgd: Nesterov momentum")
        .define("beta1", 0.9, "adam(w) beta1")
        .define("beta2", 0.999, "adam(w) beta2")
        .define("label_smoothing", 0.1, "cross-entropy label smoothing")
        .define("clip_grad_norm", 0.0, "clip gradients to this global norm (0: off)")
        .define("augment", true, "random crop (pad 4) and horizontal flip")
        .define("cutout", 0, "cutout square size in pixels (0: off)")
        .define("mixup", 0.0, "mixup alpha (0: off)")
        .define("cutmix", 0.0, "cutmix alpha (0: off; with mixup, alternate per step)")
        .define("seed", 0, "seed of initialisation, data order, augmentation and dropout")
        .define("threads", 0, "worker threads (0: CF_NUM_THREADS or all cores)")
        .define("check_finite", false,
                "stop at the first op that produces NaN or inf, naming it (slower)")
        .define("eval_every", 1, "evaluate on the test set every N epochs (and at the end)");
    return c;
  }();
  return defaults;
}

RunConfig split_run_config(const Config& combined, const std::string& source) {
  RunConfig run;
  Config train;
  for (const std::string& key : combined.keys()) {
    const std::string& value = combined.get_string(key);
    if (key == "model")
      run.model = value;
    else if (train_defaults().has(key))
      train.set(key, value);
    else
      run.model_config.set(key, value);
  }
  run.train = train.resolved_against(train_defaults(), source);
  CF_CHECK(!run.model.empty(), source << ": no model given (--model NAME; cf models lists them)");
  return run;
}

Config join_run_config(const RunConfig& run) {
  Config c;
  c.set("model", run.model);
  for (const Config* part : {&run.train, &run.model_config})
    for (const std::string& key : part->keys()) c.set(key, part->get_string(key));
  return c;
}

namespace {

// The training keys that take one of a few names, and the names.
const std::pair<const char*, std::vector<std::string>> kChoices[] = {
    {"dataset", {"auto", "cifar10", "cifar100", "folder", "synthetic"}},
    {"cifar100_labels", {"fine", "coarse"}},
    {"optimizer", {"adamw", "adam", "sgd"}}};

}  // namespace

void check_choice(const Config& train, const std::string& key) {
  for (const auto& [name, values] : kChoices) {
    if (key != name) continue;
    const std::string value = train.get_string(key);
    if (std::find(values.begin(), values.end(), value) != values.end()) return;
    std::string list;
    for (size_t i = 0; i < values.size(); ++i)
      list += (i == 0 ? "" : i + 1 == values.size() ? " or " : ", ") + values[i];
    throw Error(key + ": unknown value '" + value + "' (use " + list + ")");
  }
  throw Error("check_choice: '" + key + "' is not a training key with named values");
}

void check_train_keys(const Config& t) {
  for (const auto& choice : kChoices) check_choice(t, choice.first);
  Schedule::parse_kind(t.get_string("schedule"));
  for (const std::string& key : train_defaults().keys()) {
    const std::string& value = train_defaults().get_string(key);
    if (value == "true" || value == "false") t.get_bool(key);
  }
  const double inf = std::numeric_limits<double>::infinity();
  // [lo, hi], with either end open on request.
  const auto check = [&](const char* key, double lo, double hi, bool open_low = false,
                         bool open_high = false) {
    const double v = t.get_float(key);
    if ((open_low ? v > lo : v >= lo) && (open_high ? v < hi : v <= hi)) return;
    std::ostringstream range;
    if (hi == inf)
      range << (open_low ? "> " : ">= ") << lo;
    else
      range << "in " << (open_low ? "(" : "[") << lo << ", " << hi << (open_high ? ")" : "]");
    throw Error(std::string(key) + " = " + t.get_string(key) + " must be " + range.str());
  };
  t.get_int("seed");
  for (const char* key : {"train_limit", "test_limit", "threads", "cutout"}) {
    t.get_int(key);
    check(key, 0, inf);
  }
  check("threads", 0, 4096);
  for (const char* key :
       {"synthetic_train", "synthetic_test", "epochs", "batch_size", "eval_every"}) {
    t.get_int(key);
    check(key, 1, inf);
  }
  for (const char* key : {"clip_grad_norm", "mixup", "cutmix", "weight_decay", "momentum"})
    check(key, 0, inf);
  check("lr", 0, inf);
  check("min_lr", 0, inf);
  CF_CHECK(t.get_string("schedule") != "cosine" || t.get_float("min_lr") <= t.get_float("lr"),
           "min_lr = " << t.get_string("min_lr") << " must not exceed lr = " << t.get_string("lr")
                       << " (the cosine schedule falls from lr to min_lr)");
  check("warmup", 0, 1);
  check("step_epochs", 0, inf, true);
  check("gamma", 0, 1, true);
  for (const char* key : {"label_smoothing", "beta1", "beta2"}) check(key, 0, 1, false, true);
}

std::vector<std::string> unused_train_keys(const Config& t, const std::string& dataset) {
  const std::string optimizer = t.get_string("optimizer"), schedule = t.get_string("schedule");
  // Each key with the setting that uses it, and whether the run has it.
  const std::tuple<const char*, std::string, bool> uses[] = {
      {"momentum", "optimizer = sgd", optimizer == "sgd"},
      {"nesterov", "optimizer = sgd", optimizer == "sgd"},
      {"beta1", "optimizer = adamw or adam", optimizer != "sgd"},
      {"beta2", "optimizer = adamw or adam", optimizer != "sgd"},
      {"min_lr", "schedule = cosine", schedule == "cosine"},
      {"step_epochs", "schedule = step", schedule == "step"},
      {"gamma", "schedule = step", schedule == "step"},
      {"cifar100_labels", "CIFAR-100", dataset == "cifar100"},
      {"synthetic_train", "the synthetic set", dataset == "synthetic"},
      {"synthetic_test", "the synthetic set", dataset == "synthetic"},
      {"skip_bad_files", "image folders", dataset == "folder"}};
  // Compared as values: momentum = 0.90 or nesterov = 0 is the default.
  std::vector<std::string> unused;
  for (const auto& [key, user, used] : uses)
    if (!used && !same_value(t.get_string(key), train_defaults().get_string(key)))
      unused.push_back(std::string(key) + " = " + t.get_string(key) + " is unused: only " + user +
                       " reads it");
  return unused;
}

void check_model_keys(const RunConfig& run) {
  const Config& model_keys = model_info(run.model).defaults;
  for (const std::string& key : run.model_config.keys()) {
    if (model_keys.has(key)) continue;
    std::vector<std::string> known = model_keys.keys();
    for (const std::string& k : train_defaults().keys()) known.push_back(k);
    const std::string near = closest_match(key, known);
    throw Error("unknown key \"" + key + "\": not a training key nor a key of model " + run.model +
                (near.empty() ? "" : " (did you mean \"" + near + "\"?)") + "; `cf models " +
                run.model + "` lists the model's keys, docs/TRAINING.md the training keys");
  }
}

}  // namespace cf
