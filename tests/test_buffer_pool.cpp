// The buffer pool behind Tensor::empty (autograd/buffer_pool.h): freed
// buffers are reused by size, a steady-state training step takes nothing
// from the system, idle memory is bounded, and the pool is thread-safe.
#include <thread>
#include <vector>

#include "autograd/buffer_pool.h"
#include "autograd/graph.h"
#include "nn/registry.h"
#include "tests/helpers.h"
#include "train/optim.h"

using namespace cf;

TEST_CASE("a freed buffer is handed out again for the same size", "[pool]") {
  buffer_pool_release();  // no idle buffer left over from other tests
  const float* first = nullptr;
  {
    Tensor a = Tensor::empty({1237});
    first = a.data();
  }
  const BufferPoolStats before = buffer_pool_stats();
  Tensor b = Tensor::empty({1237});
  const BufferPoolStats after = buffer_pool_stats();
  CHECK(b.data() == first);
  CHECK(after.reuses == before.reuses + 1);
  CHECK(after.system_allocations == before.system_allocations);
  // Another size is not served from that buffer.
  Tensor c = Tensor::empty({1238 + 64});
  CHECK(buffer_pool_stats().system_allocations == before.system_allocations + 1);
}

#if defined(__linux__)
TEST_CASE("buffers of 2 MiB and more start on a 2 MiB boundary", "[pool]") {
  buffer_pool_release();
  // Two sizes, so that a 4 KiB-aligned block landing on a boundary by
  // chance (1 in 512) is not enough to pass.
  for (int64_t floats : {int64_t(512) * 1024, int64_t(3) * 256 * 1024 + 5}) {
    Tensor t = Tensor::empty({floats});
    CHECK(reinterpret_cast<uintptr_t>(t.data()) % (uintptr_t(2) << 20) == 0);
  }
  {
    Tensor small = Tensor::empty({1000});
    CHECK(reinterpret_cast<uintptr_t>(small.data()) % 64 == 0);
  }
  buffer_pool_release();  // idle buffers of sizes no later test asks for would fill its budget
}
#endif

TEST_CASE("a steady-state training step takes no memory from the system", "[pool]") {
  const std::vector<std::pair<std::string, std::string>> models = {
      {"cct_2_3x2", "image_size = 16\ndim = 32\nheads = 2\nconv_channels = 8\n"},
      {"vit_lite_cpu", "image_size = 16\ndim = 32\ndepth = 2\nheads = 2\n"},
      {"mixer_cifar", "image_size = 16\ndim = 32\ndepth = 2\n"},
      {"vision_columnformer_ff_tiny_cifar", "image_size = 16\ndim = 16\ndepth = 2\n"}};
  for (const auto& [name, text] : models) {
    INFO(name);
    auto model = build_model(name, Config::parse(text, name));
    AdamW optimizer({ParamGroup{model->parameters(), 0.05f, "all"}}, 1e-3f);
    const Tensor images = Tensor::randn({8, 3, 16, 16}, 5);
    auto step = [&] {
      Tensor loss = cross_entropy(model->forward(images), {0, 1, 2, 3, 4, 5, 6, 7});
      for (const auto& [aux_name, aux] : model->aux_losses()) loss = loss + aux;
      model->zero_grad();
      loss.backward();
      optimizer.step();
    };
    step();  // the first steps fill the pool (AdamW's moments, the gradients)
    step();
    const BufferPoolStats before = buffer_pool_stats();
    step();
    const BufferPoolStats after = buffer_pool_stats();
    CHECK(after.system_allocations == before.system_allocations);
    CHECK(after.reuses > before.reuses);
  }
}

TEST_CASE("training is steady again after an evaluation of other shapes", "[pool]") {
  // An evaluation, or any run of other shapes, leaves idle buffers of sizes
  // the training never asks for. They must not take the idle budget from the
  // training's own buffers, or every later step would return some of those
  // to the system and take them back (8 per step here before the pool
  // evicted the sizes used longest ago).
  buffer_pool_release();
  auto model = build_model("vit_lite_cpu", Config::parse("image_size = 16\ndim = 32\ndepth = 2\n"
                                                         "heads = 2\n", "vit_lite_cpu"));
  AdamW optimizer({ParamGroup{model->parameters(), 0.05f, "all"}}, 1e-3f);
  const Tensor images = Tensor::randn({8, 3, 16, 16}, 5);
  auto step = [&] {
    Tensor loss = cross_entropy(model->forward(images), {0, 1, 2, 3, 4, 5, 6, 7});
    model->zero_grad();
    loss.backward();
    optimizer.step();
  };
  step();
  step();
  {
    NoGradGuard no_grad;
    for (int64_t batch = 1; batch <= 30; ++batch)
      model->forward(Tensor::randn({batch, 3, 16, 16}, 6));
  }
  step();  // may take back what the evaluation displaced
  const BufferPoolStats before = buffer_pool_stats();
  step();
  step();
  const BufferPoolStats after = buffer_pool_stats();
  CHECK(after.system_allocations == before.system_allocations);
  CHECK(after.idle_bytes <= 2 * after.peak_live_bytes);
}

TEST_CASE("the pool keeps at most twice the peak live memory idle", "[pool]") {
  {
    std::vector<Tensor> many;
    for (int i = 0; i < 50; ++i) many.push_back(Tensor::empty({1000 + 16 * i}));
  }
  const BufferPoolStats s = buffer_pool_stats();
  CHECK(s.idle_bytes > 0);
  CHECK(s.idle_bytes <= 2 * s.peak_live_bytes);  // the bound of buffer_pool.h
  buffer_pool_release();
  CHECK(buffer_pool_stats().idle_bytes == 0);
}

TEST_CASE("with the pool off every buffer comes from the system", "[pool]") {
  REQUIRE(buffer_pool_enabled());
  set_buffer_pool_enabled(false);
  CHECK(buffer_pool_stats().idle_bytes == 0);
  const BufferPoolStats before = buffer_pool_stats();
  for (int i = 0; i < 3; ++i) Tensor::empty({4096});
  const BufferPoolStats after = buffer_pool_stats();
  set_buffer_pool_enabled(true);
  CHECK(after.system_allocations == before.system_allocations + 3);
  CHECK(after.reuses == before.reuses);
  CHECK(after.idle_bytes == 0);
}

TEST_CASE("tensors are allocated and freed from several threads at once", "[pool][threads]") {
  // The data loader builds batches on its own thread and the training loop
  // frees them: the pool's bookkeeping must stay whole (TSan checks the rest).
  const int64_t live_before = buffer_pool_stats().live_bytes;
  std::vector<std::thread> threads;
  std::vector<double> sums(4, 0.0);
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([t, &sums] {
      for (int i = 0; i < 2000; ++i) {
        Tensor a = Tensor::full({int64_t(16 + (i % 7) * 16)}, float(t));
        sums[size_t(t)] += a.data()[0];
      }
    });
  for (std::thread& th : threads) th.join();
  for (int t = 0; t < 4; ++t) CHECK(sums[size_t(t)] == 2000.0 * t);
  CHECK(buffer_pool_stats().live_bytes == live_before);
}
