// Unary-unary calls end to end on loopback: results, metadata, every error
// path, deadlines, cancellation, done callbacks (aio_reference §2 numbers).
#include <atomic>
#include <thread>

#include "helloworld.pb.h"
#include "test_util.hpp"

namespace {

using namespace actio;
using namespace actio::testing;

TEST(Unary, Behaviour_002_DoneAfterAwaitAndSameResponseAgain) {
  with_server({{"Echo", echo()}}, [](Fixture& f) -> Task<void> {
    auto call = f.method("Echo")("ping");
    EXPECT_FALSE(call.done());
    EXPECT_EQ(co_await call, "ping");
    EXPECT_TRUE(call.done());
    EXPECT_EQ(co_await call, "ping");
    EXPECT_EQ(co_await call.code(), StatusCode::OK);
  });
}

TEST(Unary, Behaviour_001_ReprBeforeAndAfter) {
  with_server({{"Echo", sleepy(20ms)}}, [](Fixture& f) -> Task<void> {
    auto call = f.method("Echo")("x");
    EXPECT_EQ(call.repr(), "<UnaryUnaryCall /test.Svc/Echo running>");
    co_await call;
    EXPECT_EQ(call.repr(), "<UnaryUnaryCall /test.Svc/Echo status=OK details=\"\">");
  });
}

TEST(Unary, Behaviour_004_065_066_MetadataBothWays) {
  std::string seen_text, seen_bin, user_agent;
  auto handler = raw([&](const std::string& req, ServicerContext& ctx) -> Task<std::string> {
    seen_text = ctx.invocation_metadata().get("x-client").value_or("");
    seen_bin = ctx.invocation_metadata().get("blob-bin").value_or("");
    user_agent = ctx.invocation_metadata().get("user-agent").value_or("");
    // GCC 12 cannot keep an initializer_list temporary alive across co_await:
    // build metadata in named variables inside coroutines.
    Metadata initial{{"x-initial", "i1"}};
    co_await ctx.send_initial_metadata(initial);
    Metadata trailing{{"x-trailing", "t1"}};
    trailing.add("tb-bin", std::string("\x00\x01", 2));
    ctx.set_trailing_metadata(trailing);
    co_return req;
  });
  with_server({{"Md", handler}, {"Echo", echo()}}, [&](Fixture& f) -> Task<void> {
    Metadata md{{"x-client", "abc"}};
    md.add("blob-bin", std::string("\x00\xff\x10", 3));
    auto call = f.method("Md")("m", {.metadata = md});
    EXPECT_EQ(co_await call, "m");
    EXPECT_EQ(seen_text, "abc");
    EXPECT_EQ(seen_bin, std::string("\x00\xff\x10", 3));
    EXPECT_NE(user_agent.find("actio"), std::string::npos) << user_agent;
    auto initial = co_await call.initial_metadata();
    auto trailing = co_await call.trailing_metadata();
    EXPECT_EQ(initial.get("x-initial"), "i1");
    EXPECT_EQ(trailing.get("x-trailing"), "t1");
    EXPECT_EQ(trailing.get("tb-bin"), std::string("\x00\x01", 2));
    // A plain call: OK, "" and empty metadata.
    auto plain = f.method("Echo")("p");
    co_await plain;
    EXPECT_EQ(co_await plain.code(), StatusCode::OK);
    EXPECT_EQ(co_await plain.details(), "");
    EXPECT_TRUE((co_await plain.initial_metadata()).empty());
    EXPECT_TRUE((co_await plain.trailing_metadata()).empty());
  });
}

TEST(Unary, Behaviour_055_UnknownMethodIsUnimplemented) {
  with_server({{"Echo", echo()}}, [](Fixture& f) -> Task<void> {
    {
      auto e = co_await expect_rpc_error(f.method("Nope")("x"));
      EXPECT_EQ(e.code(), StatusCode::UNIMPLEMENTED);
    }
  });
}

// A channel registers the methods it calls with gRPC (a generated stub's
// fast path), up to a bound; past it calls go by name. Both ways reach the
// server with the right path, for every shape.
TEST(Unary, ManyDistinctMethodNamesOnOneChannel) {
  with_server({{"Echo", echo()}}, [](Fixture& f) -> Task<void> {
    for (int i = 0; i < 1100; ++i) {
      auto e = co_await expect_rpc_error(f.method("Nope" + std::to_string(i))("x"));
      EXPECT_EQ(e.code(), StatusCode::UNIMPLEMENTED) << i;
      if (e.code() != StatusCode::UNIMPLEMENTED) co_return;
    }
    EXPECT_EQ(co_await f.method("Echo")("after"), "after");
    auto stream = f.channel.unary_stream<std::string, std::string>("/test.Svc/NopeStream");
    auto call = stream("x");
    EXPECT_EQ(call.method(), "/test.Svc/NopeStream");  // its own copy of the name (the channel keeps none)
    EXPECT_THROW(co_await call.read(), AioRpcError);
    EXPECT_EQ(co_await call.code(), StatusCode::UNIMPLEMENTED);
    auto first = f.channel.unary_stream<std::string, std::string>("/test.Svc/Nope0")("x");
    EXPECT_EQ(first.method(), "/test.Svc/Nope0");  // the channel's registered name
    EXPECT_THROW(co_await first.read(), AioRpcError);
  });
}

TEST(Unary, HandlerExceptionIsUnknownWithTheText) {
  auto handler = raw([](const std::string&, ServicerContext&) -> Task<std::string> {
    throw std::runtime_error("boom");
    co_return "";
  });
  with_server({{"Boom", handler}, {"Echo", echo()}}, [](Fixture& f) -> Task<void> {
    {
      auto e = co_await expect_rpc_error(f.method("Boom")("x"));
      EXPECT_EQ(e.code(), StatusCode::UNKNOWN);
      EXPECT_EQ(e.details(), "Unexpected std::runtime_error: boom");
    }
    EXPECT_EQ(co_await f.method("Echo")("still serving"), "still serving");
  });
}

TEST(Unary, Behaviour_061_062_AbortSendsItsStatusAndASecondAbortCannotOverride) {
  bool after_abort_ran = false;
  std::string second_abort_error;
  std::atomic<bool> twice_done{false};
  auto aborting = raw([&](const std::string&, ServicerContext& ctx) -> Task<std::string> {
    Metadata why{{"why", "missing"}};
    ctx.abort(StatusCode::NOT_FOUND, "no such thing", why);
    after_abort_ran = true;
    co_return "";
  });
  auto twice = raw([&](const std::string&, ServicerContext& ctx) -> Task<std::string> {
    try {
      ctx.abort(StatusCode::PERMISSION_DENIED, "first");
    } catch (const AbortError&) {
    }
    try {
      ctx.abort(StatusCode::INTERNAL, "second");
    } catch (const UsageError& e) {
      second_abort_error = e.what();
    }
    twice_done = true;
    co_return "swallowed and returned";
  });
  with_server({{"Abort", aborting}, {"Twice", twice}}, [&](Fixture& f) -> Task<void> {
    auto call = f.method("Abort")("x");
    {
      auto e = co_await expect_rpc_error(call);
      EXPECT_EQ(e.code(), StatusCode::NOT_FOUND);
      EXPECT_EQ(e.details(), "no such thing");
      EXPECT_EQ(e.trailing_metadata().get("why"), "missing");
    }
    EXPECT_EQ(co_await call.code(), StatusCode::NOT_FOUND);
    EXPECT_EQ(co_await call.details(), "no such thing");
    EXPECT_FALSE(after_abort_ran);
    {
      auto e = co_await expect_rpc_error(f.method("Twice")("x"));
      EXPECT_EQ(e.code(), StatusCode::PERMISSION_DENIED);
      EXPECT_EQ(e.details(), "first");
    }
    // The client has its status before the handler reaches the second abort.
    for (int i = 0; i < 200 && !twice_done; ++i) co_await sleep(5ms);
    EXPECT_EQ(second_abort_error, "Abort already called!");
  });
}

TEST(Unary, Behaviour_061_AbortWithStatusAndAbortsEmptyArgumentsFallingBack) {
  auto with_status = raw([](const std::string&, ServicerContext& ctx) -> Task<std::string> {
    Status status{StatusCode::FAILED_PRECONDITION, "not yet", Metadata{{"retry-after", "5"}}};
    ctx.abort_with_status(status);
    co_return "";
  });
  auto fallback = raw([](const std::string&, ServicerContext& ctx) -> Task<std::string> {
    ctx.set_details("from set_details");
    ctx.set_trailing_metadata(Metadata{{"from", "set_trailing_metadata"}});
    ctx.abort(StatusCode::ABORTED);  // empty details and metadata: the stored ones go
    co_return "";
  });
  with_server({{"WithStatus", with_status}, {"Fallback", fallback}}, [](Fixture& f) -> Task<void> {
    auto e = co_await expect_rpc_error(f.method("WithStatus")("x"));
    EXPECT_EQ(e.code(), StatusCode::FAILED_PRECONDITION);
    EXPECT_EQ(e.details(), "not yet");
    EXPECT_EQ(e.trailing_metadata().get("retry-after"), "5");
    auto e2 = co_await expect_rpc_error(f.method("Fallback")("x"));
    EXPECT_EQ(e2.code(), StatusCode::ABORTED);
    EXPECT_EQ(e2.details(), "from set_details");
    EXPECT_EQ(e2.trailing_metadata().get("from"), "set_trailing_metadata");
  });
}

TEST(Unary, Behaviour_058_069_SetCodeWithoutRaisingDropsTheResponse) {
  auto handler = raw([](const std::string&, ServicerContext& ctx) -> Task<std::string> {
    ctx.set_code(StatusCode::INTERNAL);
    ctx.set_details("set, not raised");
    Metadata trailing{{"k", "v"}};
    ctx.set_trailing_metadata(trailing);
    co_return "dropped";
  });
  with_server({{"SetCode", handler}}, [](Fixture& f) -> Task<void> {
    {
      auto e = co_await expect_rpc_error(f.method("SetCode")("x"));
      EXPECT_EQ(e.code(), StatusCode::INTERNAL);
      EXPECT_EQ(e.details(), "set, not raised");
      EXPECT_EQ(e.trailing_metadata().get("k"), "v");
    }
  });
}

TEST(Unary, Behaviour_029_030_DeadlineExceededAndServerSeesTheCancel) {
  bool server_cancelled = false, handler_got_cancelled_error = false;
  std::optional<Duration> left_at_end;
  auto handler = raw([&](const std::string& req, ServicerContext& ctx) -> Task<std::string> {
    ctx.add_done_callback([&](ServicerContext& c) {
      server_cancelled = c.cancelled();
      left_at_end = c.time_remaining();
    });
    try {
      co_await sleep(2s);
    } catch (const CancelledError&) {
      handler_got_cancelled_error = true;
      throw;
    }
    co_return req;
  });
  with_server({{"Slow", handler}, {"Fast", sleepy(10ms)}}, [&](Fixture& f) -> Task<void> {
    {
      auto e = co_await expect_rpc_error(f.method("Slow")("x", {.timeout = 100ms}));
      EXPECT_EQ(e.code(), StatusCode::DEADLINE_EXCEEDED);
      EXPECT_EQ(e.details(), "Deadline Exceeded");
    }
    EXPECT_EQ(co_await f.method("Fast")("y", {.timeout = 5s}), "y");
    for (int i = 0; i < 100 && !server_cancelled; ++i) co_await sleep(5ms);
    EXPECT_TRUE(handler_got_cancelled_error);
    EXPECT_TRUE(server_cancelled);  // unlike grpc.aio, where it stays false
    CO_ASSERT_TRUE(left_at_end.has_value());
    EXPECT_EQ(left_at_end->count(), 0.0);
  });
}

TEST(Unary, UndecodableRequestIsInternalAndTheServerKeepsServing) {
  auto typed = unary_unary_rpc_method_handler<helloworld::HelloRequest, helloworld::HelloReply>(
      [](const helloworld::HelloRequest& r, ServicerContext&) -> Task<helloworld::HelloReply> {
        helloworld::HelloReply reply;
        reply.set_message("Hello, " + r.name() + "!");
        co_return reply;
      });
  with_server({{"Hello", typed}}, [](Fixture& f) -> Task<void> {
    {
      auto e = co_await expect_rpc_error(f.method("Hello")(std::string("\xff\xff\xff\xff", 4)));
      EXPECT_EQ(e.code(), StatusCode::INTERNAL);
      EXPECT_NE(e.details().find("parse"), std::string::npos) << e.details();
    }
    auto hello = f.channel.unary_unary<helloworld::HelloRequest, helloworld::HelloReply>("/test.Svc/Hello");
    helloworld::HelloRequest req;
    req.set_name("after");
    EXPECT_EQ((co_await hello(req)).message(), "Hello, after!");
  });
}

TEST(Unary, Behaviour_006_011_CancelInFlight) {
  bool server_saw_cancel = false;
  bool done_in_callback = false;
  auto handler = raw([&](const std::string& req, ServicerContext& ctx) -> Task<std::string> {
    ctx.add_done_callback([&](ServicerContext& c) {
      server_saw_cancel = c.cancelled();
      done_in_callback = c.done();
    });
    EXPECT_FALSE(ctx.done());  // running: no status yet
    co_await sleep(5s);
    co_return req;
  });
  with_server({{"Slow", handler}}, [&](Fixture& f) -> Task<void> {
    auto call = f.method("Slow")("x");
    co_await sleep(50ms);
    EXPECT_TRUE(call.cancel());
    EXPECT_FALSE(call.cancel());
    EXPECT_FALSE(call.cancel());
    EXPECT_TRUE(call.done());
    EXPECT_TRUE(call.cancelled());
    EXPECT_THROW(co_await call, CancelledError);
    EXPECT_EQ(co_await call.code(), StatusCode::CANCELLED);
    EXPECT_EQ(co_await call.details(), "Locally cancelled by application!");
    for (int i = 0; i < 200 && !server_saw_cancel; ++i) co_await sleep(5ms);
    EXPECT_TRUE(server_saw_cancel);
    EXPECT_TRUE(done_in_callback);
  });
}

TEST(Unary, Behaviour_007_CancellingTheAwaitingTaskCancelsTheRpc) {
  with_server({{"Slow", sleepy(5s)}}, [](Fixture& f) -> Task<void> {
    auto call = f.method("Slow")("x");
    auto awaiter = [](UnaryUnaryCall<std::string>& c) -> Task<bool> {
      try {
        co_await c;
      } catch (const CancelledError&) {
        co_return true;
      }
      co_return false;
    };
    Task<bool> t = awaiter(call);
    auto canceller = [](Task<bool>& victim) -> Task<void> {
      co_await sleep(30ms);
      victim.cancel();
    };
    auto forward = [](Task<bool>& v) -> Task<bool> { co_return co_await v; };
    auto [was_cancelled, _] = co_await gather(forward(t), canceller(t));
    EXPECT_TRUE(was_cancelled);
    EXPECT_EQ(co_await call.code(), StatusCode::CANCELLED);
  });
}

TEST(Unary, Behaviour_003_UnreachableTargetIsUnavailable) {
  actio::run([]() -> Task<void> {
    // A port we bound and released: nothing listens there.
    auto probe = server();
    int port = probe.add_insecure_port("127.0.0.1:0");
    auto channel = insecure_channel("127.0.0.1:" + std::to_string(port));
    auto call = channel.unary_unary<std::string, std::string>("/test.Svc/Echo")("x", {.timeout = 5s});
    {
      auto e = co_await expect_rpc_error(call);
      EXPECT_EQ(e.code(), StatusCode::UNAVAILABLE);
    }
    EXPECT_TRUE(call.done());
    EXPECT_EQ(co_await call.code(), StatusCode::UNAVAILABLE);
    co_await channel.close();
  }());
}

TEST(Unary, Behaviour_074_075_DoneCallbacksOnBothSides) {
  int server_callbacks = 0;
  auto handler = raw([&](const std::string&, ServicerContext& ctx) -> Task<std::string> {
    ctx.add_done_callback([&](ServicerContext&) { ++server_callbacks; });
    ctx.add_done_callback([&](ServicerContext&) { throw std::runtime_error("callback failure"); });
    ctx.add_done_callback([&](ServicerContext&) { ++server_callbacks; });
    throw std::logic_error("handler failure");
    co_return "";
  });
  with_server({{"Echo", echo()}, {"Fail", handler}}, [&](Fixture& f) -> Task<void> {
    int client_callbacks = 0;
    bool done_in_callback = false;
    auto call = f.method("Echo")("x");
    call.add_done_callback([&](const Call& c) {
      ++client_callbacks;
      done_in_callback = c.done();
    });
    call.add_done_callback([&](const Call&) { ++client_callbacks; });
    co_await call;
    co_await sleep(1ms);  // callbacks run on the loop after completion
    EXPECT_EQ(client_callbacks, 2);
    EXPECT_TRUE(done_in_callback);
    bool ran_now = false;
    call.add_done_callback([&](const Call&) { ran_now = true; });
    EXPECT_TRUE(ran_now);  // already done: runs immediately
    EXPECT_THROW(co_await f.method("Fail")("x"), AioRpcError);
    for (int i = 0; i < 100 && server_callbacks < 2; ++i) co_await sleep(2ms);
    EXPECT_EQ(server_callbacks, 2);  // one throwing callback does not skip the rest
  });
}

TEST(Unary, Behaviour_107_108_TimeRemainingAndPeer) {
  std::optional<Duration> with_timeout, without_timeout;
  std::string peer;
  auto handler = raw([&](const std::string& req, ServicerContext& ctx) -> Task<std::string> {
    (req == "t" ? with_timeout : without_timeout) = ctx.time_remaining();
    peer = ctx.peer();
    co_return req;
  });
  with_server({{"T", handler}}, [&](Fixture& f) -> Task<void> {
    auto call = f.method("T")("t", {.timeout = 5s});
    CO_ASSERT_TRUE(call.time_remaining().has_value());
    EXPECT_GT(call.time_remaining()->count(), 4.0);
    co_await call;
    co_await f.method("T")("n");
    CO_ASSERT_TRUE(with_timeout.has_value());
    EXPECT_GT(with_timeout->count(), 2.5);
    EXPECT_FALSE(without_timeout.has_value());
    EXPECT_NE(peer.find("ipv4:127.0.0.1"), std::string::npos) << peer;
    EXPECT_FALSE(f.method("T")("n").time_remaining().has_value());
  });
}

TEST(Unary, SecondSendInitialMetadataIsAUsageErrorSeenAsUnknown) {
  auto handler = raw([](const std::string& req, ServicerContext& ctx) -> Task<std::string> {
    Metadata a{{"a", "1"}}, b{{"b", "2"}};
    co_await ctx.send_initial_metadata(a);
    co_await ctx.send_initial_metadata(b);
    co_return req;
  });
  with_server({{"Twice", handler}}, [](Fixture& f) -> Task<void> {
    {
      auto e = co_await expect_rpc_error(f.method("Twice")("x"));
      EXPECT_EQ(e.code(), StatusCode::UNKNOWN);
      EXPECT_EQ(e.details(), "Unexpected actio::UsageError: Send initial metadata failed: already sent");
      EXPECT_EQ(e.initial_metadata().get("a"), "1");
    }
  });
}

TEST(Unary, Behaviour_067_BadMetadataFailsBeforeTheCallWithAClearError) {
  with_server({{"Echo", echo()}}, [](Fixture& f) -> Task<void> {
    auto bad = [] {
      Metadata md;
      md.add("Bad Key", "v");
      return md;
    };
    EXPECT_THROW((void)bad(), UsageError);
    EXPECT_EQ(co_await f.method("Echo")("fine"), "fine");
  });
}

TEST(Unary, CustomCodecsOnBothSides) {
  Codec<int> int_codec{[](const int& v) { return std::to_string(v); },
                       [](std::string_view s) { return std::stoi(std::string(s)); }};
  auto doubler = unary_unary_rpc_method_handler<int, int>(
      [](const int& v, ServicerContext&) -> Task<int> { co_return v * 2; }, int_codec, int_codec);
  with_server({{"Double", doubler}}, [&](Fixture& f) -> Task<void> {
    auto call = f.channel.unary_unary<int, int>("/test.Svc/Double", int_codec, int_codec);
    EXPECT_EQ(co_await call(21), 42);
    // A request the server's deserializer rejects: INTERNAL.
    auto raw_call = f.method("Double")("not a number");
    EXPECT_THROW(co_await raw_call, AioRpcError);
    EXPECT_EQ(co_await raw_call.code(), StatusCode::INTERNAL);
  });
}

TEST(Unary, ManyConcurrentCallsOnOneChannel) {
  with_server({{"Echo", echo()}}, [](Fixture& f) -> Task<void> {
    std::vector<Task<std::string>> calls;
    auto one = [](UnaryUnaryMultiCallable<std::string, std::string> m, int i) -> Task<std::string> {
      co_return co_await m(std::to_string(i));
    };
    for (int i = 0; i < 200; ++i) calls.push_back(one(f.method("Echo"), i));
    auto out = co_await gather(std::move(calls));
    for (int i = 0; i < 200; ++i) EXPECT_EQ(out[i], std::to_string(i));
  });
}

TEST(Unary, DroppedCallHandleCancelsTheRpc) {
  bool server_saw_cancel = false;
  bool done_in_callback = false;
  auto handler = raw([&](const std::string& req, ServicerContext& ctx) -> Task<std::string> {
    ctx.add_done_callback([&](ServicerContext& c) {
      server_saw_cancel = c.cancelled();
      done_in_callback = c.done();
    });
    EXPECT_FALSE(ctx.done());  // running: no status yet
    co_await sleep(5s);
    co_return req;
  });
  with_server({{"Slow", handler}}, [&](Fixture& f) -> Task<void> {
    {
      auto call = f.method("Slow")("x");
      co_await sleep(30ms);
    }  // last handle gone while running: "Cancelled upon garbage collection!"
    for (int i = 0; i < 200 && !server_saw_cancel; ++i) co_await sleep(5ms);
    EXPECT_TRUE(server_saw_cancel);
  });
}

}  // namespace

