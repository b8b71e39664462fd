// Generator<T>: values, end, errors, awaiting inside the body, cancellation.
#include "actio/generator.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <stdexcept>
#include <string>
#include <vector>

#include "actio/event.hpp"
#include "actio/event_loop.hpp"
#include "actio/gather.hpp"

namespace {

using namespace actio;
using namespace std::chrono_literals;

Generator<int> count_to(int n, std::vector<std::string>* log) {
  for (int i = 1; i <= n; ++i) {
    log->push_back("yield " + std::to_string(i));
    co_yield i;
  }
  log->push_back("end");
}

TEST(Generator, IsLazyYieldsInOrderThenEndsForGood) {
  std::vector<std::string> log;
  actio::run([&]() -> Task<void> {
    auto gen = count_to(3, &log);
    EXPECT_TRUE(log.empty());  // nothing ran before the first next()
    EXPECT_EQ(co_await gen.next(), std::optional<int>(1));
    EXPECT_EQ(log, std::vector<std::string>{"yield 1"});  // and only up to the co_yield
    EXPECT_EQ(co_await gen.next(), std::optional<int>(2));
    EXPECT_EQ(co_await gen.next(), std::optional<int>(3));
    EXPECT_EQ(co_await gen.next(), std::nullopt);
    EXPECT_TRUE(gen.done());
    EXPECT_EQ(co_await gen.next(), std::nullopt);
  }());
  EXPECT_EQ(log.back(), "end");
}

Generator<std::string> slow_words() {
  co_yield std::string("a");
  co_await sleep(5ms);
  co_yield std::string("b");
  throw std::runtime_error("broken");
}

TEST(Generator, AwaitsInsideTheBodyAndRethrowsOnce) {
  actio::run([]() -> Task<void> {
    auto gen = slow_words();
    EXPECT_EQ(co_await gen.next(), std::optional<std::string>("a"));
    EXPECT_EQ(co_await gen.next(), std::optional<std::string>("b"));
    EXPECT_THROW(co_await gen.next(), std::runtime_error);
    EXPECT_EQ(co_await gen.next(), std::nullopt);
  }());
}

TEST(Generator, CancellingTheConsumerCancelsTheAwaitInTheBody) {
  bool body_saw_cancel = false;
  actio::run([&]() -> Task<void> {
    auto gen = [](bool* saw) -> Generator<int> {
      try {
        co_await sleep(10s);
      } catch (const CancelledError&) {
        *saw = true;
        throw;
      }
      co_yield 1;
    }(&body_saw_cancel);
    auto consumer = [](Generator<int>& g) -> Task<bool> {
      try {
        co_await g.next();
      } catch (const CancelledError&) {
        co_return true;
      }
      co_return false;
    };
    Task<bool> t = consumer(gen);
    auto canceller = [](Task<bool>& victim) -> Task<void> {
      co_await sleep(10ms);
      victim.cancel();
    };
    auto forward = [](Task<bool>& v) -> Task<bool> { co_return co_await v; };
    auto [cancelled, unused] = co_await gather(forward(t), canceller(t));
    EXPECT_TRUE(cancelled);
  }());
  EXPECT_TRUE(body_saw_cancel);
}

TEST(Generator, ACancelThatMeetsAFinishedWaitInTheBodyReachesTheConsumer) {
  // The body's wait has completed (its resumption is scheduled) when the
  // consumer is cancelled: the body yields its value, and the cancel hits
  // the consumer's next await instead of being lost in the body.
  actio::run([]() -> Task<void> {
    Event ev;
    auto gen = [](Event& e) -> Generator<int> {
      co_await e.wait();
      co_yield 1;
    }(ev);
    auto consumer = [](Generator<int>& g) -> Task<std::string> {
      std::optional<int> v = co_await g.next();
      try {
        co_await sleep(10s);
      } catch (const CancelledError&) {
        co_return "cancelled after " + std::to_string(v.value_or(0));
      }
      co_return "slept";
    };
    Task<std::string> t = consumer(gen);
    auto trigger = [](Event& e, Task<std::string>& victim) -> Task<void> {
      co_await sleep(2ms);
      e.set();
      victim.cancel();
    };
    auto forward = [](Task<std::string>& v) -> Task<std::string> { co_return co_await v; };
    const auto t0 = std::chrono::steady_clock::now();
    auto [r, unused] = co_await gather(forward(t), trigger(ev, t));
    EXPECT_EQ(r, "cancelled after 1");
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
  }());
}

TEST(Generator, DroppedBeforeTheEndDestroysItsFrame) {
  struct Probe {
    bool* destroyed;
    ~Probe() { *destroyed = true; }
  };
  bool destroyed = false;
  actio::run([&]() -> Task<void> {
    {
      auto gen = [](bool* d) -> Generator<int> {
        Probe p{d};
        co_yield 1;
        co_yield 2;
      }(&destroyed);
      EXPECT_EQ(co_await gen.next(), std::optional<int>(1));
    }
    co_return;
  }());
  EXPECT_TRUE(destroyed);
}

}  // namespace
