#include "autograd/buffer_pool.h"

#include <algorithm>
#include <cstdlib>
#include <mutex>
#include <new>
#include <unordered_map>
#include <utility>
#include <vector>

#if defined(__SANITIZE_ADDRESS__)
#define CF_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CF_ASAN 1
#endif
#endif
#ifdef CF_ASAN
#include <sanitizer/asan_interface.h>
#endif
#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace cf {

namespace {

// Buffers of 2 MiB and more start on a 2 MiB boundary, rounded up to whole
// 2 MiB, and Linux is asked to back them with transparent huge pages (a
// hint: where THP is off, nothing changes). With 4 KiB pages, a product
// writing a buffer not touched for a while, or the Columnformer reading its
// untied weights, misses the TLB every 4 KiB. On Zen 5 at 1 thread
// (docs/PERFORMANCE.md, "Huge pages for the large buffers"): the
// Columnformer's training 1.11x at batch 64 and 1.15x at 128, Mixer's
// 1.05-1.08x, the other models' 0.98-1.06x; peak RSS within 2 MB.
void* system_allocate(size_t bytes) {
#if defined(_MSC_VER)
  return _aligned_malloc(bytes, 64);
#else
#if defined(__linux__)
  constexpr size_t kHugePage = size_t(2) << 20;
  if (bytes >= kHugePage) {
    const size_t whole = (bytes + kHugePage - 1) / kHugePage * kHugePage;
    void* p = std::aligned_alloc(kHugePage, whole);
    if (p) madvise(p, whole, MADV_HUGEPAGE);
    return p;
  }
#endif
  return std::aligned_alloc(64, bytes);
#endif
}

void system_free(void* p) {
#if defined(_MSC_VER)
  _aligned_free(p);
#else
  std::free(p);
#endif
}

// An idle buffer is poisoned under AddressSanitizer: reading a tensor after
// its last handle is gone is reported, as it would be without the pool.
void set_idle(void* p, size_t bytes, bool idle) {
#ifdef CF_ASAN
  if (idle) ASAN_POISON_MEMORY_REGION(p, bytes);
  else ASAN_UNPOISON_MEMORY_REGION(p, bytes);
#else
  (void)p, (void)bytes, (void)idle;
#endif
}

class BufferPool {
 public:
  void* take(size_t bytes) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stats_.live_bytes += int64_t(bytes);
      stats_.peak_live_bytes = std::max(stats_.peak_live_bytes, stats_.live_bytes);
      auto found = idle_.find(bytes);
      if (found != idle_.end() && !found->second.buffers.empty()) {
        found->second.last_use = ++clock_;
        void* p = found->second.buffers.back();
        found->second.buffers.pop_back();
        stats_.idle_bytes -= int64_t(bytes);
        ++stats_.reuses;
        set_idle(p, bytes, false);
        return p;
      }
      ++stats_.system_allocations;
    }
    void* p = system_allocate(bytes);  // outside the lock: it may page-fault
    if (!p) {
      std::lock_guard<std::mutex> lock(mutex_);
      stats_.live_bytes -= int64_t(bytes);
      throw std::bad_alloc();
    }
    return p;
  }

  // Keeps p idle if it fits the budget, making room by evicting the buffers
  // of the sizes used longest ago; else returns it to the system.
  void give_back(void* p, size_t bytes) {
    std::vector<std::pair<void*, size_t>> evicted;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stats_.live_bytes -= int64_t(bytes);
      // Twice the peak: see the header for why once is not enough.
      const int64_t budget = enabled_ ? 2 * stats_.peak_live_bytes : 0;
      while (int64_t(bytes) <= budget && stats_.idle_bytes + int64_t(bytes) > budget) {
        const auto oldest = least_recently_used(bytes);
        if (oldest == idle_.end()) break;
        evicted.emplace_back(oldest->second.buffers.back(), oldest->first);
        oldest->second.buffers.pop_back();
        stats_.idle_bytes -= int64_t(oldest->first);
        if (oldest->second.buffers.empty()) idle_.erase(oldest);
      }
      if (stats_.idle_bytes + int64_t(bytes) <= budget) {
        Bin& bin = idle_[bytes];
        bin.last_use = ++clock_;
        bin.buffers.push_back(p);
        stats_.idle_bytes += int64_t(bytes);
        set_idle(p, bytes, true);
        p = nullptr;
      }
    }
    for (const auto& [q, size] : evicted) {
      set_idle(q, size, false);
      system_free(q);
    }
    if (p) system_free(p);
  }

  void release() {
    std::unordered_map<size_t, Bin> idle;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      idle.swap(idle_);
      stats_.idle_bytes = 0;
    }
    for (auto& [bytes, bin] : idle)
      for (void* p : bin.buffers) {
        set_idle(p, bytes, false);
        system_free(p);
      }
  }

  void set_enabled(bool on) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      enabled_ = on;
    }
    if (!on) release();
  }

  bool enabled() {
    std::lock_guard<std::mutex> lock(mutex_);
    return enabled_;
  }

  BufferPoolStats stats() {
    std::lock_guard<std::mutex> lock(mutex_);
    return stats_;
  }

 private:
  // The idle buffers of one size, and when that size was last taken or
  // given back.
  struct Bin {
    std::vector<void*> buffers;
    uint64_t last_use = 0;
  };

  // The size other than `now` (being used this moment) whose idle buffers
  // were used longest ago. A scan, but only when the budget is full: sizes a
  // training step uses are touched every step, so what goes is what an
  // evaluation or an earlier shape left behind.
  std::unordered_map<size_t, Bin>::iterator least_recently_used(size_t now) {
    auto oldest = idle_.end();
    for (auto it = idle_.begin(); it != idle_.end(); ++it)
      if (it->first != now && !it->second.buffers.empty() &&
          (oldest == idle_.end() || it->second.last_use < oldest->second.last_use))
        oldest = it;
    return oldest;
  }

  std::mutex mutex_;
  bool enabled_ = true;
  std::unordered_map<size_t, Bin> idle_;  // by size in bytes
  uint64_t clock_ = 0;                    // counts takes and give-backs
  BufferPoolStats stats_;
};

// Never destroyed: tensors in static storage may be freed after every other
// static object is gone, and their buffers still come back here.
BufferPool& pool() {
  static BufferPool* const instance = new BufferPool;
  return *instance;
}

}  // namespace

std::shared_ptr<float> pooled_buffer(int64_t n) {
  size_t bytes = size_t(n > 0 ? n : 1) * sizeof(float);
  bytes = (bytes + 63) / 64 * 64;
  void* p = pool().take(bytes);
  return std::shared_ptr<float>(static_cast<float*>(p),
                                [bytes](float* q) { pool().give_back(q, bytes); });
}

BufferPoolStats buffer_pool_stats() { return pool().stats(); }
void buffer_pool_release() { pool().release(); }
void set_buffer_pool_enabled(bool on) { pool().set_enabled(on); }
bool buffer_pool_enabled() { return pool().enabled(); }

}  // namespace cf
