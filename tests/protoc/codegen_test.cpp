// Compile-and-run test of protoc-gen-actio's output (tests/protoc/codegen.proto):
// generated stubs against a generated servicer, through a real server.
#include <gtest/gtest.h>

#include "codegen.actio.h"
#include "codegen_nopkg.actio.h"

namespace {

using namespace std::chrono_literals;
namespace cg = actio::codegen::v1;
using Step = cg::Counter_Step;
using cg::Counter;

/// Implements every Counting method but Reset.
class Counting final : public cg::CountingServicer {
 public:
  actio::Task<Counter> Add(const Step& step, actio::ServicerContext&) override {
    total_ += step.by();
    Counter c;
    c.set_value(total_);
    co_return c;
  }
  actio::Task<void> Count(const Step& step, actio::ServicerContext& context) override {
    for (int i = 1; i <= step.by(); ++i) {
      Counter c;
      c.set_value(i);
      co_await context.write(c);
    }
  }
  actio::Task<Counter> Sum(actio::RequestStream<Step>& steps, actio::ServicerContext&) override {
    Counter c;
    while (auto s = co_await steps.read()) c.set_value(c.value() + s->by());
    co_return c;
  }
  actio::Task<void> Echo(actio::RequestStream<Step>& steps, actio::ServicerContext& context) override {
    while (auto s = co_await steps.read()) {
      Counter c;
      c.set_value(s->by());
      co_await context.write(c);
    }
  }

 private:
  int64_t total_ = 0;  // one servicer serves every call (a single serving loop here)
};

/// Implements the keyword-named methods.
class Keywords final : public cg::KeywordsServicer {
 public:
  actio::Task<codegen::types::Empty> delete_(const codegen::types::Empty&, actio::ServicerContext&) override {
    co_return codegen::types::Empty{};
  }
};

class Pinger final : public PingerServicer {
 public:
  actio::Task<PingMessage> Ping(const PingMessage& ping, actio::ServicerContext&) override {
    PingMessage pong;
    pong.set_text("pong: " + ping.text());
    co_return pong;
  }
};

Step step(int by) {
  Step s;
  s.set_by(by);
  return s;
}

TEST(Codegen, GeneratedStubsAndServicersServeEveryShapeOnOneServer) {
  actio::run([]() -> actio::Task<void> {
    auto server = actio::server();
    cg::add_CountingServicer_to_server(std::make_shared<Counting>(), server);
    cg::add_KeywordsServicer_to_server(std::make_shared<Keywords>(), server);
    add_PingerServicer_to_server(std::make_shared<Pinger>(), server);
    int port = server.add_insecure_port("127.0.0.1:0");
    co_await server.start();
    auto channel = actio::insecure_channel("127.0.0.1:" + std::to_string(port));
    cg::CountingStub counting(channel);  // several stubs share one channel
    cg::KeywordsStub keywords(channel);
    PingerStub pinger(channel);

    EXPECT_EQ((co_await counting.Add(step(2), {.timeout = 5s})).value(), 2);
    EXPECT_EQ((co_await counting.Add(step(3))).value(), 5);

    std::vector<int64_t> counted;
    co_await actio::for_each(counting.Count(step(3)), [&](const Counter& c) { counted.push_back(c.value()); });
    EXPECT_EQ(counted, (std::vector<int64_t>{1, 2, 3}));

    std::vector<Step> steps{step(1), step(2), step(4)};
    EXPECT_EQ((co_await counting.Sum(steps)).value(), 7);

    auto echo = counting.Echo();
    co_await echo.write(step(9));
    auto back = co_await echo.read();
    EXPECT_TRUE(back && back->value() == 9);
    co_await echo.done_writing();
    EXPECT_EQ(co_await echo.code(), actio::StatusCode::OK);

    // Unimplemented methods answer UNIMPLEMENTED, whatever their shape.
    try {
      co_await counting.Reset(codegen::types::Empty{});
      ADD_FAILURE() << "Reset is not implemented";
    } catch (const actio::AioRpcError& e) {
      EXPECT_EQ(e.code(), actio::StatusCode::UNIMPLEMENTED);
      EXPECT_EQ(e.details(), "Method not implemented!");
    }
    auto fresh = keywords.new_(codegen::types::Empty{});
    try {
      co_await fresh.read();
      ADD_FAILURE() << "new is not implemented";
    } catch (const actio::AioRpcError& e) {
      EXPECT_EQ(e.code(), actio::StatusCode::UNIMPLEMENTED);
    }
    co_await keywords.delete_(codegen::types::Empty{});  // keyword-named, implemented

    PingMessage ping;
    ping.set_text("hi");
    EXPECT_EQ((co_await pinger.Ping(ping)).text(), "pong: hi");
    EXPECT_STREQ(cg::kCountingServiceName, "actio.codegen.v1.Counting");

    co_await channel.close();
    co_await server.stop(0s);
  }());
}

TEST(Codegen, RegisteringNoServicerIsAUsageError) {
  actio::run([]() -> actio::Task<void> {
    auto server = actio::server();
    EXPECT_THROW(cg::add_CountingServicer_to_server(nullptr, server), actio::UsageError);
    co_return;
  }());
}

}  // namespace
