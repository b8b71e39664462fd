// The per-thread cache of coroutine frames and call objects (see allocate_frame
// in actio/task.hpp).
#include <new>

#include "actio/task.hpp"

namespace actio::detail {

namespace {

constexpr std::size_t kGranule = 64;
constexpr std::size_t kClasses = 24;  // blocks up to 1.5 KiB (a client call is 1.2)
constexpr unsigned kKeep = 16;        // freed frames kept per class

// Trivially destructible, so it stays usable while the thread's other
// thread_local objects are destroyed (a frame freed then goes to the heap).
struct FramePool {
  void* frames[kClasses][kKeep];
  unsigned char count[kClasses];
  bool registered;  // the Drain below will empty it at thread exit
  bool closed;      // emptied: free to the heap from now on
};
thread_local FramePool t_pool;

struct Drain {
  bool armed = false;
  ~Drain() {
    for (std::size_t c = 0; c < kClasses; ++c) {
      while (t_pool.count[c] > 0) ::operator delete(t_pool.frames[c][--t_pool.count[c]]);
    }
    t_pool.closed = true;
  }
};
thread_local Drain t_drain;

// AddressSanitizer must see every frame freed, or it misses a use after free.
#if defined(__SANITIZE_ADDRESS__)
constexpr bool kPooled = false;
#else
constexpr bool kPooled = true;
#endif

}  // namespace

void* allocate_frame(std::size_t size) {
  std::size_t c = (size + kGranule - 1) / kGranule - 1;
  if (!kPooled || c >= kClasses) return ::operator new(size);
  FramePool& pool = t_pool;
  if (pool.count[c] > 0) return pool.frames[c][--pool.count[c]];
  return ::operator new((c + 1) * kGranule);  // any frame of its class fits later
}

void free_frame(void* frame, std::size_t size) noexcept {
  std::size_t c = (size + kGranule - 1) / kGranule - 1;
  if (!kPooled || c >= kClasses) {
    ::operator delete(frame);
    return;
  }
  FramePool& pool = t_pool;
  if (pool.closed || pool.count[c] == kKeep) {
    ::operator delete(frame);
    return;
  }
  if (!pool.registered) {
    pool.registered = true;
    t_drain.armed = true;  // its first use registers its destructor for thread exit
  }
  pool.frames[c][pool.count[c]++] = frame;
}

}  // namespace actio::detail
