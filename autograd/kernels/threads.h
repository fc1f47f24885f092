// One thread pool for every kernel, with deterministic work splitting.
//
//   parallel_for(n, grain, [&](int64_t begin, int64_t end) { ... });
//
// cuts [0, n) into chunks [0, grain), [grain, 2 grain), ... fixed by n and
// grain alone; the threads only decide who runs which chunk. So as long as
// each chunk's result does not depend on which thread ran it (true for any
// function of its [begin, end) range), the output is bit-identical whatever
// the thread count: 1, 2 or 8. Reductions use parallel_reduce, which keeps
// one partial per chunk and combines them in chunk order.
//
// The pool size comes from CF_NUM_THREADS (default: hardware threads) and can
// be changed with set_num_threads(). The calling thread works too, so a pool
// of n threads has n - 1 workers.
//
// A parallel_for called from inside a chunk (nested) runs its chunks inline,
// in order, on the calling thread: no deadlock, same chunk boundaries. An
// exception thrown by a chunk stops the remaining chunks from starting and is
// rethrown to the caller of parallel_for.
#pragma once
#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <utility>
#include <vector>

namespace cf::kernels {

// Threads parallel_for uses (the caller included). Always >= 1.
int num_threads();

// Resize the pool. n >= 1, else std::invalid_argument. Must not be called
// while a parallel_for is running on another thread; from inside a chunk it
// throws std::logic_error.
void set_num_threads(int n);

// True while the current thread is running a parallel_for chunk.
bool in_parallel_region();

namespace detail {
using ChunkFn = void (*)(void* ctx, int64_t begin, int64_t end);
// ceil(n / grain); n < 0 or grain < 1 throws std::invalid_argument naming `fn`.
int64_t chunk_count(const char* fn, int64_t n, int64_t grain);
void parallel_for_impl(int64_t n, int64_t grain, ChunkFn fn, void* ctx);
}  // namespace detail

// Run fn(begin, end) over the chunks of [0, n) described above. grain < 1 or
// n < 0 throws std::invalid_argument.
template <class F>
void parallel_for(int64_t n, int64_t grain, F&& fn) {
  using Fn = std::remove_reference_t<F>;
  detail::parallel_for_impl(
      n, grain,
      [](void* ctx, int64_t b, int64_t e) { (*static_cast<Fn*>(ctx))(b, e); },
      const_cast<void*>(static_cast<const void*>(&fn)));
}

// Deterministic reduction: partial = map(begin, end) per chunk, then
// init combined with every partial in chunk order. Arguments as parallel_for.
template <class T, class Map, class Combine>
T parallel_reduce(int64_t n, int64_t grain, T init, Map&& map, Combine&& combine) {
  std::vector<T> partial(static_cast<size_t>(detail::chunk_count("parallel_reduce", n, grain)));
  parallel_for(n, grain, [&](int64_t b, int64_t e) { partial[b / grain] = map(b, e); });
  for (T& p : partial) init = combine(std::move(init), std::move(p));
  return init;
}

}  // namespace cf::kernels
