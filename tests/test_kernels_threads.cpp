// The thread pool: fixed chunk boundaries, deterministic reductions, nesting,
// exceptions, and run-time resizing.
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <utility>
#include <vector>

#include "autograd/kernels/threads.h"
#include "tests/catch.h"
#include "tests/test_kernels_util.h"

using namespace cf::kernels;

TEST_CASE("parallel_for chunk boundaries depend on n and grain only", "[kernels][threads]") {
  cf::test::ThreadCountGuard guard;
  for (int threads : {1, 2, 8}) {
    set_num_threads(threads);
    REQUIRE(num_threads() == threads);
    for (int64_t n : {0, 1, 7, 100, 1001}) {
      std::mutex mu;
      std::vector<std::pair<int64_t, int64_t>> chunks;
      std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
      parallel_for(n, 16, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) hits[size_t(i)]++;
        std::lock_guard<std::mutex> lock(mu);
        chunks.emplace_back(b, e);
      });
      std::sort(chunks.begin(), chunks.end());
      REQUIRE(chunks.size() == size_t((n + 15) / 16));
      for (size_t c = 0; c < chunks.size(); ++c) {
        REQUIRE(chunks[c].first == int64_t(c) * 16);
        REQUIRE(chunks[c].second == std::min<int64_t>(n, int64_t(c + 1) * 16));
      }
      for (auto& h : hits) REQUIRE(h.load() == 1);
    }
  }
}

TEST_CASE("parallel_reduce is bit-identical with 1, 2 and 8 threads", "[kernels][threads]") {
  cf::test::ThreadCountGuard guard;
  // Values of very different magnitude, so that any change in summation
  // order changes the float result.
  std::vector<float> x = cf::test::uniform(100003, 5, -1.0f, 1.0f);
  for (size_t i = 0; i < x.size(); i += 7) x[i] *= 1e4f;
  const int64_t n = int64_t(x.size()), grain = 1000;
  auto sum_chunk = [&](int64_t b, int64_t e) {
    float s = 0.0f;
    for (int64_t i = b; i < e; ++i) s += x[size_t(i)];
    return s;
  };
  // The order parallel_reduce promises: chunk partials, combined in order.
  float expected = 0.0f;
  for (int64_t b = 0; b < n; b += grain) expected += sum_chunk(b, std::min(n, b + grain));
  for (int threads : {1, 2, 8}) {
    set_num_threads(threads);
    for (int rep = 0; rep < 3; ++rep) {
      const float got = parallel_reduce(n, grain, 0.0f, sum_chunk,
                                        [](float a, float b) { return a + b; });
      REQUIRE(std::memcmp(&got, &expected, sizeof(float)) == 0);
    }
  }
}

TEST_CASE("nested parallel_for runs inline without deadlock", "[kernels][threads]") {
  cf::test::ThreadCountGuard guard;
  set_num_threads(2);
  std::atomic<int64_t> total{0};
  std::atomic<bool> inner_was_inline{true};
  std::atomic<bool> outer_in_region{true};
  // Catch's assertions are not thread-safe: chunks record, the caller asserts.
  parallel_for(8, 1, [&](int64_t, int64_t) {
    if (!in_parallel_region()) outer_in_region = false;
    parallel_for(100, 10, [&](int64_t b, int64_t e) {
      if (!in_parallel_region()) inner_was_inline = false;
      total += e - b;
    });
  });
  REQUIRE(total.load() == 800);
  REQUIRE(outer_in_region.load());
  REQUIRE(inner_was_inline.load());
  REQUIRE_FALSE(in_parallel_region());
}

TEST_CASE("an exception in a chunk reaches the caller and the pool survives",
          "[kernels][threads]") {
  cf::test::ThreadCountGuard guard;
  for (int threads : {1, 2, 8}) {
    set_num_threads(threads);
    REQUIRE_THROWS_AS(parallel_for(100, 1,
                                   [](int64_t b, int64_t) {
                                     if (b == 57) throw std::runtime_error("chunk 57");
                                   }),
                      std::runtime_error);
    std::atomic<int64_t> count{0};
    parallel_for(100, 3, [&](int64_t b, int64_t e) { count += e - b; });
    REQUIRE(count.load() == 100);
  }
}

TEST_CASE("thread pool argument errors", "[kernels][threads]") {
  cf::test::ThreadCountGuard guard;
  REQUIRE_THROWS_AS(set_num_threads(0), std::invalid_argument);
  REQUIRE_THROWS_AS(parallel_for(10, 0, [](int64_t, int64_t) {}), std::invalid_argument);
  REQUIRE_THROWS_AS(parallel_for(-1, 1, [](int64_t, int64_t) {}), std::invalid_argument);
  // parallel_reduce checks first: grain 0 divided by zero, n < 0 returned init.
  const auto sum = [](int64_t b, int64_t e) { return e - b; };
  const auto plus = [](int64_t a, int64_t b) { return a + b; };
  REQUIRE_THROWS_WITH(parallel_reduce<int64_t>(10, 0, 0, sum, plus),
                      "parallel_reduce: n = 10, grain = 0; need n >= 0 and grain >= 1");
  REQUIRE_THROWS_AS(parallel_reduce<int64_t>(-1, 1, 0, sum, plus), std::invalid_argument);
  // Chunk ends near INT64_MAX without overflow: two chunks, the second short.
  const int64_t big = INT64_MAX, half = big / 2 + 1;
  std::vector<std::pair<int64_t, int64_t>> chunks;
  std::mutex m;
  parallel_for(big, half, [&](int64_t b, int64_t e) {
    std::lock_guard<std::mutex> lock(m);
    chunks.emplace_back(b, e);
  });
  std::sort(chunks.begin(), chunks.end());
  REQUIRE(chunks == std::vector<std::pair<int64_t, int64_t>>{{0, half}, {half, big}});
  set_num_threads(2);
  REQUIRE_THROWS_AS(parallel_for(4, 1, [](int64_t, int64_t) { set_num_threads(3); }),
                    std::logic_error);
  REQUIRE(num_threads() == 2);
}
