// The per-thread cache of coroutine frames and call objects (see allocate_frame
// in actio/task.hpp).
#include <new>

#include "actio/task.hpp"

namespace actio::detail {

namespace {

// Size classes: 64-byte steps up to 1.5 KiB (coroutine frames; a client
// call's state is 1.2 KiB), then 512-byte steps up to 9.5 KiB (a server
// call's state is 3.3 KiB).
constexpr std::size_t kSmallGranule = 64;
constexpr std::size_t kSmallClasses = 24;
constexpr std::size_t kSmallMax = kSmallGranule * kSmallClasses;
constexpr std::size_t kLargeGranule = 512;
constexpr std::size_t kLargeClasses = 16;
constexpr std::size_t kClasses = kSmallClasses + kLargeClasses;
constexpr std::size_t kMax = kSmallMax + kLargeGranule * kLargeClasses;
// Freed blocks kept per class: 16 small ones; 64 large ones, as a server
// loop's accepts (a server call each) come and go in bursts with its load.
constexpr unsigned kKeepSmall = 16;
constexpr unsigned kKeepLarge = 64;
constexpr unsigned keep_of(std::size_t c) { return c < kSmallClasses ? kKeepSmall : kKeepLarge; }
constexpr std::size_t first_slot(std::size_t c) {
  return c < kSmallClasses ? c * kKeepSmall : kSmallClasses * kKeepSmall + (c - kSmallClasses) * kKeepLarge;
}
constexpr std::size_t kSlots = first_slot(kClasses);

constexpr std::size_t class_of(std::size_t size) {
  if (size <= kSmallMax) return size == 0 ? 0 : (size - 1) / kSmallGranule;
  return kSmallClasses + (size - kSmallMax - 1) / kLargeGranule;
}
constexpr std::size_t class_size(std::size_t c) {
  return c < kSmallClasses ? (c + 1) * kSmallGranule : kSmallMax + (c - kSmallClasses + 1) * kLargeGranule;
}
static_assert(class_of(1) == 0 && class_of(64) == 0 && class_of(65) == 1 && class_of(kSmallMax) == kSmallClasses - 1);
static_assert(class_of(kSmallMax + 1) == kSmallClasses && class_size(kSmallClasses) == kSmallMax + kLargeGranule);
static_assert(class_of(kMax) == kClasses - 1 && class_size(kClasses - 1) == kMax);

// Trivially destructible, so it stays usable while the thread's other
// thread_local objects are destroyed (a frame freed then goes to the heap).
struct FramePool {
  void* blocks[kSlots];  // class c's at first_slot(c), count[c] of them
  unsigned char count[kClasses];
  bool registered;  // the Drain below will empty it at thread exit
  bool closed;      // emptied: free to the heap from now on
};
thread_local FramePool t_pool;

struct Drain {
  bool armed = false;
  ~Drain() {
    for (std::size_t c = 0; c < kClasses; ++c) {
      while (t_pool.count[c] > 0) ::operator delete(t_pool.blocks[first_slot(c) + --t_pool.count[c]]);
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
  if (!kPooled || size > kMax) return ::operator new(size);
  std::size_t c = class_of(size);
  FramePool& pool = t_pool;
  if (pool.count[c] > 0) return pool.blocks[first_slot(c) + --pool.count[c]];
  return ::operator new(class_size(c));  // any block of its class fits later
}

void free_frame(void* frame, std::size_t size) noexcept {
  if (!kPooled || size > kMax) {
    ::operator delete(frame);
    return;
  }
  std::size_t c = class_of(size);
  FramePool& pool = t_pool;
  if (pool.closed || pool.count[c] == keep_of(c)) {
    ::operator delete(frame);
    return;
  }
  if (!pool.registered) {
    pool.registered = true;
    t_drain.armed = true;  // its first use registers its destructor for thread exit
  }
  pool.blocks[first_slot(c) + pool.count[c]++] = frame;
}

}  // namespace actio::detail