namespace {

using namespace actio;
using namespace actio::testing;

TEST(Unary, CallOptionsWithMetadataInsideCoAwait) {
  // Regression: GCC 12 destroys aggregate temporaries in a co_await twice;
  // CallOptions is trivially destructible so this form is safe.
  std::string seen;
  auto handler = raw([&](const std::string& req, ServicerContext& ctx) -> Task<std::string> {
    seen = ctx.invocation_metadata().get("x-k").value_or("");
    co_return req;
  });
  with_server({{"Md", handler}}, [&](Fixture& f) -> Task<void> {
    for (int i = 0; i < 20; ++i) {
      Metadata md{{"x-k", "value-" + std::to_string(i)}};
      EXPECT_EQ(co_await f.method("Md")("x", {.timeout = 5s, .metadata = md, .wait_for_ready = false}), "x");
      EXPECT_EQ(seen, "value-" + std::to_string(i));
    }
  });
}

TEST(Unary, SendLimitsOfTheServerAndTheClientAreResourceExhaustedNamingTheLimit) {
  ServerOptions opts;
  opts.args.emplace_back("grpc.max_send_message_length", 100);
  with_server(
      {{"Echo", echo()}},
      [](Fixture& f) -> Task<void> {
        // A response over the server's send limit fails the call.
        auto e = co_await expect_rpc_error(f.method("Echo")(std::string(500, 'r'), {.timeout = 5s}));
        EXPECT_EQ(e.code(), StatusCode::RESOURCE_EXHAUSTED);
        EXPECT_NE(e.details().find("(500 vs. 100)"), std::string::npos) << e.details();
        // A request over the channel's send limit never leaves the client.
        ChannelOptions tight;
        tight.args.emplace_back("grpc.max_send_message_length", 100);
        auto ch = insecure_channel(f.target(), tight);
        auto echo_tight = ch.unary_unary<std::string, std::string>("/test.Svc/Echo");
        auto e2 = co_await expect_rpc_error(echo_tight(std::string(300, 'q'), {.timeout = 5s}));
        EXPECT_EQ(e2.code(), StatusCode::RESOURCE_EXHAUSTED);
        EXPECT_NE(e2.details().find("(300 vs. 100)"), std::string::npos) << e2.details();
        // Under the limits both sides go on working.
        EXPECT_EQ(co_await f.method("Echo")("small"), "small");
        EXPECT_EQ(co_await echo_tight("ok"), "ok");
        co_await ch.close();
      },
      opts);
}

TEST(Unary, OversizedMessagesAreResourceExhaustedAndNothingWedges) {
  ServerOptions opts;
  opts.args.emplace_back("grpc.max_receive_message_length", 1024);
  with_server(
      {{"Echo", echo()}},
      [](Fixture& f) -> Task<void> {
        // The server refuses a request over its limit.
        {
          auto e = co_await expect_rpc_error(f.method("Echo")(std::string(4096, 'x'), {.timeout = 5s}));
          EXPECT_EQ(e.code(), StatusCode::RESOURCE_EXHAUSTED);
          EXPECT_NE(e.details().find("larger than max"), std::string::npos) << e.details();
        }
        // The client refuses a response over its own limit.
        ChannelOptions small;
        small.args.emplace_back("grpc.max_receive_message_length", 100);
        auto ch = insecure_channel(f.target(), small);
        auto echo_small = ch.unary_unary<std::string, std::string>("/test.Svc/Echo");
        {
          auto e = co_await expect_rpc_error(echo_small(std::string(500, 'y'), {.timeout = 5s}));
          EXPECT_EQ(e.code(), StatusCode::RESOURCE_EXHAUSTED);
        }
        // Both sides keep working.
        EXPECT_EQ(co_await f.method("Echo")("small"), "small");
        EXPECT_EQ(co_await echo_small("ok"), "ok");
      },
      opts);
}

}  // namespace

