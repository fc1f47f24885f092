// Training speed of the Columnformer (ARCHITECTURES.md section 3); one
// training step is forward, backward and an AdamW update, and every figure
// is images per second, the median of several timed runs.
//
//   bench_columnformer block  [--threads T] [--batch B] [--runs R] [--steps S]
//     One untied block at the CIFAR size (64 columns, D 128): every Linear
//     (q, k, v without bias, proj, fc1, fc2 with MLP ratio 2) and both
//     LayerNorms untied (3.1, 3.3 "untied", 3.4), 4 heads. Prints the
//     parameter count and one figure; bench/bench_columnformer_torch.py
//     times the same block written with torch.einsum, and
//     bench/compare_columnformer.sh runs the two alternately.
//
//   bench_columnformer models [--threads T] [--batch B] [--runs R] [--steps S]
//                             [--set key=value ...] [NAME ...]
//     Each registered CIFAR configuration (3.7), or the ones named, with the
//     config keys given by --set: the whole model with its auxiliary losses
//     on random images, and the minutes one epoch of CIFAR-10 (50000
//     images) takes at that rate.
//
// Defaults: 2 threads, batch 128, 5 runs of 2 steps (block) or 3 runs of
// 1 step (models).
#include <algorithm>
#include <chrono>
#include <ctime>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "autograd/kernels/threads.h"
#include "autograd/ops.h"
#include "nn/columnformer.h"
#include "train/optim.h"

using namespace cf;

namespace {

struct Args {
  std::string mode;
  int threads = 2;
  int64_t batch = 128;
  int runs = 0, steps = 0;  // 0: the mode's default
  std::vector<std::string> names;
  Config overrides;
};

[[noreturn]] void usage() {
  std::fprintf(stderr,
               "usage: bench_columnformer block|models [--threads T] [--batch B] [--runs R] "
               "[--steps S] [--set key=value ...] [NAME ...]\n");
  std::exit(2);
}

Args parse(int argc, char** argv) {
  if (argc < 2) usage();
  Args a;
  a.mode = argv[1];
  if (a.mode != "block" && a.mode != "models") usage();
  for (int i = 2; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg.rfind("--", 0) != 0) {
      a.names.push_back(arg);
      continue;
    }
    if (i + 1 >= argc) usage();
    if (arg == "--set") {
      a.overrides.set_assignment(argv[++i]);
      continue;
    }
    const long value = std::atol(argv[++i]);
    if (value < 1) usage();
    if (arg == "--threads") a.threads = int(value);
    else if (arg == "--batch") a.batch = value;
    else if (arg == "--runs") a.runs = int(value);
    else if (arg == "--steps") a.steps = int(value);
    else usage();
  }
  return a;
}

ColumnBlockOptions untied_block() {
  ColumnBlockOptions o;
  o.attn.mode = "untied";
  o.attn.dim = 128;
  o.attn.heads = 4;
  o.attn.tokens = 64;
  o.mlp_mode = o.norm_mode = "untied";
  o.mlp_ratio = 2.0;
  return o;
}

// Images per second of wall time, and per second of CPU time of the whole
// process (every thread, spinning included): on a shared machine the second
// says what the code costs when the first is starved by other processes.
struct Rate {
  double wall, cpu;
};

// The medians over `runs` of batch * steps / seconds for `step`, after one
// untimed step (packing buffers, optimiser state).
template <class Step>
Rate median_rate(Step step, int64_t batch, int runs, int steps) {
  step();
  std::vector<double> wall, cpu;
  for (int run = 0; run < runs; ++run) {
    const auto start = std::chrono::steady_clock::now();
    const std::clock_t cpu_start = std::clock();
    for (int s = 0; s < steps; ++s) step();
    const double images = double(batch * steps);
    cpu.push_back(images * CLOCKS_PER_SEC / double(std::clock() - cpu_start));
    wall.push_back(images / std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  std::sort(wall.begin(), wall.end());
  std::sort(cpu.begin(), cpu.end());
  return {wall[wall.size() / 2], cpu[cpu.size() / 2]};
}

void run_block(const Args& a) {
  const int runs = a.runs ? a.runs : 5, steps = a.steps ? a.steps : 2;
  ColumnBlock block(untied_block());
  block.init_parameters(0);
  // Weight decay on every parameter, as torch.optim.AdamW on the other side.
  AdamW opt(weight_decay_groups(block, 0.05f, true), 1e-4f);
  const Tensor x = Tensor::randn({a.batch, 64, 128}, 1);
  const Tensor r = Tensor::randn({a.batch, 64, 128}, 2);
  auto step = [&] {
    opt.zero_grad();
    sum(mul(block.forward(x), r)).backward();
    opt.step();
  };
  std::printf("cf untied block: N 64, D 128, 4 heads, MLP ratio 2, %lld parameters\n",
              static_cast<long long>(block.num_parameters()));
  const Rate rate = median_rate(step, a.batch, runs, steps);
  std::printf("threads %d  batch %lld  images/s %.1f  images/CPU-s %.1f  (forward + backward + AdamW, median of %d "
              "runs of %d steps)\n",
              a.threads, static_cast<long long>(a.batch), rate.wall, rate.cpu, runs, steps);
}

void run_models(const Args& a) {
  const int runs = a.runs ? a.runs : 3, steps = a.steps ? a.steps : 1;
  std::vector<std::string> names = a.names;
  if (names.empty())
    for (const ModelInfo& info : columnformer_models())
      if (info.name.size() > 6 && info.name.compare(info.name.size() - 6, 6, "_cifar") == 0)
        names.push_back(info.name);
  std::printf("batch %lld, %d threads, forward + backward + AdamW, median of %d runs of %d steps\n",
              static_cast<long long>(a.batch), a.threads, runs, steps);
  std::printf("%-36s %12s %10s %12s %12s\n", "model", "parameters", "images/s", "images/CPU-s", "epoch (min)");
  for (const std::string& name : names) {
    auto model = build_model(name, a.overrides);
    AdamW opt(weight_decay_groups(*model, 0.05f), 6e-4f);
    const Tensor images = Tensor::randn({a.batch, 3, 32, 32}, 1);
    std::vector<int64_t> labels(size_t(a.batch));
    for (int64_t i = 0; i < a.batch; ++i) labels[size_t(i)] = i % 10;
    auto step = [&] {
      opt.zero_grad();
      Tensor loss = cross_entropy(model->forward(images), labels);
      for (auto& [aux_name, aux] : model->aux_losses()) loss = add(loss, aux);
      loss.backward();
      opt.step();
    };
    const Rate rate = median_rate(step, a.batch, runs, steps);
    std::printf("%-36s %12lld %10.1f %12.1f %12.1f\n", name.c_str(), static_cast<long long>(model->num_parameters()),
                rate.wall, rate.cpu, 50000.0 / rate.wall / 60.0);
    std::fflush(stdout);
  }
}

}  // namespace

int main(int argc, char** argv) {
  const Args a = parse(argc, argv);
  kernels::set_num_threads(a.threads);
  if (a.mode == "block") run_block(a);
  else run_models(a);
  return 0;
}
