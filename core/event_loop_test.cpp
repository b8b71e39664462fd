// Units of the event loop, Task, sleep, gather, Event and cancellation.
#include "actio/event_loop.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "actio/event.hpp"
#include "actio/gather.hpp"
#include "actio/wait_for.hpp"

using namespace std::chrono_literals;
using actio::Task;

namespace {

Task<int> answer() { co_return 42; }

Task<int> add_later(int a, int b) {
  co_await actio::sleep(1ms);
  co_return a + b;
}

Task<void> boom() {
  co_await actio::sleep(1ms);
  throw std::runtime_error("boom");
}

/// Sleeps 10 s; sets `saw` if cancelled (and ends cancelled).
Task<void> sleep_noting_cancel(bool& saw) {
  try {
    co_await actio::sleep(10s);
  } catch (const actio::CancelledError&) {
    saw = true;
    throw;
  }
}

TEST(Task, ReturnsValueThroughRun) { EXPECT_EQ(actio::run(answer()), 42); }

TEST(Task, IsLazyUntilAwaited) {
  bool started = false;
  auto make = [&]() -> Task<void> {
    started = true;
    co_return;
  };
  auto t = make();
  EXPECT_FALSE(started);
  actio::run(std::move(t));
  EXPECT_TRUE(started);
}

TEST(Task, ExceptionsPropagateToTheAwaiter) {
  auto outer = []() -> Task<std::string> {
    try {
      co_await boom();
    } catch (const std::runtime_error& e) {
      co_return e.what();
    }
    co_return "no exception";
  };
  EXPECT_EQ(actio::run(outer()), "boom");
  EXPECT_THROW(actio::run(boom()), std::runtime_error);
}

TEST(Sleep, WaitsAtLeastTheDelay) {
  auto t0 = std::chrono::steady_clock::now();
  actio::run([]() -> Task<void> { co_await actio::sleep(20ms); }());
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 20ms);
}

// A loop with I/O interest waits in its completion queue, with the next
// timer as the queue's deadline (steady_clock turned into gpr time): the
// timer still wakes it, neither early nor seconds late.
TEST(Sleep, WakesALoopWaitingInItsCompletionQueue) {
  auto t0 = std::chrono::steady_clock::now();
  actio::run([]() -> Task<void> {
    auto& loop = actio::EventLoop::require("test");
    loop.add_io_interest();
    for (int i = 0; i < 5; ++i) co_await actio::sleep(20ms);
    loop.remove_io_interest();
  }());
  auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_GE(took, 100ms);
  EXPECT_LT(took, 5s) << "a timer's deadline in the completion queue was late";
}

TEST(Gather, RunsTasksConcurrently) {
  auto t0 = std::chrono::steady_clock::now();
  auto result = actio::run([]() -> Task<std::tuple<int, std::monostate, int>> {
    auto sleeper = []() -> Task<void> { co_await actio::sleep(30ms); };
    auto slow = []() -> Task<int> {
      co_await actio::sleep(30ms);
      co_return 7;
    };
    co_return co_await actio::gather(slow(), sleeper(), add_later(1, 2));
  }());
  EXPECT_EQ(std::get<0>(result), 7);
  EXPECT_EQ(std::get<2>(result), 3);
  // Three 30 ms sleeps overlapped, not in sequence.
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 85ms);
}

TEST(Gather, VectorFormKeepsOrder) {
  auto out = actio::run([]() -> Task<std::vector<int>> {
    std::vector<Task<int>> tasks;
    for (int i = 0; i < 10; ++i) tasks.push_back(add_later(i, i));
    co_return co_await actio::gather(std::move(tasks));
  }());
  ASSERT_EQ(out.size(), 10u);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(out[i], 2 * i);
}

TEST(Gather, FirstErrorCancelsTheOthersAndIsRethrown) {
  bool other_cancelled = false;
  auto body = [&]() -> Task<void> {
    auto long_one = [&]() -> Task<void> {
      try {
        co_await actio::sleep(10s);
      } catch (const actio::CancelledError&) {
        other_cancelled = true;
        throw;
      }
    };
    co_await actio::gather(long_one(), boom());
  };
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_THROW(actio::run(body()), std::runtime_error);
  EXPECT_TRUE(other_cancelled);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
}

