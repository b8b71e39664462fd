// Generator<T>: values, end, errors, awaiting inside the body, cancellation.
#include "actio/generator.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <stdexcept>
#include <string>
#include <vector>

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
