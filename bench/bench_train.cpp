// Training and inference speed of one registered model, and the autograd
// overhead per recorded op: cf's half of the side-by-side comparison with
// PyTorch (bench/torch_models.py is the other half, bench/compare_torch.sh
// runs the two alternately and prints the table; docs/PERFORMANCE.md,
// "Against PyTorch").
//
//   bench_train NAME [--batch B] [--threads T] [--warmup W] [--steps N] [--infer M] [--pool 0|1]
//               [--fused 0|1]
//     Builds the registered model NAME at its defaults (32x32x3 images, 10
//     classes), runs W untimed training steps, then times N steps of
//     forward, cross-entropy (plus the model's auxiliary losses), backward
//     and AdamW, then M forward passes under NoGradGuard in eval mode, on a
//     fixed batch of random images. --pool 0 turns the buffer pool off
//     (autograd/buffer_pool.h), and --fused 0 makes nn's Attention form and
//     keep its (B, H, N, N) maps (keep_attention_maps), to measure what each
//     is worth.
//
//   bench_train autograd [--threads T] [--ops N] [--runs R]
//     A chain of N tiny recorded ops on a 16-element tensor (x = x * 1.0001,
//     then x = x + 0.0001, alternately), summed, then backward: microseconds
//     per op of forward + backward, the median of R runs.
//
// Each prints one line of key=value pairs (the same keys as the PyTorch
// side). The process measures one model so that its peak RSS (ru_maxrss) is
// that model's; rss_base_mb is the resident size before the model is built.
// A model's line also gives the matrix-product work per image of a training
// step and of an inference pass (train_gflop_img, infer_gflop_img: every
// sgemm counted, kernels::gemm_flop_count) and the FMA throughput the same
// threads reach in a tight loop (fma_peak_gflop_s, bench/fma_peak.h). Their
// quotient bounds the images/s any implementation of the same products can
// reach on this machine; PyTorch's side performs the same products.
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "autograd/buffer_pool.h"
#include "autograd/error.h"
#include "autograd/graph.h"
#include "autograd/kernels/gemm.h"
#include "autograd/kernels/threads.h"
#include "autograd/ops.h"
#include "bench/fma_peak.h"
#include "nn/attention.h"
#include "nn/registry.h"
#include "train/optim.h"

using namespace cf;
using cf::bench::seconds_since;

namespace {

struct Args {
  std::string name;  // a registered model, or "autograd"
  int threads = 1;
  int64_t batch = 64;
  int warmup = 2, steps = 5, infer = 5;
  int64_t ops = 10000;
  int runs = 7;
  bool pool = true;
  bool fused = true;  // nn's Attention may run the fused op
};

[[noreturn]] void usage() {
  std::fprintf(stderr,
               "usage: bench_train NAME [--batch B] [--threads T] [--warmup W] [--steps N] [--infer M] [--pool 0|1]\n"
               "                  [--fused 0|1]\n"
               "       bench_train autograd [--threads T] [--ops N] [--runs R]\n");
  std::exit(2);
}

Args parse(int argc, char** argv) {
  if (argc < 2 || argv[1][0] == '-') usage();
  Args a;
  a.name = argv[1];
  for (int i = 2; i < argc; ++i) {
    const std::string arg = argv[i];
    if (i + 1 >= argc) usage();
    const long value = std::atol(argv[++i]);
    // Zero warm-up steps, --pool 0 and --fused 0 are allowed; every count must be positive.
    if (arg == "--pool" || arg == "--fused") {
      if (std::string(argv[i]) != "0" && std::string(argv[i]) != "1") usage();
      (arg == "--pool" ? a.pool : a.fused) = value == 1;
      continue;
    }
    if (value < (arg == "--warmup" ? 0 : 1)) usage();
    if (arg == "--threads") a.threads = int(value);
    else if (arg == "--batch") a.batch = value;
    else if (arg == "--warmup") a.warmup = int(value);
    else if (arg == "--steps") a.steps = int(value);
    else if (arg == "--infer") a.infer = int(value);
    else if (arg == "--ops") a.ops = value;
    else if (arg == "--runs") a.runs = int(value);
    else usage();
  }
  return a;
}

// The resident set now (VmRSS), in MiB; 0 where /proc is missing.
double current_rss_mb() {
  std::ifstream status("/proc/self/status");
  std::string key;
  while (status >> key) {
    if (key == "VmRSS:") {
      double kib = 0;
      status >> kib;
      return kib / 1024.0;
    }
    status.ignore(1 << 16, '\n');
  }
  return 0.0;
}

// The largest resident set so far, in MiB (Linux reports ru_maxrss in KiB).
double peak_rss_mb() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return double(usage.ru_maxrss) / 1024.0;
}