namespace {

using namespace actio;
using namespace actio::testing;

TEST(Unary, Behaviour_041_042_WaitForConnection) {
  with_server({{"Echo", echo()}}, [](Fixture& f) -> Task<void> {
    auto call = f.method("Echo")("kept");
    co_await call.wait_for_connection();
    EXPECT_EQ(co_await call, "kept");  // nothing was swallowed
  });
  actio::run([]() -> Task<void> {
    auto probe = server();
    int port = probe.add_insecure_port("127.0.0.1:0");  // bound, then released: nobody listens
    auto channel = insecure_channel("127.0.0.1:" + std::to_string(port));
    auto call = channel.unary_unary<std::string, std::string>("/test.Svc/Echo")("x", {.timeout = 5s});
    {
      auto e = co_await expect_rpc_error(call.wait_for_connection());
      EXPECT_EQ(e.code(), StatusCode::UNAVAILABLE);
    }
  }());
}

TEST(Unary, WaitForReadyWaitsForAServerToAppear) {
  actio::run([]() -> Task<void> {
    auto srv = server();
    srv.add_generic_rpc_handlers({method_handlers_generic_handler("test.Svc", {{"Echo", echo()}})});
    int port = srv.add_insecure_port("127.0.0.1:0");
    auto channel = insecure_channel("127.0.0.1:" + std::to_string(port));
    auto echo_call = channel.unary_unary<std::string, std::string>("/test.Svc/Echo");
    // Fails fast without wait_for_ready (behaviour 43)...
    EXPECT_THROW(co_await echo_call("x", {.timeout = 5s}), AioRpcError);
    // ...and waits through TRANSIENT_FAILURE with it (behaviour 44).
    auto waiting = echo_call("y", {.timeout = 10s, .wait_for_ready = true});
    co_await sleep(200ms);
    EXPECT_FALSE(waiting.done());
    co_await srv.start();
    EXPECT_EQ(co_await waiting, "y");
    co_await srv.stop(0s);
  }());
}

TEST(Unary, Behaviour_046_RawBytesReachTheClientUnchanged) {
  // Every byte value, NULs included, through a raw-bytes handler and back,
  // unary and streamed.
  std::string all;
  for (int i = 0; i < 4 * 256; ++i) all.push_back(static_cast<char>(i % 256));
  auto twice = unary_stream_rpc_method_handler<std::string, std::string>(
      [](const std::string& req, ServicerContext& ctx) -> Task<void> {
        co_await ctx.write(req);
        co_await ctx.write(req);
      });
  with_server({{"Echo", echo()}, {"Twice", twice}}, [&all](Fixture& f) -> Task<void> {
    EXPECT_EQ(co_await f.method("Echo")(all), all);
    auto got = co_await collect(f.channel.unary_stream<std::string, std::string>("/test.Svc/Twice")(all));
    CO_ASSERT_EQ(got.size(), 2u);
    EXPECT_EQ(got[0], all);
    EXPECT_EQ(got[1], all);
  });
}

}  // namespace
