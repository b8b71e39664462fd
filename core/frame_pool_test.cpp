// The per-thread cache of coroutine frames: a freed frame is reused by the
// next frame of its size class on the same thread, bigger frames and other
// classes are not, and tasks whose frames come from it run as before.
#include <gtest/gtest.h>
#include <malloc.h>

#include <cstring>
#include <set>
#include <thread>
#include <vector>

#include "actio/aio.hpp"
#include "actio/task.hpp"

using actio::Task;
using actio::detail::allocate_frame;
using actio::detail::free_frame;

namespace {

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kPooled = false;  // AddressSanitizer sees every frame freed
#else
constexpr bool kPooled = true;
#endif

Task<int> leaf(int x) { co_return x * 2; }

Task<int> chain(int depth) {
  if (depth == 0) co_return 1;
  int below = co_await chain(depth - 1);
  co_return below + co_await leaf(depth);
}

}  // namespace

TEST(FramePool, AFreedFrameServesTheNextOfItsSizeClassWholly) {
  if (!kPooled) GTEST_SKIP() << "frames are not cached under AddressSanitizer";
  void* p = allocate_frame(65);  // the 128-byte class
  free_frame(p, 65);
  void* q = allocate_frame(128);  // the same class: the same frame, 128 bytes usable
  EXPECT_EQ(q, p);
  EXPECT_GE(malloc_usable_size(q), 128u) << "a frame is allocated at its class's size";
  std::memset(q, 0xab, 128);
  void* r = allocate_frame(100);  // the class is empty again: a new frame
  EXPECT_NE(r, q);
  free_frame(r, 100);
  free_frame(q, 128);
}

TEST(FramePool, CallStatesUpToNineAndAHalfKibibytesAreCached) {
  if (!kPooled) GTEST_SKIP() << "frames are not cached under AddressSanitizer";
  // A client call's state (about 1.2 KiB) and a server call's (5.6 KiB) are
  // over glibc's per-thread cache of chunks up to 1 KiB; the pool keeps them.
  void* p = allocate_frame(1200);
  free_frame(p, 1200);
  void* q = allocate_frame(1200);
  EXPECT_EQ(q, p);
  void* last_small = allocate_frame(1536);  // the last 64-byte class
  free_frame(last_small, 1536);
  EXPECT_EQ(allocate_frame(1500), last_small);
  // 512-byte classes above: 5,700 bytes are the 5,632-6,144 class.
  void* server = allocate_frame(5700);
  EXPECT_GE(malloc_usable_size(server), 6144u);
  std::memset(server, 0xcd, 6144);
  free_frame(server, 5700);
  EXPECT_EQ(allocate_frame(6144), server);
  void* other = allocate_frame(5632);  // the class below: not the cached block
  EXPECT_NE(other, server);
  free_frame(other, 5632);
  void* largest = allocate_frame(9728);  // the last class
  free_frame(largest, 9728);
  EXPECT_EQ(allocate_frame(9217), largest);
  free_frame(largest, 9217);
  free_frame(server, 6144);
  free_frame(last_small, 1500);
  free_frame(q, 1200);
}

TEST(FramePool, OtherClassesAndFramesOverNineAndAHalfKibibytesAreNotServedFromIt) {
  if (!kPooled) GTEST_SKIP() << "frames are not cached under AddressSanitizer";
  void* small = allocate_frame(40);  // the 64-byte class
  free_frame(small, 40);
  void* other = allocate_frame(200);  // the 256-byte class: not the cached 64-byte frame
  EXPECT_NE(other, small);
  void* again = allocate_frame(64);
  EXPECT_EQ(again, small);
  free_frame(other, 200);
  free_frame(again, 64);
  std::vector<void*> big;
  for (int i = 0; i < 4; ++i) big.push_back(allocate_frame(9729));  // just over the largest class
  std::set<void*> distinct(big.begin(), big.end());
  EXPECT_EQ(distinct.size(), big.size());
  for (void* b : big) free_frame(b, 9729);
}

TEST(FramePool, EachThreadHasItsOwnCache) {
  if (!kPooled) GTEST_SKIP() << "frames are not cached under AddressSanitizer";
  void* mine = allocate_frame(300);
  free_frame(mine, 300);
  void* theirs = nullptr;
  std::thread([&] {
    theirs = allocate_frame(300);  // not this thread's cached frame
    free_frame(theirs, 300);       // kept by that thread, freed when it exits
  }).join();
  EXPECT_NE(theirs, mine);
  void* back = allocate_frame(300);
  EXPECT_EQ(back, mine);
  free_frame(back, 300);
}

TEST(FramePool, TasksWithCachedFramesComputeAsBefore) {
  // Deep chains and many concurrent tasks, more than the cache keeps per
  // class, on two loops (threads) one after the other.
  for (int round = 0; round < 2; ++round) {
    int got = 0;
    std::thread([&] {
      got = actio::run([]() -> Task<int> {
        std::vector<Task<int>> tasks;
        for (int i = 0; i < 50; ++i) tasks.push_back(chain(i % 20));
        auto results = co_await actio::gather(std::move(tasks));
        int sum = 0;
        for (int r : results) sum += r;
        co_return sum;
      }());
    }).join();
    // chain(d) = 1 + 2 * (1 + ... + d) = 1 + d (d + 1)
    int want = 0;
    for (int i = 0; i < 50; ++i) want += 1 + (i % 20) * (i % 20 + 1);
    EXPECT_EQ(got, want);
  }
}