void run_model(const Args& a) {
  const double base_rss = current_rss_mb();
  std::unique_ptr<Model> model = build_model(a.name);
  if (!a.fused) keep_attention_maps(*model);
  // Weight decay on every parameter: torch.optim.AdamW(model.parameters())
  // on the other side has one group too.
  AdamW opt(weight_decay_groups(*model, 0.05f, true), 5e-4f);
  const Tensor images = Tensor::randn({a.batch, 3, 32, 32}, 1);
  std::vector<int64_t> labels(size_t(a.batch));
  for (int64_t i = 0; i < a.batch; ++i) labels[size_t(i)] = i % 10;

  auto train_step = [&] {
    opt.zero_grad();
    Tensor loss = cross_entropy(model->forward(images), labels);
    for (auto& [aux_name, aux] : model->aux_losses()) loss = add(loss, aux);
    loss.backward();
    opt.step();
  };
  for (int s = 0; s < a.warmup; ++s) train_step();
  uint64_t flops = kernels::gemm_flop_count();
  auto start = std::chrono::steady_clock::now();
  for (int s = 0; s < a.steps; ++s) train_step();
  const double train_rate = double(a.batch * a.steps) / seconds_since(start);
  const double train_gflop = double(kernels::gemm_flop_count() - flops) * 1e-9 / double(a.batch * a.steps);

  model->eval();
  NoGradGuard no_grad;
  model->forward(images);  // untimed, as the training steps' warm-up
  flops = kernels::gemm_flop_count();
  start = std::chrono::steady_clock::now();
  for (int s = 0; s < a.infer; ++s) model->forward(images);
  const double infer_rate = double(a.batch * a.infer) / seconds_since(start);
  const double infer_gflop = double(kernels::gemm_flop_count() - flops) * 1e-9 / double(a.batch * a.infer);
  const double rss = peak_rss_mb();

  std::printf("side=cf model=%s batch=%lld threads=%d params=%lld train_img_s=%.2f infer_img_s=%.2f "
              "rss_base_mb=%.1f peak_rss_mb=%.1f steps=%d infer=%d train_gflop_img=%.4f "
              "infer_gflop_img=%.4f fma_peak_gflop_s=%.1f\n",
              a.name.c_str(), static_cast<long long>(a.batch), a.threads,
              static_cast<long long>(model->num_parameters()), train_rate, infer_rate, base_rss,
              rss, a.steps, a.infer, train_gflop, infer_gflop, cf::bench::fma_peak_gflops(a.threads));
}

void run_autograd(const Args& a) {
  std::vector<double> us_per_op;
  for (int run = 0; run < a.runs; ++run) {
    Tensor x0 = Tensor::full({16}, 1.0f);
    x0.requires_grad_();
    const auto start = std::chrono::steady_clock::now();
    Tensor x = x0;
    for (int64_t i = 0; i < a.ops; ++i) x = i % 2 == 0 ? mul_scalar(x, 1.0001f) : add_scalar(x, 0.0001f);
    sum(x).backward();
    us_per_op.push_back(seconds_since(start) * 1e6 / double(a.ops));
  }
  std::sort(us_per_op.begin(), us_per_op.end());
  std::printf("side=cf model=autograd threads=%d ops=%lld runs=%d us_per_op=%.3f peak_rss_mb=%.1f\n",
              a.threads, static_cast<long long>(a.ops), a.runs, us_per_op[us_per_op.size() / 2],
              peak_rss_mb());
}

}  // namespace

int main(int argc, char** argv) {
  const Args a = parse(argc, argv);
  kernels::set_num_threads(a.threads);
  set_buffer_pool_enabled(a.pool);
  try {
    if (a.name == "autograd") run_autograd(a);
    else run_model(a);
  } catch (const Error& e) {
    std::fprintf(stderr, "bench_train: %s\n", e.what());
    return 1;
  }
  return 0;
}
