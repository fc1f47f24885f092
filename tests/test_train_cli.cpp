#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "autograd/graph.h"
#include "data/image_io.h"
#include "data/npy.h"
#include "tests/helpers.h"
#include "tests/temp_dir.h"
#include "tests/test_data_util.h"
#include "train/cli.h"
#include "train/json.h"
#include "train/safetensors.h"
#include "train/trainer.h"

using namespace cf;
using cf::test::TempDir;
namespace fs = std::filesystem;

namespace {

struct Run {
  int code;
  std::string out, err;
};

Run cli(const std::vector<std::string>& args) {
  std::ostringstream out, err;
  int code = run_cli(args, out, err);
  return {code, out.str(), err.str()};
}

// A tiny CCT on a small synthetic set: a few seconds per run in Release.
std::vector<std::string> tiny_run(const std::string& out_dir, int epochs, int images,
                                  bool augment = false) {
  return {"train", "--model", "cct_2_3x2", "--dataset", "synthetic", "--epochs",
          std::to_string(epochs), "--batch-size", "32", "--lr", "0.003", "--out", out_dir,
          "--set", "dim=32", "--set", "heads=2", "--set", "depth=1", "--set", "conv_channels=16",
          "--set", "synthetic_train=" + std::to_string(images), "--set", "synthetic_test=256",
          "--set", "warmup=0", "--set", augment ? "augment=true" : "augment=false",
          "--set", augment ? "dropout=0.1" : "dropout=0"};
}

// An image folder split: `per_class` h x w PNGs in each of `classes`.
void write_split(const fs::path& root, const std::string& split,
                 const std::vector<std::string>& classes, int per_class, int64_t h = 32,
                 int64_t w = 32) {
  const data::ImageSet images = test::pattern_set(per_class, h, w, 1);
  for (const std::string& name : classes) {
    fs::create_directories(root / split / name);
    for (int i = 0; i < per_class; ++i)
      data::write_png((root / split / name / (std::to_string(i) + ".png")).string(),
                      images.image(i), h, w, 3);
  }
}

std::string read_text(const fs::path& p) {
  std::ifstream f(p);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

}  // namespace

TEST_CASE("cf lists models and describes one", "[train][cli]") {
  Run r = cli({"models"});
  CHECK(r.code == 0);
  CHECK(r.out.find("vit_lite_cpu") != std::string::npos);
  Run one = cli({"models", "cct_2_3x2"});
  CHECK(one.code == 0);
  CHECK(one.out.find("dim") != std::string::npos);
  Run info = cli({"info", "--model", "cct_2_3x2", "--set", "dim=32", "--set", "heads=2"});
  CHECK(info.code == 0);
  CHECK(info.out.find("attention parameters:") != std::string::npos);
  CHECK(cli({"train", "--help"}).out.find("--batch-size N") != std::string::npos);
}

TEST_CASE("cf reports bad commands, flags and keys", "[train][cli][errors]") {
  Run r = cli({"trian"});
  CHECK(r.code == 2);
  CHECK(r.err.find("unknown command 'trian' (did you mean train?)") != std::string::npos);
  r = cli({"train", "--model", "cct_2_3x2", "--epoch", "3"});
  CHECK(r.code == 1);
  CHECK(r.err.rfind("cf train: unknown flag --epoch (did you mean --epochs?)", 0) == 0);
  r = cli({"train", "--model", "cct_2_3x2", "--set", "dimm=3", "--dataset", "synthetic",
           "--set", "synthetic_train=8", "--set", "synthetic_test=8", "--out",
           (fs::temp_directory_path() / "cf_test_badkey").string()});
  CHECK(r.code == 1);
  CHECK(r.err.find("dimm") != std::string::npos);
  r = cli({"train", "--model", "cct_2_3x2", "--data", "/nonexistent/cifar"});
  CHECK(r.code == 1);
  CHECK(r.err.find("folder '/nonexistent/cifar' does not exist") != std::string::npos);
  r = cli({"train", "--model", "nosuchmodel", "--dataset", "synthetic"});
  CHECK(r.code == 1);
  CHECK(r.err.find("nosuchmodel") != std::string::npos);
  r = cli({"eval", "--checkpoint", "/nonexistent.safetensors"});
  CHECK(r.code == 1);
  CHECK(r.err.find("does not exist") != std::string::npos);
  TempDir wrong("wrongdata");
  r = cli({"train", "--model", "cct_2_3x2", "--data", wrong.path().string()});
  CHECK(r.code == 1);
  CHECK(r.err.find("holds neither CIFAR-10") != std::string::npos);
}

TEST_CASE("a short training run reaches 18% on the synthetic set and logs it", "[train][cli][slow]") {
  TempDir dir("short");
  Run r = cli(tiny_run(dir.path().string(), 4, 1024));
  INFO(r.out << r.err);
  REQUIRE(r.code == 0);
  for (const char* f : {"config.txt", "log.jsonl", "log.csv", "curves.svg", "last.safetensors", "best.safetensors"})
    CHECK(fs::exists(dir.path() / f));
  // Logs parse: every JSON line, and the CSV's rows have the header's width.
  std::ifstream jsonl(dir.path() / "log.jsonl");
  int epochs = 0;
  double accuracy = 0, best = 0;
  for (std::string line; std::getline(jsonl, line);) {
    Json j = parse_json(line);
    if (j.find("event")->string == "epoch") {
      ++epochs;
      accuracy = j.find("test_accuracy")->as_number();
      best = std::max(best, accuracy);
    }
  }
  CHECK(epochs == 4);
  // Ten classes: chance is 10%. Four epochs of a tiny CCT (128 steps) reach
  // about 25% (seed 0).
  CHECK(accuracy > 0.18);
  std::string csv = read_text(dir.path() / "log.csv");
  CHECK(std::count(csv.begin(), csv.end(), '\n') == 5);

  // What reproduces the run is recorded in the log and in both checkpoints.
  std::ifstream first_line(dir.path() / "log.jsonl");
  std::string start;
  std::getline(first_line, start);
  const Json s = parse_json(start);
  CHECK(s.find("event")->string == "start");
  for (const char* key : {"version", "kernel_path", "threads", "config"}) CHECK(s.find(key));
  CHECK(s.find("config")->string.find("seed = 0") != std::string::npos);
  for (const char* file : {"last.safetensors", "best.safetensors"}) {
    INFO(file);
    const Metadata m = load_safetensors((dir.path() / file).string()).metadata;
    for (const char* key : {"version", "kernel_path", "threads", "run_config", "config", "model", "step"})
      CHECK(m.count(key));
    CHECK(m.at("run_config").find("seed = 0") != std::string::npos);
  }

  // The best checkpoint evaluates to the best logged accuracy: a model's
  // logits do not depend on the batch it is in, so the figure is the same.
  Run e = cli({"eval", "--checkpoint", (dir.path() / "best.safetensors").string()});
  INFO(e.out << e.err);
  REQUIRE(e.code == 0);
  const size_t at = e.out.find(", accuracy ");
  REQUIRE(at != std::string::npos);
  CHECK(std::stod(e.out.substr(at + 11)) == Approx(100 * best).margin(0.006));
  CHECK(e.out.find("class") != std::string::npos);
}

TEST_CASE("a resumed run ends with the same weights, bit for bit", "[train][resume][slow]") {
  TempDir straight("straight"), resumed("resumed");
  // With augmentation and dropout: every random choice must be replayed.
  REQUIRE(cli(tiny_run(straight.path().string(), 2, 256, true)).code == 0);

  // Stop part-way through the first epoch, then resume to the end.
  TrainOptions options;
  {
    Config combined;
    combined.set("model", "cct_2_3x2").set("dataset", "synthetic").set("epochs", 2)
        .set("batch_size", 32).set("lr", 0.003).set("dim", 32).set("heads", 2).set("depth", 1)
        .set("conv_channels", 16).set("synthetic_train", 256).set("synthetic_test", 256)
        .set("warmup", 0).set("augment", true).set("dropout", 0.1);
    options.run = split_run_config(combined, "test");
  }
  options.out_dir = resumed.path().string();
  options.stop_after_steps = 3;
  std::ostringstream log;
  TrainResult first = train(options, log);
  CHECK(first.interrupted);
  CHECK(first.steps == 3);

  // A damaged position in the checkpoint is reported, naming the file and key.
  const std::string last = (resumed.path() / "last.safetensors").string();
  const Safetensors saved = load_safetensors(last);
  for (const auto& [value, message] :
       {std::pair<std::string, std::string>{"3x", "'3x' is not a number"},
        {"-1", "'-1' is not a number in [0, 16]"}}) {
    Metadata damaged = saved.metadata;
    damaged["step"] = value;
    save_safetensors(last, saved.tensors, damaged);
    const Run bad = cli({"train", "--resume", resumed.path().string()});
    CHECK(bad.code == 1);
    CHECK(bad.err.find(last + ": metadata step = " + message) != std::string::npos);
  }
  // The optimiser's groups must be those the state was saved for.
  Metadata other_groups = saved.metadata;
  other_groups["no_weight_decay_crc32"] = "00000000";
  save_safetensors(last, saved.tensors, other_groups);
  CHECK(cli({"train", "--resume", resumed.path().string()})
            .err.find("resume: the optimiser state in " + last +
                      " was saved for other parameter groups") != std::string::npos);
  // A checkpoint from before the checksum: a CCT's groups have not changed.
  Metadata before_checksum = saved.metadata;
  REQUIRE(before_checksum.erase("no_weight_decay_crc32") == 1);
  save_safetensors(last, saved.tensors, before_checksum);

  Run rest = cli({"train", "--resume", resumed.path().string()});
  INFO(rest.out << rest.err);
  REQUIRE(rest.code == 0);

  // The interrupted epoch's row holds the whole epoch's figures, as the
  // uninterrupted run's does: every column up to the test accuracy.
  const auto figures = [](const fs::path& csv) {
    std::vector<std::string> rows;
    std::ifstream f(csv);
    for (std::string line; std::getline(f, line);) {
      size_t end = 0;
      for (int comma = 0; comma < 7 && end != std::string::npos; ++comma)
        end = line.find(',', end + 1);
      rows.push_back(line.substr(0, end));
    }
    return rows;
  };
  const std::vector<std::string> straight_rows = figures(straight.path() / "log.csv");
  CHECK(straight_rows.size() == 3);
  CHECK(figures(resumed.path() / "log.csv") == straight_rows);

  Safetensors a = load_safetensors((straight.path() / "last.safetensors").string());
  Safetensors b = load_safetensors((resumed.path() / "last.safetensors").string());
  REQUIRE(a.tensors.size() == b.tensors.size());
  for (size_t i = 0; i < a.tensors.size(); ++i) {
    INFO(a.tensors[i].first);
    CHECK(a.tensors[i].first == b.tensors[i].first);
    CHECK(a.tensors[i].second.to_vector() == b.tensors[i].second.to_vector());
  }
  // A Columnformer's groups changed (its untied norms and biases are spared
  // now): its checkpoints from before the checksum cannot resume.
  TempDir untied("untied_resume");
  options.run = split_run_config(Config::parse("model = vision_columnformer_ff_tiny_cifar\n"
                                               "dataset = synthetic\nsynthetic_train = 16\n"
                                               "synthetic_test = 8\nbatch_size = 8\n"
                                               "image_size = 8\npatch_size = 2\ndim = 16\n"
                                               "resize = true\n"),
                                 "test");
  options.out_dir = untied.path().string();
  options.stop_after_steps = 1;
  REQUIRE(train(options, log).interrupted);
  const std::string untied_last = (untied.path() / "last.safetensors").string();
  Safetensors untied_saved = load_safetensors(untied_last);
  REQUIRE(untied_saved.metadata.erase("no_weight_decay_crc32") == 1);
  save_safetensors(untied_last, untied_saved.tensors, untied_saved.metadata);
  CHECK(cli({"train", "--resume", untied.path().string()}).err.find("since commit 8a12e0e") !=
        std::string::npos);

  // load_model rebuilds the model from a last checkpoint, leaving out the
  // optimiser's state.
  const NamedTensors weights = load_model(last)->state_dict();
  CHECK(weights.size() < b.tensors.size());
  REQUIRE(weights.size() == split_optimizer_state(b.tensors).first.size());
  for (size_t i = 0; i < weights.size(); ++i) {
    CHECK(weights[i].first == b.tensors[i].first);
    CHECK(weights[i].second.to_vector() == b.tensors[i].second.to_vector());
  }
  // load_weights into a model of the same config does the same.
  std::unique_ptr<Model> same = load_model(last);
  for (Tensor& p : same->parameters()) std::fill(p.data(), p.data() + p.numel(), 0.0f);
  load_weights(last, *same);
  const NamedTensors reloaded = same->state_dict();
  REQUIRE(reloaded.size() == weights.size());
  for (size_t i = 0; i < weights.size(); ++i)
    CHECK(reloaded[i].second.to_vector() == weights[i].second.to_vector());
}

TEST_CASE("corrupt, eval on CIFAR-10-C and inspect work on a trained run", "[train][cli][slow]") {
  TempDir run("robust"), corrupted("robust_c"), pictures("robust_png");
  REQUIRE(cli(tiny_run(run.path().string(), 1, 128)).code == 0);
  Run c = cli({"corrupt", "--dataset", "synthetic", "--out", corrupted.path().string(), "--limit", "32",
               "--corruptions", "gaussian_noise,fog"});
  INFO(c.out << c.err);
  REQUIRE(c.code == 0);
  CHECK(fs::exists(corrupted.path() / "fog.npy"));
  CHECK(fs::exists(corrupted.path() / "labels.npy"));
  const std::string checkpoint = (run.path() / "best.safetensors").string();
  Run e = cli({"eval", "--checkpoint", checkpoint, "--corruptions", corrupted.path().string()});
  INFO(e.out << e.err);
  REQUIRE(e.code == 0);
  CHECK(e.out.find("mean corruption accuracy") != std::string::npos);
  std::string csv = read_text(run.path() / "robustness.csv");
  CHECK(std::count(csv.begin(), csv.end(), '\n') == 11);  // header + 2 corruptions x 5 severities
  Run b = cli({"eval", "--checkpoint", checkpoint, "--corruptions", corrupted.path().string(),
               "--report", (run.path() / "again.csv").string(), "--baseline", (run.path() / "robustness.csv").string()});
  CHECK(b.code == 0);
  CHECK(b.out.find("Accuracy by difficulty") != std::string::npos);
  // A model of 16 x 16 images (the synthetic set resampled) takes the
  // corrupted arrays resampled too.
  TempDir small("robust_16");
  std::vector<std::string> args = tiny_run(small.path().string(), 1, 64);
  args.insert(args.end(), {"--set", "image_size=16", "--set", "resize=true"});
  REQUIRE(cli(args).code == 0);
  e = cli({"eval", "--checkpoint", (small.path() / "last.safetensors").string(), "--corruptions",
           corrupted.path().string()});
  INFO(e.err);
  CHECK(e.code == 0);
  CHECK(e.out.find("mean corruption accuracy") != std::string::npos);
  Run i = cli({"inspect", "--checkpoint", checkpoint, "--out", pictures.path().string(), "--image", "3"});
  INFO(i.err);
  REQUIRE(i.code == 0);
  CHECK(fs::exists(pictures.path() / "block0_head1.png"));

  CHECK(cli({"corrupt", "--dataset", "synthetic", "--out", corrupted.path().string(), "--corruptions", "fgo"})
            .err.find("unknown corruption 'fgo' (did you mean fog?)") != std::string::npos);
  CHECK(cli({"eval", "--checkpoint", checkpoint, "--corruptions", "/nonexistent"})
            .err.find("folder '/nonexistent' does not exist") != std::string::npos);
  // Names may have spaces around them; labels beyond the model's classes
  // (CIFAR-100-C for a CIFAR-10 model) are reported, naming the file.
  TempDir other("robust_labels");
  CHECK(cli({"corrupt", "--dataset", "synthetic", "--out", other.path().string(), "--limit", "4",
             "--corruptions", " fog, snow"})
            .code == 0);
  CHECK(fs::exists(other.path() / "snow.npy"));
  const std::vector<uint8_t> labels(20, 10);
  data::write_npy((other.path() / "labels.npy").string(), labels.data(), {20});
  CHECK(cli({"eval", "--checkpoint", checkpoint, "--corruptions", other.path().string()})
            .err.find("corruptions: " + (other.path() / "labels.npy").string() +
                      " has labels up to 10, the model has 10 classes") != std::string::npos);
  CHECK(cli({"inspect", "--checkpoint", checkpoint, "--out", pictures.path().string(), "--image", "999"})
            .err.find("--image 999 is not in [0, 256)") != std::string::npos);
  CHECK(cli({"inspect", "--checkpoint", checkpoint, "--out", pictures.path().string(), "--image",
             "-1"})
            .err.find("--image -1 must be >= 0") != std::string::npos);
}

TEST_CASE("training stops on a loss that is no longer finite", "[train][cli][errors]") {
  TempDir dir("nan");
  std::vector<std::string> args = tiny_run(dir.path().string(), 1, 64);
  args[std::find(args.begin(), args.end(), "--lr") - args.begin() + 1] = "1e30";
  Run r = cli(args);
  CHECK(r.code == 1);
  CHECK(r.err.find("the loss became") != std::string::npos);
  CHECK(r.err.find("at step") != std::string::npos);

  // With check_finite the run stops at the op, not at the loss.
  args.insert(args.end(), {"--set", "check_finite=true", "--overwrite"});
  Run checked = cli(args);
  set_check_finite(false);
  CHECK(checked.code == 1);
  CHECK(checked.err.find("check_finite: ") != std::string::npos);
  CHECK(checked.err.find(" produced ") != std::string::npos);
}

TEST_CASE("a new run does not replace another's folder unless asked", "[train][cli][errors]") {
  TempDir dir("twice");
  const std::string out = dir.path().string();
  std::vector<std::string> args = tiny_run(out, 1, 64);
  REQUIRE(cli(args).code == 0);
  const std::string last = read_text(dir.path() / "last.safetensors");
  CHECK(cli(args).err.find(out + " already holds a run; --resume " + out +
                           " continues it if it did not finish, --overwrite starts it again, or "
                           "choose another --out") != std::string::npos);
  CHECK(read_text(dir.path() / "last.safetensors") == last);
  CHECK(cli({"train", "--resume", out})
            .err.find("resume: the run in " + out +
                      " is finished (epoch 1 of 1); nothing to train") != std::string::npos);
  CHECK(cli({"train", "--resume", out, "--overwrite"}).err.find("drop --overwrite") !=
        std::string::npos);
  // --overwrite removes the old run's files, and only those.
  std::ofstream(dir.path() / "robustness.csv") << "the old run's";
  std::ofstream(dir.path() / "notes.txt") << "the user's";
  args.push_back("--overwrite");
  REQUIRE(cli(args).code == 0);
  CHECK_FALSE(fs::exists(dir.path() / "robustness.csv"));
  CHECK(fs::exists(dir.path() / "notes.txt"));
  const std::string log = read_text(dir.path() / "log.jsonl");
  CHECK(std::count(log.begin(), log.end(), '\n') == 2);  // its start and its one epoch
  // Without --out a second run of a model goes to runs/<model>-2.
  TempDir work("default_out");
  const fs::path before = fs::current_path();
  fs::current_path(work.path());
  std::vector<std::string> plain = tiny_run("unused", 1, 64);
  plain.erase(std::find(plain.begin(), plain.end(), "--out"),
              std::find(plain.begin(), plain.end(), "--out") + 2);
  const Run first = cli(plain), second = cli(plain);
  fs::current_path(before);
  CHECK(first.out.find("Results in runs/cct_2_3x2\n") != std::string::npos);
  CHECK(second.out.find("Note: runs/cct_2_3x2 holds an earlier run; this one goes to "
                        "runs/cct_2_3x2-2.\n") != std::string::npos);
  CHECK(second.out.find("Results in runs/cct_2_3x2-2\n") != std::string::npos);
}

TEST_CASE("a run that cannot start leaves no output folder behind", "[train][cli][errors]") {
  TempDir dir("no_start");
  const fs::path runs = dir.path() / "runs";
  std::vector<std::string> args = tiny_run((runs / "x").string(), 1, 64);
  args.insert(args.end(), {"--data", (dir.path() / "missing").string()});
  args.erase(std::find(args.begin(), args.end(), "--dataset"),
             std::find(args.begin(), args.end(), "--dataset") + 2);
  const Run r = cli(args);
  CHECK(r.code == 1);
  CHECK(r.err.find("missing' does not exist") != std::string::npos);
  CHECK_FALSE(fs::exists(runs));
}

TEST_CASE("read_run_record tells how far a run got, from its files", "[train][resume]") {
  TempDir dir("record");
  TrainOptions options;
  options.run = split_run_config(Config::parse("model = cct_2_3x2\ndataset = synthetic\n"
                                               "epochs = 2\nbatch_size = 32\ndim = 16\n"
                                               "heads = 2\ndepth = 1\nconv_channels = 8\n"
                                               "synthetic_train = 64\nsynthetic_test = 32\n"),
                                 "test");
  options.out_dir = dir.path().string();
  options.stop_after_steps = 3;  // two steps an epoch: one into the second epoch
  std::ostringstream log;
  REQUIRE(train(options, log).interrupted);
  RunRecord r = read_run_record(options.out_dir);
  CHECK_FALSE(r.finished);
  CHECK(r.epochs == 2);
  CHECK(r.epochs_logged == 1);
  CHECK(r.images == Approx(64).epsilon(1e-6));
  CHECK(r.seconds > 0);
  // A run stopped after logging an epoch but before its checkpoint, its
  // last line cut short: the resumed run logs that epoch once.
  std::ofstream(dir.path() / "log.csv", std::ios::app) << "2,4,0.001,2,0.5,2,0.5,999,9\n2,4,0.0";
  std::ofstream(dir.path() / "log.jsonl", std::ios::app)
      << "{\"event\":\"epoch\",\"epoch\":2,\"step\":4}\n{\"event\":\"epo";
  r = read_run_record(options.out_dir);  // what the checkpoint holds, not the extra row
  CHECK(r.epochs_logged == 1);
  CHECK(r.images == Approx(64).epsilon(1e-6));

  options.resume = true;
  options.stop_after_steps = 0;
  const TrainResult done = train(options, log);
  r = read_run_record(options.out_dir);
  CHECK(r.finished);
  CHECK(r.epochs_logged == 2);
  CHECK(r.final_accuracy == Approx(done.final_accuracy).epsilon(1e-7));
  // The interrupted epoch counts from its resumption: one batch of two.
  CHECK(r.images == Approx(64 + 32).epsilon(1e-6));
  const std::string csv = read_text(dir.path() / "log.csv");
  const std::string jsonl = read_text(dir.path() / "log.jsonl");
  CHECK(std::count(csv.begin(), csv.end(), '\n') == 3);  // the header and epochs 1 and 2
  CHECK(csv.find("2,4,0.001,2,0.5,2,0.5,999,9") == std::string::npos);
  CHECK(jsonl.find("\"step\":4}") == std::string::npos);
  CHECK(jsonl.find("\"epo\n") == std::string::npos);
  size_t epochs_logged = 0;
  for (size_t at = 0; (at = jsonl.find("\"event\":\"epoch\"", at)) != std::string::npos; ++at)
    ++epochs_logged;
  CHECK(epochs_logged == 2);

  fs::remove(dir.path() / "last.safetensors");
  CHECK(test::error_of([&] { read_run_record(options.out_dir); }) ==
        "resume: no checkpoint " + (dir.path() / "last.safetensors").string());
}

TEST_CASE("checkpoints of another model and unwritable folders are reported", "[train][cli][errors]") {
  TempDir dir("other");
  REQUIRE(cli(tiny_run(dir.path().string(), 1, 64)).code == 0);
  const std::string file = (dir.path() / "last.safetensors").string();
  RunConfig other = read_run_config(dir.path().string());
  other.model_config.set("dim", 16);
  std::string msg = test::error_of([&] { load_run_model(load_safetensors(file), other, file); });
  CHECK(msg.find(file) != std::string::npos);
  CHECK(msg.find("shape") != std::string::npos);
  // A plain safetensors file without a run's metadata.
  const std::string plain = (dir.path() / "plain.safetensors").string();
  save_safetensors(plain, {{"w", Tensor::ones({2})}});
  CHECK(cli({"eval", "--checkpoint", plain}).err.find("has no run config") != std::string::npos);
  // An output folder inside a regular file cannot be created.
  Run r = cli(tiny_run((dir.path() / "last.safetensors" / "sub").string(), 1, 64));
  CHECK(r.code == 1);
  CHECK(r.err.find("last.safetensors/sub") != std::string::npos);
}

TEST_CASE("auxiliary losses and diagnostics are logged apart", "[train][cli]") {
  TempDir dir("aux");
  Run r = cli({"train", "--model", "ut_act_cifar", "--dataset", "synthetic", "--epochs", "1",
               "--batch-size", "16", "--out", dir.path().string(), "--set", "dim=16", "--set", "heads=2",
               "--set", "max_steps=3", "--set", "synthetic_train=32", "--set", "synthetic_test=16"});
  INFO(r.out << r.err);
  REQUIRE(r.code == 0);
  std::string header = read_text(dir.path() / "log.csv");
  header = header.substr(0, header.find('\n'));
  CHECK(header.find("aux_ponder_cost") != std::string::npos);
  CHECK(header.find("aux_act_steps") != std::string::npos);
  std::ifstream jsonl(dir.path() / "log.jsonl");
  std::string line;
  std::getline(jsonl, line);  // the start line
  std::getline(jsonl, line);
  const double steps = parse_json(line).find("aux_act_steps")->as_number();
  CHECK(steps >= 1.0);
  CHECK(steps <= 3.0);
}

TEST_CASE("inspect lays a Columnformer's attention out on its sheet", "[train][cli]") {
  TempDir run("sheet"), pictures("sheet_png");
  Run r = cli({"train", "--model", "vision_columnformer_ff_tiny_cifar", "--dataset", "synthetic",
               "--epochs", "1", "--batch-size", "16", "--out", run.path().string(), "--set", "dim=16",
               "--set", "depth=2", "--set", "synthetic_train=32", "--set", "synthetic_test=16"});
  INFO(r.out << r.err);
  REQUIRE(r.code == 0);
  Run i = cli({"inspect", "--checkpoint", (run.path() / "last.safetensors").string(), "--out",
               pictures.path().string()});
  INFO(i.out << i.err);
  REQUIRE(i.code == 0);
  CHECK(fs::exists(pictures.path() / "sheet_block1.png"));
  CHECK(i.out.find("Wiring cost per block:") != std::string::npos);
}

TEST_CASE("training keys out of range and flags that would be ignored are reported",
          "[train][cli][errors]") {
  TempDir dir("badkeys");
  const auto train_with = [&](std::vector<std::string> extra) {
    std::vector<std::string> args = {"train",
                                     "--model",
                                     "cct_2_3x2",
                                     "--dataset",
                                     "synthetic",
                                     "--out",
                                     dir.path().string(),
                                     "--set",
                                     "synthetic_train=8",
                                     "--set",
                                     "synthetic_test=8",
                                     "--set",
                                     "dim=32",
                                     "--set",
                                     "heads=2",
                                     "--set",
                                     "depth=1",
                                     "--overwrite"};
    args.insert(args.end(), extra.begin(), extra.end());
    return cli(args);
  };
  const std::pair<const char*, const char*> bad[] = {
      {"min_lr=-0.001", "min_lr = -0.001 must be >= 0"},
      {"gamma=-0.1", "gamma = -0.1 must be in (0, 1]"},
      {"step_epochs=0", "step_epochs = 0 must be > 0"},
      {"clip_grad_norm=-1", "clip_grad_norm = -1 must be >= 0"},
      {"cutout=-2", "cutout = -2 must be >= 0"},
      {"mixup=-1", "mixup = -1 must be >= 0"},
      {"cutmix=nan", "cutmix = nan must be >= 0"},
      {"eval_every=0", "eval_every = 0 must be >= 1"},
      {"train_limit=-5", "train_limit = -5 must be >= 0"},
      {"test_limit=-1", "test_limit = -1 must be >= 0"},
      {"threads=5000000000", "threads = 5000000000 must be in [0, 4096]"},
      {"threads=-2", "threads = -2 must be >= 0"},
      {"epochs=0", "epochs = 0 must be >= 1"},
      {"batch_size=0", "batch_size = 0 must be >= 1"},
      {"synthetic_train=0", "synthetic_train = 0 must be >= 1"},
      {"warmup=1.5", "warmup = 1.5 must be in [0, 1]"},
      {"lr=-1", "lr = -1 must be >= 0"},
      {"min_lr=0.1", "min_lr = 0.1 must not exceed lr = 0.0005"},
      {"optimizer=lion", "optimizer: unknown value 'lion' (use adamw, adam or sgd)"},
      {"schedule=cosin", "schedule: unknown kind 'cosin' (use constant, step or cosine)"},
      {"augment=maybe", "config: key \"augment\" has value \"maybe\", which is not a boolean"},
      {"epochs=2.5", "config: key \"epochs\" has value \"2.5\", which is not an integer"},
      {"image_size=0", "model cct_2_3x2: image_size = 0 must be >= 1"},
      {"beta2=1", "beta2 = 1 must be in [0, 1)"},
      {"label_smoothing=-0.1", "label_smoothing = -0.1 must be in [0, 1)"},
      {"epoch=3",
       "unknown key \"epoch\": not a training key nor a key of model cct_2_3x2 (did "
       "you mean \"epochs\"?)"},
      {"num_classes=5", "num_classes = 5 but the data has 10 classes"},
      {"image_size=16",
       "model cct_2_3x2: image_size = 16 but the data has 32x32 images (set "
       "image_size = 32, or resize = true to resample them)"}};
  for (const auto& [assignment, message] : bad) {
    INFO(assignment);
    const Run r = train_with({"--set", assignment});
    CHECK(r.code == 1);
    CHECK(r.err.find(message) != std::string::npos);
  }
  // A model's default image size is checked like a size the run sets.
  CHECK(cli({"train", "--model", "mixer_s16", "--dataset", "synthetic", "--out",
             dir.path().string(), "--set", "synthetic_train=8", "--set", "synthetic_test=8"})
            .err.find("model mixer_s16: image_size = 224 but the data has 32x32 images") !=
        std::string::npos);
  // resize = true resamples the synthetic set to the model's size.
  CHECK(train_with({"--set", "image_size=16", "--set", "resize=true", "--epochs", "1"}).code == 0);
  CHECK(read_text(dir.path() / "config.txt").find("image_size = 16\n") != std::string::npos);
  // Keys are checked before any data is read.
  CHECK(cli({"train", "--model", "cct_2_3x2", "--data", "/nonexistent", "--set", "epochs=0"})
            .err.find("epochs = 0 must be >= 1") != std::string::npos);
  CHECK(cli({"train", "--model", "cct_2_3x2", "--data", "/nonexistent", "--set", "epoch=3"})
            .err.find("unknown key \"epoch\"") != std::string::npos);
  // The step schedule takes a min_lr above lr: it does not use it, and says so.
  Run r = train_with({"--set", "min_lr=0.1", "--set", "schedule=step", "--epochs", "1"});
  CHECK(r.code == 0);
  CHECK(r.out.find("Note: min_lr = 0.1 is unused: only schedule = cosine reads it.\n") !=
        std::string::npos);
  // So are the other keys the run's choices leave unused.
  r = train_with({"--set", "momentum=0.5", "--set", "cifar100_labels=coarse", "--epochs", "1"});
  CHECK(r.code == 0);
  CHECK(r.out.find("Note: momentum = 0.5 is unused: only optimizer = sgd reads it.\n") !=
        std::string::npos);
  CHECK(r.out.find("Note: cifar100_labels = coarse is unused: only CIFAR-100 reads it.\n") !=
        std::string::npos);
  CHECK(train_with({"--epochs", "1"}).out.find("Note:") == std::string::npos);
  // A $CIFAR10_DIR that holds no CIFAR-10 is reported, not passed over
  // (from a folder without data/cifar-10-batches-bin, which comes first).
  const char* const env = std::getenv("CIFAR10_DIR");
  const std::string saved = env ? env : "";
  setenv("CIFAR10_DIR", "/nonexistent/cifar", 1);
  TempDir elsewhere("no_cifar_here");
  const fs::path before = fs::current_path();
  fs::current_path(elsewhere.path());
  r = cli({"train", "--model", "cct_2_3x2", "--out", dir.path().string(), "--overwrite"});
  fs::current_path(before);
  if (env)
    setenv("CIFAR10_DIR", saved.c_str(), 1);
  else
    unsetenv("CIFAR10_DIR");
  CHECK(r.err.find("data: $CIFAR10_DIR is '/nonexistent/cifar', which holds no CIFAR-10 "
                   "(data_batch_1.bin)") != std::string::npos);
  // A config file that is a folder, or missing.
  CHECK(cli({"train", "--config", dir.path().string()})
            .err.find("cannot read config file " + dir.path().string() + ": it is a folder") !=
        std::string::npos);

  CHECK(cli({"train", "--model", "cct_2_3x2", "--dataset", "cifar11"})
            .err.find("dataset: unknown value 'cifar11'") != std::string::npos);
  CHECK(cli({"train", "--model", "cct_2_3x2", "--dataset", "folder"})
            .err.find("dataset folder needs a folder: --data DIR") != std::string::npos);
  CHECK(cli({"train", "--model", "cct_2_3x2", "--dataset", "synthetic", "--data", "somewhere"})
            .err.find("dataset synthetic takes no data folder, but data = 'somewhere'") !=
        std::string::npos);
  TempDir cifar10("looks_like_cifar10");
  std::ofstream(cifar10.path() / "data_batch_1.bin") << "";
  CHECK(cli({"train", "--model", "cct_2_3x2", "--dataset", "cifar100", "--data",
             cifar10.path().string()})
            .err.find("does not hold the cifar100 layout") != std::string::npos);
  // One CIFAR-100 record per split (coarse label, fine label, 3072 bytes).
  TempDir cifar100("looks_like_cifar100");
  for (const char* split : {"train.bin", "test.bin"})
    test::write_bytes((cifar100.path() / split).string(), std::vector<uint8_t>(3074, 1));
  CHECK(cli({"train", "--model", "cct_2_3x2", "--data", cifar100.path().string(), "--set",
             "cifar100_labels=medium"})
            .err.find("cifar100_labels: unknown value 'medium' (use fine or coarse)") !=
        std::string::npos);

  CHECK(cli({"train", "--resume", dir.path().string(), "--out", "elsewhere"})
            .err.find("drop --out") != std::string::npos);
  CHECK(cli({"eval", "--checkpoint", "any.safetensors", "--report", "r.csv"})
            .err.find("eval: --report needs --corruptions DIR") != std::string::npos);
  CHECK(cli({"eval", "--checkpoint", "any.safetensors", "--baseline", "b.csv"})
            .err.find("eval: --baseline needs --corruptions DIR") != std::string::npos);
  CHECK(cli({"eval", "--checkpoint", "any.safetensors", "--batch-size", "0"})
            .err.find("eval: --batch-size 0 must be >= 1") != std::string::npos);
  CHECK(cli({"eval"}).err.find("eval: --checkpoint FILE is required") != std::string::npos);
  CHECK(cli({"inspect", "--checkpoint", "any.safetensors"})
            .err.find("inspect: --checkpoint FILE and --out DIR are required") !=
        std::string::npos);
  CHECK(cli({"corrupt", "--dataset", "synthetic"}).err.find("corrupt: --out DIR is required") !=
        std::string::npos);
  CHECK(cli({"corrupt", "--dataset", "synthetic", "--out", dir.path().string(), "--limit", "-1"})
            .err.find("corrupt: --limit -1 must be >= 0 (0: all images)") != std::string::npos);
  CHECK(
      cli({"corrupt", "--dataset", "synthetic", "--out", dir.path().string(), "--corruptions", ""})
          .err.find("corrupt: --corruptions names no corruption") != std::string::npos);
}

TEST_CASE("a run records the data it found, and data that does not fit is reported",
          "[train][cli][errors]") {
  TempDir run("folder_run"), folders("folders");
  const fs::path two = folders.path() / "two", three = folders.path() / "three";
  write_split(two, "train", {"cat", "dog"}, 4);
  write_split(two, "test", {"cat", "dog"}, 2);
  write_split(three, "test", {"ant", "cat", "dog"}, 1);
  // Given as a relative path, recorded as an absolute one.
  const std::string relative = fs::relative(two, fs::current_path()).string();
  Run r = cli({"train", "--model", "cct_2_3x2", "--data", relative, "--epochs", "1", "--batch-size",
               "4", "--out", run.path().string(), "--set", "dim=32", "--set", "heads=2", "--set",
               "depth=1", "--set", "conv_channels=16"});
  INFO(r.out << r.err);
  REQUIRE(r.code == 0);
  const std::string config = read_text(run.path() / "config.txt");
  CHECK(config.find("dataset = folder") != std::string::npos);
  CHECK(config.find("data = " + fs::absolute(two).lexically_normal().string()) !=
        std::string::npos);
  const std::string checkpoint = (run.path() / "last.safetensors").string();
  CHECK(cli({"eval", "--checkpoint", checkpoint}).code == 0);
  // A run begun when an image folder's classes came one after the other
  // cannot be continued to the same bits.
  Safetensors before_order = load_safetensors(checkpoint);
  REQUIRE(before_order.metadata.erase("image_folder_order") == 1);
  before_order.metadata["epoch"] = "0";
  save_safetensors(checkpoint, before_order.tensors, before_order.metadata);
  CHECK(cli({"train", "--resume", run.path().string()})
            .err.find("may have begun before image folders took their classes in turn") !=
        std::string::npos);
  CHECK(cli({"eval", "--checkpoint", checkpoint, "--data", three.string()})
            .err.find("num_classes = 2 but the data has 3 classes") != std::string::npos);
  CHECK(cli({"inspect", "--checkpoint", checkpoint, "--out", run.path().string(), "--data",
             three.string()})
            .err.find("num_classes = 2 but the data has 3 classes") != std::string::npos);

  // A split with no images; different classes in the two splits.
  const fs::path empty = folders.path() / "empty", mixed = folders.path() / "mixed";
  fs::create_directories(empty / "train" / "cat");
  write_split(empty, "test", {"cat"}, 1);
  write_split(mixed, "train", {"cat", "dog"}, 1);
  write_split(mixed, "test", {"cat"}, 1);
  const auto error_for = [&](const fs::path& data) {
    return cli({"train", "--model", "cct_2_3x2", "--data", data.string(), "--out",
                run.path().string(), "--overwrite"})
        .err;
  };
  CHECK(error_for(empty).find("data: the training set of image folders in " + empty.string() +
                              " has no images") != std::string::npos);
  CHECK(error_for(mixed).find("data: the training and test sets of image folders in " +
                              mixed.string() + " have different classes") != std::string::npos);
  // A folder of 16 x 16 images is read at the model's image_size: at 16 as
  // it is, resampled to 32 with resize = true, and otherwise an error naming
  // the file and the key. A file that is no image: an error, or skipped.
  const fs::path small = folders.path() / "small";
  write_split(small, "train", {"cat", "dog"}, 2, 16, 16);
  write_split(small, "test", {"cat", "dog"}, 1, 16, 16);
  const auto train_small = [&](std::vector<std::string> extra) {
    std::vector<std::string> args = {"train",        "--model", "cct_2_3x2",         "--data",
                                     small.string(), "--out",   run.path().string(), "--overwrite"};
    for (const char* arg : {"--epochs", "1", "--batch-size", "2", "--set", "dim=32", "--set",
                            "heads=2", "--set", "depth=1", "--set", "conv_channels=16"})
      args.push_back(arg);
    args.insert(args.end(), extra.begin(), extra.end());
    return cli(args);
  };
  CHECK_THAT(train_small({}).err,
             Catch::Contains((small / "train" / "cat" / "0.png").string() +
                             ": image is 16x16, expected 32x32") &&
                 Catch::Contains("resize = true in cf train, --resize in cf eval, inspect and "
                                 "corrupt"));
  // cf corrupt writes CIFAR-10-C's 32 x 32 arrays: --resize resamples first.
  const std::string small_c = (folders.path() / "small_c").string();
  std::vector<std::string> corrupt = {"corrupt", "--data",        small.string(), "--out",
                                      small_c,   "--corruptions", "fog"};
  CHECK(cli(corrupt).err.find("image is 16x16, expected 32x32") != std::string::npos);
  corrupt.push_back("--resize");
  CHECK(cli(corrupt).code == 0);
  CHECK(fs::exists(fs::path(small_c) / "fog.npy"));
  for (const std::string side : {"16", "32"}) {
    INFO(side);
    r = train_small({"--set", side == "16" ? "image_size=16" : "resize=true"});
    INFO(r.out << r.err);
    REQUIRE(r.code == 0);
    CHECK(read_text(run.path() / "config.txt").find("image_size = " + side + "\n") !=
          std::string::npos);
    // The test split is read again at the run's size, and CIFAR-10-C's
    // arrays must have it too (a run with resize = true resamples them).
    const std::string checkpoint = (run.path() / "last.safetensors").string();
    CHECK(cli({"eval", "--checkpoint", checkpoint}).code == 0);
    r = cli({"eval", "--checkpoint", checkpoint, "--corruptions", small_c});
    if (side == "32") {
      CHECK(r.code == 0);
      continue;
    }
    CHECK(r.err.find("corruptions: " + (fs::path(small_c) / "fog.npy").string() +
                     " holds 32x32 images, the model takes 16x16 (--resize resamples them)") !=
          std::string::npos);
    // Test data of another size than the run's: resampled with --resize.
    const std::vector<std::string> eval = {"eval", "--checkpoint", checkpoint};
    const auto with = [&](std::vector<std::string> extra) {
      std::vector<std::string> args = eval;
      args.insert(args.end(), extra.begin(), extra.end());
      return cli(args);
    };
    CHECK(with({"--corruptions", small_c, "--resize"}).code == 0);
    CHECK_THAT(with({"--data", two.string()}).err,
               Catch::Contains("image is 32x32, expected 16x16") &&
                   Catch::Contains("--resize in cf eval"));
    CHECK(with({"--data", two.string(), "--resize"}).code == 0);
    CHECK(with({"--dataset", "synthetic"})
              .err.find("data: the test set of the built-in synthetic set has 32x32 images, the "
                        "model takes 16x16 (--resize resamples them)") != std::string::npos);
    CHECK(with({"--dataset", "synthetic", "--resize"})
              .err.find("num_classes = 2 but the data has 10 classes") != std::string::npos);
  }
  // A run trained without skip_bad_files, for eval --skip-bad-files below.
  const std::string strict = (folders.path() / "strict.safetensors").string();
  fs::copy_file(run.path() / "last.safetensors", strict);
  std::ofstream(small / "train" / "cat" / "notes.txt") << "not an image";
  CHECK_THAT(train_small({"--set", "resize=true"}).err,
             Catch::Contains("notes.txt") &&
                 Catch::Contains("skip_bad_files = true in cf train, --skip-bad-files in cf "
                                 "eval, inspect and corrupt"));
  std::ostringstream warnings;
  std::streambuf* const cerr = std::cerr.rdbuf(warnings.rdbuf());
  r = train_small({"--set", "resize=true", "--set", "skip_bad_files=true"});
  std::cerr.rdbuf(cerr);
  CHECK(r.code == 0);
  CHECK(warnings.str().find("warning: skipping " +
                            (small / "train" / "cat" / "notes.txt").string()) != std::string::npos);
  // The other commands skip with --skip-bad-files (or the run's own key).
  const fs::path bad = small / "test" / "cat" / "notes.txt";
  std::ofstream(bad) << "not an image";
  corrupt[4] = (folders.path() / "small_c2").string();  // --out
  CHECK(cli(corrupt).err.find("notes.txt") != std::string::npos);
  CHECK_THAT(cli({"eval", "--checkpoint", strict}).err,
             Catch::Contains(bad.string()) && Catch::Contains("--skip-bad-files in cf eval"));
  corrupt.push_back("--skip-bad-files");
  std::ostringstream skipped;
  std::cerr.rdbuf(skipped.rdbuf());
  const int corrupted = cli(corrupt).code;
  const int evaluated = cli({"eval", "--checkpoint", strict, "--skip-bad-files"}).code;
  const int own_key =
      cli({"eval", "--checkpoint", (run.path() / "last.safetensors").string()}).code;
  std::cerr.rdbuf(cerr);
  CHECK(corrupted == 0);
  CHECK(evaluated == 0);
  CHECK(own_key == 0);
  const std::string warning = "warning: skipping " + bad.string();
  size_t count = 0;
  for (size_t at = skipped.str().find(warning); at != std::string::npos;
       at = skipped.str().find(warning, at + 1))
    ++count;
  CHECK(count == 3);

  // The readers give images of one size (or name the file that is not); the
  // check behind them, on a set of another shape.
  const RunConfig cct = split_run_config(Config().set("model", "cct_2_3x2"), "test");
  CHECK(test::error_of([&] {
          fit_model_to_data(cct, test::pattern_set(2, 16, 32, 2));
        }).find("images are 16x32; models take square images") != std::string::npos);
}
