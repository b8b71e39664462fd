// Channel scope, load balancing, channel arguments, message limits on
// streams and wait_for_ready for every arity (aio_reference §2 numbers).
#include "test_util.hpp"

#include <atomic>

namespace {

using namespace actio;
using namespace actio::testing;

using Requests = RequestStream<std::string>;

RpcMethodHandler echo_stream() {
  return stream_stream_rpc_method_handler<std::string, std::string>(
      [](Requests& requests, ServicerContext& ctx) -> Task<void> {
        while (auto r = co_await requests.read()) co_await ctx.write(*r);
      });
}

RpcMethodHandler concat() {
  return stream_unary_rpc_method_handler<std::string, std::string>(
      [](Requests& requests, ServicerContext&) -> Task<std::string> {
        std::string out;
        while (auto r = co_await requests.read()) out += *r;
        co_return out;
      });
}

/// Streams back `n` copies of a message of the requested size ("SIZE").
RpcMethodHandler blobs() {
  return unary_stream_rpc_method_handler<std::string, std::string>(
      [](const std::string& req, ServicerContext& ctx) -> Task<void> {
        co_await ctx.write(std::string(std::stoul(req), 'b'));
      });
}

TEST(Channel, Behaviour_028_WithChannelClosesTheChannelHoweverTheBodyEnds) {
  with_server({{"Echo", echo()}, {"Slow", sleepy(10s)}}, [](Fixture& f) -> Task<void> {
    Channel kept;
    UnaryUnaryCall<std::string> pending;
    std::string reply = co_await with_channel(insecure_channel(f.target()), [&](Channel& ch) -> Task<std::string> {
      kept = ch;
      pending = ch.unary_unary<std::string, std::string>("/test.Svc/Slow")("left running");
      co_return co_await ch.unary_unary<std::string, std::string>("/test.Svc/Echo")("typed");
    });
    EXPECT_EQ(reply, "typed");
    EXPECT_EQ(kept.get_state(), ChannelConnectivity::SHUTDOWN);
    EXPECT_TRUE(pending.cancelled());  // behaviour 34: leaving the scope cancels what runs

    // A body that throws: the channel is closed and the error passed on.
    Channel thrown;
    try {
      co_await with_channel(insecure_channel(f.target()), [&](Channel& ch) -> Task<void> {
        thrown = ch;
        throw std::runtime_error("body failed");
        co_return;
      });
      ADD_FAILURE() << "the body's error was swallowed";
    } catch (const std::runtime_error& e) {
      EXPECT_STREQ(e.what(), "body failed");
    }
    EXPECT_EQ(thrown.get_state(), ChannelConnectivity::SHUTDOWN);
  });
}

/// Starts `n` servers whose "Who" method answers the server's index.
struct Fleet {
  std::vector<Server> servers;
  std::vector<int> ports;
  std::vector<int> hits;
};

Task<void> start_fleet(Fleet& fleet, int n) {
  fleet.hits.assign(static_cast<size_t>(n), 0);
  for (int i = 0; i < n; ++i) {
    auto srv = server();
    auto who = raw([&fleet, i](const std::string&, ServicerContext&) -> Task<std::string> {
      ++fleet.hits[static_cast<size_t>(i)];
      co_return std::to_string(i);
    });
    srv.add_generic_rpc_handlers({method_handlers_generic_handler("test.Svc", {{"Who", who}})});
    fleet.ports.push_back(srv.add_insecure_port("127.0.0.1:0"));
    co_await srv.start();
    fleet.servers.push_back(srv);
  }
}

std::string target_list(const Fleet& fleet) {
  std::string t = "ipv4:";
  for (size_t i = 0; i < fleet.ports.size(); ++i) t += (i ? ",127.0.0.1:" : "127.0.0.1:") + std::to_string(fleet.ports[i]);
  return t;
}

TEST(Channel, RoundRobinSpreadsCallsOverEveryServerOfATargetList) {
  actio::run([]() -> Task<void> {
    Fleet fleet;
    co_await start_fleet(fleet, 3);
    ChannelOptions rr;
    rr.args.emplace_back("grpc.lb_policy_name", std::string("round_robin"));
    auto channel = insecure_channel(target_list(fleet), rr);
    auto who = channel.unary_unary<std::string, std::string>("/test.Svc/Who");
    co_await channel.channel_ready();
    for (int i = 0; i < 60; ++i) co_await who("", {.timeout = 5s});
    EXPECT_EQ(fleet.hits[0] + fleet.hits[1] + fleet.hits[2], 60);
    for (int h : fleet.hits) EXPECT_GT(h, 0) << "a server got no call";

    // The default policy (pick_first) sends everything to one server.
    fleet.hits.assign(3, 0);
    auto first = insecure_channel(target_list(fleet));
    auto who_first = first.unary_unary<std::string, std::string>("/test.Svc/Who");
    for (int i = 0; i < 9; ++i) co_await who_first("", {.timeout = 5s});
    EXPECT_EQ(std::max({fleet.hits[0], fleet.hits[1], fleet.hits[2]}), 9);
    co_await channel.close();
    co_await first.close();
    for (auto& s : fleet.servers) co_await s.stop(0s);
  }());
}

TEST(Channel, Behaviour_110_ChannelAndServerArgumentsAreApplied) {
  ServerOptions opts;
  opts.args.emplace_back("grpc.max_receive_message_length", 2048);
  opts.args.emplace_back("actio.test.unknown_string", std::string("ignored by grpc"));
  auto agent = raw([](const std::string&, ServicerContext& ctx) -> Task<std::string> {
    co_return std::string(ctx.invocation_metadata().get("user-agent").value_or(""));
  });
  with_server(
      {{"Agent", agent}, {"Echo", echo()}},
      [](Fixture& f) -> Task<void> {
        ChannelOptions o;
        o.args.emplace_back("grpc.primary_user_agent", std::string("actio-test/1.0"));
        o.args.emplace_back("grpc.keepalive_time_ms", 60000);
        auto ch = insecure_channel(f.target(), o);
        auto ua = co_await ch.unary_unary<std::string, std::string>("/test.Svc/Agent")("");
        EXPECT_NE(ua.find(" actio-test/1.0 "), std::string::npos) << ua;  // grpc-c++ puts its own first
        // The server's own limit holds.
        auto e = co_await expect_rpc_error(f.method("Echo")(std::string(4096, 'x')));
        EXPECT_EQ(e.code(), StatusCode::RESOURCE_EXHAUSTED);
        co_await ch.close();
      },
      opts);
}

TEST(Channel, MessageLimitsOnStreamsAreResourceExhaustedNamingTheLimit) {
  ServerOptions opts;
  opts.args.emplace_back("grpc.max_receive_message_length", 1024);
  with_server(
      {{"Concat", concat()}, {"Blobs", blobs()}, {"Echo", echo_stream()}},
      [](Fixture& f) -> Task<void> {
        // Server receive limit, client-streaming request.
        {
          auto call = f.channel.stream_unary<std::string, std::string>("/test.Svc/Concat")();
          co_await call.write(std::string(100, 'a'));
          try {
            co_await call.write(std::string(4096, 'a'));
            co_await call.done_writing();
          } catch (const InvalidStateError&) {
            // the server may have failed the call before the write completed
          }
          auto e = co_await expect_rpc_error(call.response());
          EXPECT_EQ(e.code(), StatusCode::RESOURCE_EXHAUSTED);
          EXPECT_NE(e.details().find("(4096 vs. 1024)"), std::string::npos) << e.details();
        }
        // Channel receive limit, server-streaming response.
        ChannelOptions small;
        small.args.emplace_back("grpc.max_receive_message_length", 100);
        auto ch = insecure_channel(f.target(), small);
        {
          auto call = ch.unary_stream<std::string, std::string>("/test.Svc/Blobs")("500");
          auto e = co_await expect_rpc_error(call.read());
          EXPECT_EQ(e.code(), StatusCode::RESOURCE_EXHAUSTED);
          EXPECT_NE(e.details().find("(500 vs. 100)"), std::string::npos) << e.details();
        }
        // Channel send limit, bidi write.
        ChannelOptions tight;
        tight.args.emplace_back("grpc.max_send_message_length", 100);
        auto send_ch = insecure_channel(f.target(), tight);
        {
          auto call = send_ch.stream_stream<std::string, std::string>("/test.Svc/Echo")();
          co_await call.write(std::string(50, 'c'));
          EXPECT_EQ(co_await call.read(), std::optional<std::string>(std::string(50, 'c')));
          try {
            co_await call.write(std::string(500, 'c'));
          } catch (const InvalidStateError&) {
          }
          auto e = co_await expect_rpc_error(call.read());
          EXPECT_EQ(e.code(), StatusCode::RESOURCE_EXHAUSTED);
          EXPECT_NE(e.details().find("(500 vs. 100)"), std::string::npos) << e.details();
        }
        // Nothing wedged: every channel still works.
        EXPECT_EQ(co_await collect(ch.unary_stream<std::string, std::string>("/test.Svc/Blobs")("10")),
                  std::vector<std::string>(1, std::string(10, 'b')));
        co_await ch.close();
        co_await send_ch.close();
      },
      opts);
}

TEST(Channel, Behaviour_043_044_WaitForReadyForEveryStreamingArity) {
  actio::run([]() -> Task<void> {
    auto srv = server();
    srv.add_generic_rpc_handlers(
        {method_handlers_generic_handler("test.Svc", {{"Echo", echo_stream()}, {"Concat", concat()}, {"Blobs", blobs()}})});
    int port = srv.add_insecure_port("127.0.0.1:0");  // bound, not started: nobody answers yet
    auto channel = insecure_channel("127.0.0.1:" + std::to_string(port));
    auto bidi = channel.stream_stream<std::string, std::string>("/test.Svc/Echo");
    auto client_stream = channel.stream_unary<std::string, std::string>("/test.Svc/Concat");
    auto server_stream = channel.unary_stream<std::string, std::string>("/test.Svc/Blobs");

    // Fail fast without wait_for_ready (43).
    EXPECT_EQ((co_await expect_rpc_error(server_stream("1", {.timeout = 5s}).read())).code(), StatusCode::UNAVAILABLE);
    EXPECT_EQ((co_await expect_rpc_error(client_stream({.timeout = 5s}).response())).code(), StatusCode::UNAVAILABLE);
    EXPECT_EQ((co_await expect_rpc_error(bidi({.timeout = 5s}).read())).code(), StatusCode::UNAVAILABLE);

    // With wait_for_ready every arity waits for the server to appear (44).
    auto s1 = server_stream("3", {.timeout = 10s, .wait_for_ready = true});
    auto s2 = client_stream({.timeout = 10s, .wait_for_ready = true});
    auto s3 = bidi({.timeout = 10s, .wait_for_ready = true});
    co_await sleep(200ms);
    EXPECT_FALSE(s1.done() || s2.done() || s3.done());
    co_await srv.start();
    EXPECT_EQ(co_await s1.read(), std::optional<std::string>("bbb"));
    co_await s2.write("w");
    co_await s2.done_writing();
    EXPECT_EQ(co_await s2, "w");
    co_await s3.write("r");
    EXPECT_EQ(co_await s3.read(), std::optional<std::string>("r"));
    co_await s3.done_writing();
    EXPECT_EQ(co_await s3.code(), StatusCode::OK);

    // With no server at all it ends at its deadline (44, 1.51).
    co_await srv.stop(0s);
    auto late = server_stream("1", {.timeout = 300ms, .wait_for_ready = true});
    EXPECT_EQ((co_await expect_rpc_error(late.read())).code(), StatusCode::DEADLINE_EXCEEDED);
  }());
}

TEST(Channel, ChannelReadyUnderWaitForAgainstADeadServerTimesOutAndNothingHangs) {
  // grpc.aio's known flaw 10: channel_ready() under asyncio.wait_for against
  // a dead server hangs the process on exit. Here the timeout cancels the
  // wait, the channel closes, and the loop ends at once.
  const auto t0 = std::chrono::steady_clock::now();
  actio::run([]() -> Task<void> {
    auto probe = server();
    int dead = probe.add_insecure_port("127.0.0.1:0");  // checked and released: nobody listens
    auto ch = insecure_channel("127.0.0.1:" + std::to_string(dead));
    std::string error;
    try {
      co_await wait_for(ch.channel_ready(), 300ms);
    } catch (const TimeoutError& e) {
      error = e.what();
    }
    EXPECT_EQ(error, "wait_for: timed out after 300 ms");
    EXPECT_NE(ch.get_state(), ChannelConnectivity::READY);
    co_await ch.close();
  }());
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
}

TEST(Channel, WaitForOnACallCancelsTheRpcAtTheTimeout) {
  // A call under wait_for: past the timeout the RPC is cancelled on the
  // wire (the handler sees it), then TimeoutError; a quick one answers.
  std::atomic<bool> handler_cancelled{false};  // (set on the server's loop thread)
  auto slow = raw([&handler_cancelled](const std::string& req, ServicerContext&) -> Task<std::string> {
    try {
      co_await sleep(10s);
    } catch (const CancelledError&) {
      handler_cancelled = true;
      throw;
    }
    co_return req;
  });
  with_server({{"Echo", echo()}, {"Slow", slow}}, [&handler_cancelled](Fixture& f) -> Task<void> {
    EXPECT_EQ(co_await wait_for(f.method("Echo")("quick"), 5s), "quick");
    auto call = f.method("Slow")("late");
    EXPECT_THROW(co_await wait_for(call, 50ms), TimeoutError);
    EXPECT_TRUE(call.cancelled());
    EXPECT_EQ(co_await call.code(), StatusCode::CANCELLED);
    for (int i = 0; i < 500 && !handler_cancelled; ++i) co_await sleep(10ms);
    EXPECT_TRUE(handler_cancelled);
  });
}

}  // namespace
