#include "autograd/kernels/threads.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <exception>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>
#define CF_CPU_RELAX() _mm_pause()
#else
#define CF_CPU_RELAX() std::this_thread::yield()
#endif

namespace cf::kernels {
namespace {

thread_local bool t_in_parallel = false;

// Sets t_in_parallel for the lifetime of a scope (exception-safe).
struct ParallelScope {
  bool saved = t_in_parallel;
  ParallelScope() { t_in_parallel = true; }
  ~ParallelScope() { t_in_parallel = saved; }
};

// The end of the chunk that starts at b (b + grain may overflow near 2^63).
int64_t chunk_end(int64_t b, int64_t n, int64_t grain) { return n - b > grain ? b + grain : n; }

// The chunks one thread takes first: [next, end) of the job's chunk indices.
// On its own cache line, as each is one thread's counter.
struct alignas(64) ChunkRange {
  std::atomic<int64_t> next{0};
  int64_t end = 0;
};

// One parallel_for in flight. It lives on the caller's stack; workers touch
// it only between joining (under the pool mutex) and leaving (`inside`).
//
// Thread t (the caller is 0) first runs the t-th contiguous share of the
// chunks, then helps the others with theirs. Consecutive parallel_fors over
// the same rows then give each thread the same rows, which its cache still
// holds from the last one (a layer norm after the matrix product that wrote
// its input), instead of a share that changes with who came first. Which
// thread runs a chunk still changes no result: the chunk boundaries are
// fixed by n and grain.
struct Job {
  detail::ChunkFn fn;
  void* ctx;
  int64_t n, grain, chunks;
  ChunkRange* ranges;                  // one per thread of the pool
  int threads;
  std::atomic<bool> failed{false};     // a chunk threw: start no new chunks
  std::atomic<int> inside{0};          // workers currently running this job
  std::mutex error_mutex;
  std::exception_ptr error;

  void split(ChunkRange* r, int t) {
    ranges = r;
    threads = t;
    for (int i = 0; i < t; ++i) {
      r[i].next.store(chunks * i / t, std::memory_order_relaxed);
      r[i].end = chunks * (i + 1) / t;
    }
  }

  // Thread `self` runs chunks until none are left: its own range, then the
  // others' from their fronts.
  void work(int self) {
    for (int k = 0; k < threads; ++k) {
      ChunkRange& r = ranges[(self + k) % threads];
      for (;;) {
        const int64_t c = r.next.fetch_add(1, std::memory_order_relaxed);
        if (c >= r.end || failed.load(std::memory_order_relaxed)) break;
        const int64_t b = c * grain;
        const int64_t e = chunk_end(b, n, grain);
        try {
          fn(ctx, b, e);
        } catch (...) {
          std::lock_guard<std::mutex> lock(error_mutex);
          if (!error) error = std::current_exception();
          failed.store(true, std::memory_order_relaxed);
        }
      }
    }
  }
};

class ThreadPool {
 public:
  explicit ThreadPool(int threads) : size_(threads), ranges_(size_t(threads)) {
    for (int i = 1; i < threads; ++i) workers_.emplace_back([this, i] { worker_loop(i); });
  }

  ~ThreadPool() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
    }
    wake_.notify_all();
    for (std::thread& t : workers_) t.join();
  }

  int size() const { return size_; }

  // Runs the job on this thread and the workers; returns when every chunk
  // is done and no worker still looks at the job.
  void run(Job& job) {
    job.split(ranges_.data(), size_);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      job_ = &job;
      generation_.fetch_add(1, std::memory_order_release);
    }
    wake_.notify_all();
    {
      ParallelScope scope;
      job.work(0);
    }
    // Close the door: workers that have not joined yet will not.
    {
      std::lock_guard<std::mutex> lock(mutex_);
      job_ = nullptr;
    }
    while (job.inside.load(std::memory_order_acquire) != 0) CF_CPU_RELAX();
  }

 private:
  void worker_loop(int self) {
    t_in_parallel = true;
    uint64_t seen = 0;
    for (;;) {
      // Spin briefly before sleeping: kernels often call parallel_for many
      // times in a row, and a condition-variable wake-up costs tens of us.
      const auto spin_until = std::chrono::steady_clock::now() + std::chrono::microseconds(50);
      while (generation_.load(std::memory_order_acquire) == seen &&
             std::chrono::steady_clock::now() < spin_until)
        for (int i = 0; i < 16; ++i) CF_CPU_RELAX();
      Job* job;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        wake_.wait(lock, [&] {
          return stop_ || generation_.load(std::memory_order_relaxed) != seen;
        });
        if (stop_) return;
        seen = generation_.load(std::memory_order_relaxed);
        job = job_;
        if (job == nullptr) continue;  // that job already finished
        job->inside.fetch_add(1, std::memory_order_relaxed);
      }
      job->work(self);
      job->inside.fetch_sub(1, std::memory_order_release);
    }
  }

  const int size_;
  std::vector<ChunkRange> ranges_;  // the running job's, reused by the next
  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::atomic<uint64_t> generation_{0};
  Job* job_ = nullptr;
  bool stop_ = false;
};

