// Times one AFT layer (ARCHITECTURES.md section 5), forward + backward, over
// 64 .. 4096 tokens: AFT-simple and AFT-conv must grow linearly in N,
// AFT-full quadratically. Median of several runs; batch 1, D 64, tokens on a
// square grid (AFT-conv: 2 heads, 3 x 3 kernels).
//
//   ./build-mix/bench/bench_aft [runs]      (default 5 runs per cell)
//
// The table gives, per variant, the median wall time and the median process
// CPU time of a layer, and the CPU time per token: flat for a linear
// variant. CPU time (all threads) counts the work done; on a shared machine
// the wall time also counts the time the process waited for a core.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <cstdlib>
#include <string>
#include <vector>

#include "autograd/kernels/threads.h"
#include "autograd/ops.h"
#include "nn/aft.h"

namespace {

double cpu_ms() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return 1e3 * double(t.tv_sec) + 1e-6 * double(t.tv_nsec);
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

struct Timing {
  double wall_ms, cpu_ms;
};

Timing time_layer(cf::AFT& aft, const cf::Tensor& x, int runs) {
  std::vector<double> wall, cpu;
  for (int r = 0; r < runs; ++r) {
    aft.zero_grad();
    const auto start = std::chrono::steady_clock::now();
    const double cpu_start = cpu_ms();
    cf::sum(aft.forward(x)).backward();
    cpu.push_back(cpu_ms() - cpu_start);
    wall.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
  }
  return {median(wall), median(cpu)};
}

}  // namespace

int main(int argc, char** argv) {
  const int runs = argc > 1 ? std::max(1, std::atoi(argv[1])) : 5;
  const int64_t dim = 64;
  const std::vector<std::string> variants = {"simple", "conv", "local", "full"};
  std::printf("bench_aft: one AFT layer, forward + backward, batch 1, D %lld, median of %d runs, %d threads\n",
              static_cast<long long>(dim), runs, cf::kernels::num_threads());
  std::printf("%6s", "N");
  for (const std::string& v : variants) std::printf(" | %-6s wall ms  cpu ms  cpu us/tok", v.c_str());
  std::printf("\n");
  for (int64_t grid : {8, 12, 16, 24, 32, 48, 64}) {
    const int64_t n = grid * grid;
    const cf::Tensor x = cf::Tensor::randn({1, n, dim}, 1);
    std::printf("%6lld", static_cast<long long>(n));
    for (const std::string& variant : variants) {
      cf::AftOptions o;
      o.variant = variant;
      o.dim = dim;
      o.tokens = n;
      o.grid = grid;
      o.window = 3;
      o.heads = 2;
      cf::AFT aft(o);
      const Timing t = time_layer(aft, x, runs);
      std::printf(" | %14.2f %7.2f %11.2f", t.wall_ms, t.cpu_ms, 1000.0 * t.cpu_ms / double(n));
      std::fflush(stdout);
    }
    std::printf("\n");
  }
  return 0;
}
