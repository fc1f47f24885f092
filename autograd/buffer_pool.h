// The buffer pool behind Tensor::empty: freed tensor buffers are kept, by
// size, and handed out again, so a training step that repeats the previous
// one's shapes takes no memory from the system (no malloc, no mmap, no page
// faults). glibc serves blocks above its mmap threshold (up to 32 MiB) with a
// fresh mmap and unmaps them when freed, so without the pool every large
// activation was page-faulted again on every step (docs/PERFORMANCE.md,
// "Memory").
//
// Buffers are keyed by their exact size in 64-byte lines: a steady-state step
// asks for the same sizes each time, and exact sizes waste nothing. The pool
// keeps at most twice as many idle bytes as the most that were ever in use
// at once. Twice, because without splitting blocks a step needs for each
// size the most buffers of that size ever live at once, and the sum of those
// maxima exceeds the peak working set (by 2 buffers of ViT-lite's step in
// tests/test_buffer_pool.cpp with a bound of once the peak). A buffer freed
// beyond the bound makes room by returning to the system the idle buffers of
// the sizes used longest ago (those an evaluation or an earlier shape left
// behind), or, when only its own size is left, goes back itself. Memory held
// thus stays within three times the peak working set even when shapes
// change, and training after an evaluation is as steady as before it.
//
// Thread-safe (the data loader allocates batches on its own thread). Under
// AddressSanitizer an idle buffer is poisoned, so a use after free is still
// reported.
#pragma once
#include <cstdint>
#include <memory>

namespace cf {

// A 64-byte-aligned buffer of at least `n` floats (one when n is 0), from the
// pool when it holds one of that size, else from the system (on Linux, one of
// 2 MiB or more on a 2 MiB boundary, offered transparent huge pages). Its
// contents are not initialised. The shared_ptr returns it to the pool.
std::shared_ptr<float> pooled_buffer(int64_t n);

struct BufferPoolStats {
  int64_t system_allocations = 0;  // buffers taken from the system, ever
  int64_t reuses = 0;              // requests served from the pool, ever
  int64_t live_bytes = 0;          // in tensors now
  int64_t peak_live_bytes = 0;     // the most ever in tensors at once
  int64_t idle_bytes = 0;          // held by the pool for reuse
};
BufferPoolStats buffer_pool_stats();

// Returns every idle buffer to the system (as PyTorch's empty_cache), e.g.
// after training, before a memory-hungry step of another kind.
void buffer_pool_release();

// The pool is on by default; off, every buffer is taken from and returned to
// the system (for measuring what the pool is worth, or for tools such as
// Valgrind that track each allocation). Turning it off releases idle buffers.
void set_buffer_pool_enabled(bool on);
bool buffer_pool_enabled();

}  // namespace cf
