// Training speed of one untied Columnformer block at the CIFAR size (64
// columns, D 128): every Linear and LayerNorm untied (ARCHITECTURES.md 3.1,
// 3.3 "untied", 3.4), 4 heads, MLP ratio 2. One training step is forward,
// backward and an AdamW update; the figure is images per second, the median
// of several timed runs, at 1 and 2 threads and batch 64 and 128.
// bench/bench_columnformer_torch.py times the same block written with
// torch.einsum (docs/COLUMNFORMER.md has the commands and the ratio).
// Then each registered CIFAR configuration (3.7), whole model with its
// auxiliary losses, at batch 64 and 2 threads: images/s and the minutes
// one epoch of CIFAR-10 (50000 images) takes at that rate.
//
//   ./build/bench/bench_columnformer [runs] [steps per run]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "autograd/kernels/threads.h"
#include "autograd/ops.h"
#include "nn/columnformer.h"
#include "train/optim.h"

using namespace cf;

namespace {

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

// The median over `runs` of batch * steps / seconds for `step`.
template <class Step>
double median_rate(Step step, int64_t batch, int runs, int steps) {
  step();  // warm-up: pack buffers, optimiser state
  std::vector<double> rates;
  for (int run = 0; run < runs; ++run) {
    auto start = std::chrono::steady_clock::now();
    for (int s = 0; s < steps; ++s) step();
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    rates.push_back(double(batch * steps) / seconds);
  }
  std::sort(rates.begin(), rates.end());
  return rates[rates.size() / 2];
}

double block_images_per_second(int64_t batch, int runs, int steps) {
  ColumnBlock block(untied_block());
  block.init_parameters(0);
  AdamW opt(weight_decay_groups(block.named_parameters(), 0.05f, true), 1e-4f);
  const Tensor x = Tensor::randn({batch, 64, 128}, 1);
  const Tensor r = Tensor::randn({batch, 64, 128}, 2);
  auto step = [&] {
    opt.zero_grad();
    sum(mul(block.forward(x), r)).backward();
    opt.step();
  };
  return median_rate(step, batch, runs, steps);
}

double model_images_per_second(const std::string& name, int64_t batch, int runs, int steps) {
  auto model = build_model(name);
  AdamW opt(weight_decay_groups(model->named_parameters(), 0.05f), 6e-4f);
  const Tensor images = Tensor::randn({batch, 3, 32, 32}, 1);
  std::vector<int64_t> labels(static_cast<size_t>(batch));
  for (int64_t i = 0; i < batch; ++i) labels[size_t(i)] = i % 10;
  auto step = [&] {
    opt.zero_grad();
    Tensor loss = cross_entropy(model->forward(images), labels);
    for (auto& [aux_name, aux] : model->aux_losses()) loss = add(loss, aux);
    loss.backward();
    opt.step();
  };
  return median_rate(step, batch, runs, steps);
}

}  // namespace

int main(int argc, char** argv) {
  const int runs = argc > 1 ? std::atoi(argv[1]) : 5;
  const int steps = argc > 2 ? std::atoi(argv[2]) : 3;
  {
    ColumnBlock block(untied_block());
    std::printf("untied Columnformer block: N 64, D 128, 4 heads, MLP ratio 2, %lld parameters\n",
                static_cast<long long>(block.num_parameters()));
  }
  std::printf("%-8s %-6s %12s   (forward + backward + AdamW, median of %d runs of %d steps)\n", "threads",
              "batch", "images/s", runs, steps);
  for (int threads : {1, 2}) {
    kernels::set_num_threads(threads);
    for (int64_t batch : {64, 128})
      std::printf("%-8d %-6lld %12.1f\n", threads, static_cast<long long>(batch),
                  block_images_per_second(batch, runs, steps));
  }

  std::printf("\nregistered CIFAR configurations, batch 64, 2 threads, median of 3 runs of 2 steps\n");
  std::printf("%-36s %12s %10s %14s\n", "model", "parameters", "images/s", "epoch (min)");
  for (const ModelInfo& info : columnformer_models()) {
    const std::string& name = info.name;
    if (name.rfind("_cifar") != name.size() - 6) continue;
    const double rate = model_images_per_second(name, 64, 3, 2);
    std::printf("%-36s %12lld %10.1f %14.1f\n", name.c_str(),
                static_cast<long long>(build_model(name)->num_parameters()), rate, 50000.0 / rate / 60.0);
  }
  return 0;
}
