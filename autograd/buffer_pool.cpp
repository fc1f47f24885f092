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

namespace cf {

namespace {

void* system_allocate(size_t bytes) {
#if defined(_MSC_VER)
  return _aligned_malloc(bytes, 64);
#else
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
      if (found != idle_.end() && !found->second.empty()) {
        void* p = found->second.back();
        found->second.pop_back();
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

  void give_back(void* p, size_t bytes) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stats_.live_bytes -= int64_t(bytes);
      // Twice the peak: see the header for why once is not enough.
      if (enabled_ && stats_.idle_bytes + int64_t(bytes) <= 2 * stats_.peak_live_bytes) {
        idle_[bytes].push_back(p);
        stats_.idle_bytes += int64_t(bytes);
        set_idle(p, bytes, true);
        return;
      }
    }
    system_free(p);
  }

  void release() {
    std::unordered_map<size_t, std::vector<void*>> idle;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      idle.swap(idle_);
      stats_.idle_bytes = 0;
    }
    for (auto& [bytes, buffers] : idle)
      for (void* p : buffers) {
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
  std::mutex mutex_;
  bool enabled_ = true;
  std::unordered_map<size_t, std::vector<void*>> idle_;  // by size in bytes
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