TEST(Cancel, CancellingASleepingTaskThrowsCancelledErrorThere) {
  // Direct form: the task object stays put while another task cancels it.
  auto direct = []() -> Task<std::string> {
    auto sleeper = []() -> Task<std::string> {
      try {
        co_await actio::sleep(10s);
      } catch (const actio::CancelledError&) {
        co_return "cancelled";
      }
      co_return "slept";
    };
    Task<std::string> victim = sleeper();
    auto canceller = [](Task<std::string>& v) -> Task<void> {
      co_await actio::sleep(5ms);
      EXPECT_TRUE(v.cancel());
    };
    auto waiter = [](Task<std::string>& v) -> Task<std::string> { co_return co_await v; };
    auto [r, _] = co_await actio::gather(waiter(victim), canceller(victim));
    co_return r;
  };
  EXPECT_EQ(actio::run(direct()), "cancelled");
}

TEST(Cancel, PendingCancelHitsTheNextSuspension) {
  auto body = []() -> Task<bool> {
    auto inner = []() -> Task<void> { co_await actio::sleep(1s); };
    Task<void> t = inner();
    t.cancel();  // not started yet
    try {
      co_await t;
    } catch (const actio::CancelledError&) {
      co_return true;
    }
    co_return false;
  };
  EXPECT_TRUE(actio::run(body()));
}

TEST(Cancel, ACancelThatMeetsAFinishedWaitIsNotLost) {
  // The event is set (its waiter is scheduled) and, in the same loop turn,
  // the task above it is cancelled: the inner task ends normally with its
  // value, and the cancel hits the outer task's next await, as asyncio's
  // cancels stick to the task. Before, the cancel died with the inner task
  // and the outer one slept on (a server handler outlived its call).
  auto body = []() -> Task<std::string> {
    actio::Event ev;
    auto inner = [](actio::Event& e) -> Task<int> {
      co_await e.wait();
      co_return 7;
    };
    auto outer = [](actio::Event& e, Task<int> (*make)(actio::Event&)) -> Task<std::string> {
      int got = co_await make(e);
      try {
        co_await actio::sleep(10s);
      } catch (const actio::CancelledError&) {
        co_return "cancelled after " + std::to_string(got);
      }
      co_return "slept";
    };
    Task<std::string> victim = outer(ev, +inner);
    auto trigger = [](actio::Event& e, Task<std::string>& v) -> Task<void> {
      co_await actio::sleep(2ms);
      e.set();                 // schedules the inner wait
      EXPECT_TRUE(v.cancel());  // reaches the scheduled waiter
    };
    auto waiter = [](Task<std::string>& v) -> Task<std::string> { co_return co_await v; };
    auto [r, _] = co_await actio::gather(waiter(victim), trigger(ev, victim));
    co_return r;
  };
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(actio::run(body()), "cancelled after 7");
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
}

TEST(WaitFor, GivesTheValueOfATaskThatEndsInTime) {
  EXPECT_EQ(actio::run(actio::wait_for(add_later(2, 3), 5s)), 5);
  EXPECT_THROW(actio::run(actio::wait_for(boom(), 5s)), std::runtime_error);  // its own error passes through
}

TEST(WaitFor, PastTheTimeoutCancelsTheTaskWaitsForItThenThrowsTimeoutError) {
  auto body = []() -> Task<std::string> {
    bool inner_saw_cancel = false;
    try {
      co_await actio::wait_for(sleep_noting_cancel(inner_saw_cancel), 20ms);
    } catch (const actio::TimeoutError& e) {
      // The inner task has ended (seen its cancel) before the error came.
      co_return std::string(inner_saw_cancel ? "ended; " : "running; ") + e.what();
    }
    co_return "no timeout";
  };
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(actio::run(body()), "ended; wait_for: timed out after 20 ms");
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
}

TEST(WaitFor, ATaskThatSwallowsTheCancelGivesItsValueAndOtherErrorsPass) {
  auto body = []() -> Task<void> {
    auto stubborn = []() -> Task<int> {
      try {
        co_await actio::sleep(10s);
      } catch (const actio::CancelledError&) {
        co_return 7;  // cleans up and answers anyway
      }
      co_return 1;
    };
    EXPECT_EQ(co_await actio::wait_for(stubborn(), 10ms), 7);
    auto angry = []() -> Task<void> {
      try {
        co_await actio::sleep(10s);
      } catch (const actio::CancelledError&) {
        throw std::logic_error("cleanup failed");
      }
    };
    EXPECT_THROW(co_await actio::wait_for(angry(), 10ms), std::logic_error);
  };
  actio::run(body());
}

