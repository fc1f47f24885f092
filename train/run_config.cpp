#include "train/run_config.h"

#include <limits>
#include <sstream>

#include "autograd/error.h"

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

void check_train_keys(const Config& t) {
  const double inf = std::numeric_limits<double>::infinity();
  // [lo, hi], or (lo, hi] with `open_low`.
  const auto check = [&](const char* key, double lo, double hi, bool open_low = false) {
    const double v = t.get_float(key);
    if ((open_low ? v > lo : v >= lo) && v <= hi) return;
    std::ostringstream range;
    if (hi == inf)
      range << (open_low ? "> " : ">= ") << lo;
    else
      range << "in " << (open_low ? "(" : "[") << lo << ", " << hi << "]";
    throw Error(std::string(key) + " = " + t.get_string(key) + " must be " + range.str());
  };
  for (const char* key : {"train_limit", "test_limit", "threads", "clip_grad_norm", "cutout",
                          "mixup", "cutmix", "weight_decay", "momentum"})
    check(key, 0, inf);
  for (const char* key :
       {"synthetic_train", "synthetic_test", "epochs", "batch_size", "eval_every"})
    check(key, 1, inf);
  check("lr", 0, inf);
  check("min_lr", 0, inf);
  CF_CHECK(t.get_string("schedule") != "cosine" || t.get_float("min_lr") <= t.get_float("lr"),
           "min_lr = " << t.get_string("min_lr") << " must not exceed lr = " << t.get_string("lr")
                       << " (the cosine schedule falls from lr to min_lr)");
  check("warmup", 0, 1);
  check("step_epochs", 0, inf, true);
  check("gamma", 0, 1, true);
}

}  // namespace cf