int default_threads() {
  if (const char* env = std::getenv("CF_NUM_THREADS")) {
    char* end = nullptr;
    const long n = std::strtol(env, &end, 10);
    if (end != env && *end == '\0' && n >= 1 && n <= 1024) return int(n);
  }
  const unsigned hw = std::thread::hardware_concurrency();
  return hw == 0 ? 1 : int(hw);
}

// The pool and the lock that lets one parallel_for at a time use it. Another
// thread that calls parallel_for meanwhile runs its chunks inline instead of
// waiting (same result, no deadlock).
std::mutex g_pool_mutex;
std::unique_ptr<ThreadPool> g_pool;
// The pool's size, readable without the lock (a chunk may ask while its
// parallel_for holds the lock).
std::atomic<int> g_pool_size{0};

ThreadPool& pool_locked() {
  if (!g_pool) {
    g_pool = std::make_unique<ThreadPool>(default_threads());
    g_pool_size.store(g_pool->size());
  }
  return *g_pool;
}

void run_inline(int64_t n, int64_t grain, detail::ChunkFn fn, void* ctx) {
  ParallelScope scope;
  for (int64_t b = 0; b < n; b = chunk_end(b, n, grain)) fn(ctx, b, chunk_end(b, n, grain));
}

}  // namespace

int num_threads() {
  if (const int n = g_pool_size.load()) return n;
  std::lock_guard<std::mutex> lock(g_pool_mutex);
  return pool_locked().size();
}

void set_num_threads(int n) {
  if (n < 1)
    throw std::invalid_argument("set_num_threads: n = " + std::to_string(n) +
                                ", need n >= 1");
  if (t_in_parallel)
    throw std::logic_error("set_num_threads: called from inside a parallel_for");
  std::lock_guard<std::mutex> lock(g_pool_mutex);
  if (g_pool && g_pool->size() == n) return;
  g_pool.reset();
  g_pool = std::make_unique<ThreadPool>(n);
  g_pool_size.store(n);
}

bool in_parallel_region() { return t_in_parallel; }

namespace detail {

int64_t chunk_count(const char* fn, int64_t n, int64_t grain) {
  if (n < 0 || grain < 1)
    throw std::invalid_argument(std::string(fn) + ": n = " + std::to_string(n) + ", grain = " +
                                std::to_string(grain) + "; need n >= 0 and grain >= 1");
  return n / grain + (n % grain != 0);  // (n + grain - 1) / grain could overflow
}

void parallel_for_impl(int64_t n, int64_t grain, ChunkFn fn, void* ctx) {
  const int64_t chunks = chunk_count("parallel_for", n, grain);
  if (chunks == 0) return;
  if (chunks == 1 || t_in_parallel) return run_inline(n, grain, fn, ctx);
  std::unique_lock<std::mutex> lock(g_pool_mutex, std::try_to_lock);
  if (!lock.owns_lock()) return run_inline(n, grain, fn, ctx);
  ThreadPool& pool = pool_locked();
  if (pool.size() == 1) {
    lock.unlock();
    return run_inline(n, grain, fn, ctx);
  }
  Job job;
  job.fn = fn;
  job.ctx = ctx;
  job.n = n;
  job.grain = grain;
  job.chunks = chunks;
  pool.run(job);
  lock.unlock();
  if (job.error) std::rethrow_exception(job.error);
}

}  // namespace detail
}  // namespace cf::kernels