TEST(WaitFor, CancellingTheWaiterCancelsTheTaskAndThrowsCancelledError) {
  auto body = []() -> Task<std::string> {
    bool inner_saw_cancel = false;
    auto waiter = [](Task<void> inner) -> Task<std::string> {
      try {
        co_await actio::wait_for(std::move(inner), 10s);
      } catch (const actio::CancelledError&) {
        co_return "cancelled";
      } catch (const actio::TimeoutError&) {
        co_return "timeout";
      }
      co_return "done";
    };
    Task<std::string> w = waiter(sleep_noting_cancel(inner_saw_cancel));
    auto canceller = [](Task<std::string>& victim) -> Task<void> {
      co_await actio::sleep(10ms);
      victim.cancel();
    };
    auto forward = [](Task<std::string>& v) -> Task<std::string> { co_return co_await v; };
    auto [r, _] = co_await actio::gather(forward(w), canceller(w));
    co_return r + (inner_saw_cancel ? ", inner cancelled" : ", inner running");
  };
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(actio::run(body()), "cancelled, inner cancelled");
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
}

struct ReadyThree {  // a movable awaitable that is not a Task
  bool await_ready() const noexcept { return true; }
  void await_suspend(std::coroutine_handle<>) const noexcept {}
  int await_resume() const noexcept { return 3; }
};

TEST(WaitFor, TakesOtherAwaitablesAndEventWaitsInATask) {
  auto body = []() -> Task<void> {
    EXPECT_EQ(co_await actio::wait_for(ReadyThree{}, 1s), 3);
    auto wait = [](actio::Event& e) -> Task<void> { co_await e.wait(); };
    actio::Event never;
    EXPECT_THROW(co_await actio::wait_for(wait(never), 10ms), actio::TimeoutError);
    actio::Event soon;
    auto setter = [](actio::Event& e) -> Task<void> {
      co_await actio::sleep(2ms);
      e.set();
    };
    co_await actio::gather(actio::wait_for(wait(soon), 5s), setter(soon));
    EXPECT_TRUE(soon.is_set());
  };
  actio::run(body());
}

TEST(Event, WakesEveryWaiterAndTimesOut) {
  auto body = []() -> Task<int> {
    actio::Event ev;
    int woken = 0;
    auto waiter = [&]() -> Task<void> {
      co_await ev.wait();
      ++woken;
    };
    auto setter = [&]() -> Task<void> {
      co_await actio::sleep(2ms);
      ev.set();
    };
    co_await actio::gather(waiter(), waiter(), setter());
    actio::Event never;
    bool got = co_await never.wait_for(5ms);
    EXPECT_FALSE(got);
    co_return woken;
  };
  EXPECT_EQ(actio::run(body()), 2);
}

TEST(EventLoop, PostFromAnotherThreadWakesTheLoop) {
  auto body = []() -> Task<int> {
    auto& loop = *actio::EventLoop::current();
    actio::Event ev;
    int value = 0;
    std::thread other([&] {
      std::this_thread::sleep_for(5ms);
      loop.post([&] {
        value = 99;
        ev.set();
      });
    });
    co_await ev.wait();
    other.join();
    co_return value;
  };
  EXPECT_EQ(actio::run(body()), 99);
}

TEST(EventLoop, ManyPostsFromManyThreadsAllArrive) {
  auto body = []() -> Task<int> {
    auto& loop = *actio::EventLoop::current();
    actio::Event ev;
    int count = 0;
    constexpr int kThreads = 4, kPosts = 2000;
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&] {
        for (int i = 0; i < kPosts; ++i) {
          loop.post([&] {
            if (++count == kThreads * kPosts) ev.set();
          });
        }
      });
    }
    co_await ev.wait();
    for (auto& t : threads) t.join();
    co_return count;
  };
  EXPECT_EQ(actio::run(body()), 4 * 2000);
}

TEST(EventLoop, OneLoopPerThreadAndCurrentIsUnsetAfterRun) {
  EXPECT_EQ(actio::EventLoop::current(), nullptr);
  actio::run([]() -> Task<void> {
    EXPECT_NE(actio::EventLoop::current(), nullptr);
    EXPECT_THROW(actio::EventLoop second, actio::UsageError);
    co_return;
  }());
  EXPECT_EQ(actio::EventLoop::current(), nullptr);
}

TEST(EventLoop, WrongThreadCheckThrowsUsageError) {
  actio::run([]() -> Task<void> {
    auto* loop = actio::EventLoop::current();
    std::string what;
    std::thread other([&] {
      try {
        loop->check_thread("Thing::method");
      } catch (const actio::UsageError& e) {
        what = e.what();
      }
    });
    other.join();
    EXPECT_NE(what.find("Thing::method used from another thread"), std::string::npos) << what;
    co_return;
  }());
}

}  // namespace
