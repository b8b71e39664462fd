// Unary-stream (server-streaming) calls end to end (aio_reference §2 numbers).
#include <google/protobuf/timestamp.pb.h>

#include "test_util.hpp"

namespace {

using namespace actio;
using namespace actio::testing;

using StreamHandler = std::function<Task<void>(const std::string&, ServicerContext&)>;

RpcMethodHandler stream(StreamHandler fn) {
  return unary_stream_rpc_method_handler<std::string, std::string>(std::move(fn));
}

/// Writes `count` messages "0".."count-1" (count = the request as a number).
RpcMethodHandler counter() {
  return stream([](const std::string& req, ServicerContext& ctx) -> Task<void> {
    int n = std::stoi(req);
    for (int i = 0; i < n; ++i) co_await ctx.write(std::to_string(i));
  });
}

UnaryStreamMultiCallable<std::string, std::string> streamer(const Fixture& f, const std::string& name) {
  return f.channel.unary_stream<std::string, std::string>("/test.Svc/" + name);
}

TEST(UnaryStream, Behaviour_014_015_047_ReadsEveryMessageThenEndOfStreamForever) {
  with_server({{"Count", counter()}}, [](Fixture& f) -> Task<void> {
    auto call = streamer(f, "Count")("5");
    std::vector<std::string> got;
    while (auto msg = co_await call.read()) got.push_back(*msg);
    EXPECT_EQ(got, (std::vector<std::string>{"0", "1", "2", "3", "4"}));
    EXPECT_FALSE((co_await call.read()).has_value());
    EXPECT_FALSE((co_await call.read()).has_value());
    EXPECT_TRUE(call.done());
    EXPECT_EQ(co_await call.code(), StatusCode::OK);
    EXPECT_EQ(call.repr(), "<UnaryStreamCall /test.Svc/Count status=OK details=\"\">");
    EXPECT_FALSE(call.cancel());  // after an OK status: nothing to cancel
    EXPECT_FALSE(call.cancelled());
    EXPECT_EQ(co_await call.code(), StatusCode::OK);
  });
}

TEST(UnaryStream, Behaviour_018_ZeroLengthMessagesAreMessages) {
  auto empties = stream([](const std::string&, ServicerContext& ctx) -> Task<void> {
    co_await ctx.write(std::string());
    co_await ctx.write(std::string());
  });
  with_server({{"Empty", empties}}, [](Fixture& f) -> Task<void> {
    auto call = streamer(f, "Empty")("");
    int n = 0;
    while (auto msg = co_await call.read()) {
      EXPECT_TRUE(msg->empty());
      ++n;
    }
    EXPECT_EQ(n, 2);
  });
}

TEST(UnaryStream, Behaviour_066_MetadataAndTrailingSetAfterTheLastWrite) {
  auto handler = stream([](const std::string&, ServicerContext& ctx) -> Task<void> {
    Metadata initial{{"x-initial", "i"}};
    co_await ctx.send_initial_metadata(initial);
    co_await ctx.write(std::string("a"));
    EXPECT_TRUE(ctx.trailing_metadata().empty());
    Metadata trailing{{"x-trailing", "t"}};
    ctx.set_trailing_metadata(trailing);
    EXPECT_EQ(ctx.trailing_metadata(), trailing);  // grpc.aio's experimental getter
  });
  with_server({{"Md", handler}}, [](Fixture& f) -> Task<void> {
    auto call = streamer(f, "Md")("");
    EXPECT_EQ(co_await call.read(), std::optional<std::string>("a"));
    EXPECT_EQ((co_await call.initial_metadata()).get("x-initial"), "i");
    EXPECT_FALSE((co_await call.read()).has_value());
    EXPECT_EQ((co_await call.trailing_metadata()).get("x-trailing"), "t");
  });
}

TEST(UnaryStream, Behaviour_064_AbortAfterOneMessage) {
  std::string write_after_abort;
  auto handler = stream([&](const std::string&, ServicerContext& ctx) -> Task<void> {
    co_await ctx.write(std::string("first"));
    try {
      ctx.abort(StatusCode::FAILED_PRECONDITION, "stopped here");
    } catch (const AbortError&) {
    }
    try {
      co_await ctx.write(std::string("never"));
    } catch (const AbortError& e) {
      write_after_abort = e.what();
    }
  });
  with_server({{"Abort", handler}}, [&](Fixture& f) -> Task<void> {
    auto call = streamer(f, "Abort")("");
    EXPECT_EQ(co_await call.read(), std::optional<std::string>("first"));
    {
      auto e = co_await expect_rpc_error(call.read());
      EXPECT_EQ(e.code(), StatusCode::FAILED_PRECONDITION);
      EXPECT_EQ(e.details(), "stopped here");
    }
    EXPECT_EQ(co_await call.code(), StatusCode::FAILED_PRECONDITION);
    EXPECT_EQ(co_await call.details(), "stopped here");
    for (int i = 0; i < 100 && write_after_abort.empty(); ++i) co_await sleep(5ms);
    EXPECT_EQ(write_after_abort, "Locally aborted.");
  });
}

TEST(UnaryStream, HandlerExceptionMidStreamIsUnknown) {
  auto handler = stream([](const std::string&, ServicerContext& ctx) -> Task<void> {
    co_await ctx.write(std::string("one"));
    throw std::runtime_error("mid-stream");
  });
  with_server({{"Boom", handler}}, [](Fixture& f) -> Task<void> {
    auto call = streamer(f, "Boom")("");
    EXPECT_EQ(co_await call.read(), std::optional<std::string>("one"));
    auto e = co_await expect_rpc_error(call.read());
    EXPECT_EQ(e.code(), StatusCode::UNKNOWN);
    EXPECT_EQ(e.details(), "Unexpected std::runtime_error: mid-stream");
  });
}

TEST(UnaryStream, Behaviour_010_011_012_CancelBeforeAndAfterTheFirstRead) {
  auto endless = stream([](const std::string&, ServicerContext& ctx) -> Task<void> {
    for (int i = 0;; ++i) {
      co_await ctx.write(std::to_string(i));
      co_await sleep(5ms);
    }
  });
  with_server({{"Endless", endless}}, [](Fixture& f) -> Task<void> {
    auto before = streamer(f, "Endless")("");
    EXPECT_TRUE(before.cancel());
    EXPECT_THROW(co_await before.read(), CancelledError);
    EXPECT_EQ(co_await before.code(), StatusCode::CANCELLED);

    auto after = streamer(f, "Endless")("");
    EXPECT_EQ(co_await after.read(), std::optional<std::string>("0"));
    EXPECT_TRUE(after.cancel());
    EXPECT_FALSE(after.cancel());
    EXPECT_EQ(co_await after.code(), StatusCode::CANCELLED);
    EXPECT_EQ(co_await after.details(), "Locally cancelled by application!");
    EXPECT_THROW(co_await after.read(), CancelledError);
  });
}

TEST(UnaryStream, Behaviour_016_CancellingTheTaskBlockedInReadCancelsTheRpc) {
  auto silent = stream([](const std::string&, ServicerContext&) -> Task<void> { co_await sleep(10s); });
  with_server({{"Silent", silent}}, [](Fixture& f) -> Task<void> {
    auto call = streamer(f, "Silent")("");
    auto reader = [](UnaryStreamCall<std::string>& c) -> Task<bool> {
      try {
        co_await c.read();
      } catch (const CancelledError&) {
        co_return true;
      }
      co_return false;
    };
    Task<bool> t = reader(call);
    auto canceller = [](Task<bool>& victim) -> Task<void> {
      co_await sleep(30ms);
      victim.cancel();
    };
    auto forward = [](Task<bool>& v) -> Task<bool> { co_return co_await v; };
    auto [cancelled, _] = co_await gather(forward(t), canceller(t));
    EXPECT_TRUE(cancelled);
    EXPECT_EQ(co_await call.code(), StatusCode::CANCELLED);
  });
}

TEST(UnaryStream, Behaviour_045_DeadlineBetweenMessages) {
  auto slow = stream([](const std::string&, ServicerContext& ctx) -> Task<void> {
    co_await ctx.write(std::string("early"));
    co_await sleep(2s);
    co_await ctx.write(std::string("late"));
  });
  with_server({{"Slow", slow}}, [](Fixture& f) -> Task<void> {
    auto call = streamer(f, "Slow")("", {.timeout = 300ms});
    EXPECT_EQ(co_await call.read(), std::optional<std::string>("early"));
    auto e = co_await expect_rpc_error(call.read());
    EXPECT_EQ(e.code(), StatusCode::DEADLINE_EXCEEDED);
  });
}

TEST(UnaryStream, Behaviour_009_UnreachableTargetIsUnavailable) {
  actio::run([]() -> Task<void> {
    auto probe = server();
    int port = probe.add_insecure_port("127.0.0.1:0");
    auto channel = insecure_channel("127.0.0.1:" + std::to_string(port));
    auto call = channel.unary_stream<std::string, std::string>("/test.Svc/Count")("3", {.timeout = 5s});
    auto e = co_await expect_rpc_error(call.read());
    EXPECT_EQ(e.code(), StatusCode::UNAVAILABLE);
    EXPECT_TRUE(call.done());
  }());
}

TEST(UnaryStream, WriteFromAUnaryHandlerIsAUsageError) {
  auto handler = raw([](const std::string&, ServicerContext& ctx) -> Task<std::string> {
    co_await ctx.write(std::string("no"));
    co_return "unreachable";
  });
  with_server({{"Unary", handler}}, [](Fixture& f) -> Task<void> {
    auto e = co_await expect_rpc_error(f.method("Unary")(""));
    EXPECT_EQ(e.code(), StatusCode::UNKNOWN);
    EXPECT_NE(e.details().find("write() is for streaming responses"), std::string::npos) << e.details();
  });
}

TEST(UnaryStream, ManyConcurrentStreams) {
  with_server({{"Count", counter()}}, [](Fixture& f) -> Task<void> {
    auto one = [](UnaryStreamMultiCallable<std::string, std::string> m) -> Task<int> {
      auto call = m("50");
      int n = 0;
      while (auto msg = co_await call.read()) {
        EXPECT_EQ(*msg, std::to_string(n));
        ++n;
      }
      co_return n;
    };
    std::vector<Task<int>> streams;
    for (int i = 0; i < 20; ++i) streams.push_back(one(streamer(f, "Count")));
    for (int n : co_await gather(std::move(streams))) EXPECT_EQ(n, 50);
  });
}

}  // namespace

TEST(UnaryStream, Behaviour_015_IterationWithForEachAndCollect) {
  with_server({{"Count", counter()}}, [](Fixture& f) -> Task<void> {
    std::vector<std::string> got;
    co_await for_each(streamer(f, "Count")("4"), [&](const std::string& m) { got.push_back(m); });
    EXPECT_EQ(got, (std::vector<std::string>{"0", "1", "2", "3"}));

    // A coroutine callback is awaited before the next read.
    int seen = 0;
    co_await for_each(streamer(f, "Count")("3"), [&](const std::string&) -> Task<void> {
      co_await sleep(1ms);
      ++seen;
    });
    EXPECT_EQ(seen, 3);

    // Returning false stops early; the call itself goes on until cancelled or done.
    auto call = streamer(f, "Count")("10");
    co_await for_each(call, [&](const std::string& m) { return m != "2"; });
    EXPECT_FALSE(call.cancelled());

    const std::vector<std::string> three{"0", "1", "2"};  // (GCC 12: no braced lists beside co_await)
    EXPECT_EQ(co_await collect(streamer(f, "Count")("3")), three);
    EXPECT_TRUE((co_await collect(streamer(f, "Count")("0"))).empty());
  });
}

TEST(UnaryStream, Behaviour_048_ReadThenIterationIsAUsageErrorAndViceVersa) {
  with_server({{"Count", counter()}}, [](Fixture& f) -> Task<void> {
    auto call = streamer(f, "Count")("3");
    EXPECT_EQ(co_await call.read(), std::optional<std::string>("0"));
    EXPECT_THROW(co_await collect(call), UsageError);
    EXPECT_EQ(co_await call.read(), std::optional<std::string>("1"));  // read() still works

    auto other = streamer(f, "Count")("3");
    co_await for_each(other, [](const std::string& m) { return m != "0"; });
    EXPECT_THROW(co_await other.read(), UsageError);
    const std::vector<std::string> rest{"1", "2"};
    EXPECT_EQ(co_await collect(other), rest);  // iteration goes on
  });
}

TEST(UnaryStream, ForEachSurfacesTheErrorStatus) {
  auto handler = stream([](const std::string&, ServicerContext& ctx) -> Task<void> {
    co_await ctx.write(std::string("one"));
    ctx.abort(StatusCode::DATA_LOSS, "gone");
  });
  with_server({{"Fail", handler}}, [](Fixture& f) -> Task<void> {
    int n = 0;
    auto e = co_await expect_rpc_error(for_each(streamer(f, "Fail")(""), [&](const std::string&) { ++n; }));
    EXPECT_EQ(n, 1);
    EXPECT_EQ(e.code(), StatusCode::DATA_LOSS);
  });
}

TEST(UnaryStream, Behaviour_047_GeneratorHandlerMixesYieldAndWrite) {
  auto handler = unary_stream_rpc_method_handler<std::string, std::string>(
      [](const std::string& req, ServicerContext& ctx) -> Generator<std::string> {
        int n = std::stoi(req);
        for (int i = 0; i < n; ++i) {
          if (i % 2) co_await ctx.write(std::to_string(i));  // odd ones written
          else co_yield std::to_string(i);                   // even ones yielded
        }
        Metadata trailing{{"x-after", "yield"}};
        ctx.set_trailing_metadata(trailing);
      });
  with_server({{"Gen", handler}}, [](Fixture& f) -> Task<void> {
    auto call = streamer(f, "Gen")("5");
    auto got = co_await collect(call);
    const std::vector<std::string> expected{"0", "1", "2", "3", "4"};
    EXPECT_EQ(got, expected);
    EXPECT_EQ(co_await call.code(), StatusCode::OK);
    EXPECT_EQ((co_await call.trailing_metadata()).get("x-after"), "yield");
  });
}

TEST(UnaryStream, GeneratorHandlerExceptionIsUnknown) {
  auto handler = unary_stream_rpc_method_handler<std::string, std::string>(
      [](const std::string&, ServicerContext&) -> Generator<std::string> {
        co_yield std::string("one");
        throw std::logic_error("generator broke");
      });
  with_server({{"Gen", handler}}, [](Fixture& f) -> Task<void> {
    auto call = streamer(f, "Gen")("");
    EXPECT_EQ(co_await call.read(), std::optional<std::string>("one"));
    auto e = co_await expect_rpc_error(call.read());
    EXPECT_EQ(e.code(), StatusCode::UNKNOWN);
    EXPECT_EQ(e.details(), "Unexpected std::logic_error: generator broke");
  });
}

// -- read_into: one message object reused across reads ---------------------------

TEST(UnaryStream, ReadIntoReadsEveryMessageThenFalseForever) {
  with_server({{"Count", counter()}}, [](Fixture& f) -> Task<void> {
    auto call = streamer(f, "Count")("5");
    std::string msg;
    std::vector<std::string> got;
    while (co_await call.read_into(msg)) got.push_back(msg);
    EXPECT_EQ(got, (std::vector<std::string>{"0", "1", "2", "3", "4"}));
    EXPECT_FALSE(co_await call.read_into(msg));
    EXPECT_FALSE(co_await call.read_into(msg));
    EXPECT_EQ(msg, "4");  // the end leaves the last message alone
    EXPECT_TRUE(call.done());
    EXPECT_EQ(co_await call.code(), StatusCode::OK);
    // read() and read_into() are one style: they mix.
    auto mixed = streamer(f, "Count")("3");
    EXPECT_EQ(co_await mixed.read(), std::optional<std::string>("0"));
    EXPECT_TRUE(co_await mixed.read_into(msg));
    EXPECT_EQ(msg, "1");
    EXPECT_EQ(co_await mixed.read(), std::optional<std::string>("2"));
    EXPECT_FALSE(co_await mixed.read_into(msg));
  });
}

TEST(UnaryStream, ReadIntoGivesExactlyTheNewMessage) {
  // Each message has fewer fields (or bytes) than the one before: whatever
  // the previous one left in the reused object must be gone.
  auto stamps = unary_stream_rpc_method_handler<std::string, google::protobuf::Timestamp>(
      [](const std::string&, ServicerContext& ctx) -> Task<void> {
        google::protobuf::Timestamp t;
        t.set_seconds(5);
        t.set_nanos(7);
        co_await ctx.write(t);
        t.clear_nanos();
        t.set_seconds(9);
        co_await ctx.write(t);
        co_await ctx.write(google::protobuf::Timestamp());  // zero bytes on the wire
      });
  auto words = stream([](const std::string&, ServicerContext& ctx) -> Task<void> {
    co_await ctx.write(std::string(100, 'x'));
    co_await ctx.write(std::string("ab"));
    co_await ctx.write(std::string());
  });
  with_server({{"Stamps", stamps}, {"Words", words}}, [](Fixture& f) -> Task<void> {
    auto call = f.channel.unary_stream<std::string, google::protobuf::Timestamp>("/test.Svc/Stamps")("");
    google::protobuf::Timestamp t;
    CO_ASSERT_TRUE(co_await call.read_into(t));
    EXPECT_EQ(t.seconds(), 5);
    EXPECT_EQ(t.nanos(), 7);
    CO_ASSERT_TRUE(co_await call.read_into(t));
    EXPECT_EQ(t.seconds(), 9);
    EXPECT_EQ(t.nanos(), 0);
    CO_ASSERT_TRUE(co_await call.read_into(t));  // a zero-length message is a message
    EXPECT_EQ(t.ByteSizeLong(), 0u);
    EXPECT_FALSE(co_await call.read_into(t));

    auto bytes = streamer(f, "Words")("");
    std::string w;
    CO_ASSERT_TRUE(co_await bytes.read_into(w));
    EXPECT_EQ(w, std::string(100, 'x'));
    CO_ASSERT_TRUE(co_await bytes.read_into(w));
    EXPECT_EQ(w, "ab");
    CO_ASSERT_TRUE(co_await bytes.read_into(w));
    EXPECT_EQ(w, "");
    EXPECT_FALSE(co_await bytes.read_into(w));

    // A custom codec's deserializer makes the value: it replaces the old one.
    Codec<std::vector<int>> lengths{
        .serialize = [](const std::vector<int>& v) { return std::string(v.size(), 'x'); },
        .deserialize = [](std::string_view b) { return std::vector<int>(b.size(), static_cast<int>(b.size())); }};
    auto custom = f.channel.unary_stream<std::string, std::vector<int>>("/test.Svc/Words", {}, lengths)("");
    std::vector<int> v;
    CO_ASSERT_TRUE(co_await custom.read_into(v));
    EXPECT_EQ(v.size(), 100u);
    CO_ASSERT_TRUE(co_await custom.read_into(v));
    EXPECT_EQ(v, (std::vector<int>{2, 2}));
    CO_ASSERT_TRUE(co_await custom.read_into(v));
    EXPECT_TRUE(v.empty());
    EXPECT_FALSE(co_await custom.read_into(v));
  });
}

TEST(UnaryStream, ReadIntoSurfacesTheErrorStatus) {
  auto handler = stream([](const std::string&, ServicerContext& ctx) -> Task<void> {
    co_await ctx.write(std::string("one"));
    ctx.abort(StatusCode::DATA_LOSS, "gone");
  });
  with_server({{"Fail", handler}}, [](Fixture& f) -> Task<void> {
    auto call = streamer(f, "Fail")("");
    std::string msg;
    EXPECT_TRUE(co_await call.read_into(msg));
    EXPECT_EQ(msg, "one");
    auto e = co_await expect_rpc_error(call.read_into(msg));
    EXPECT_EQ(e.code(), StatusCode::DATA_LOSS);
    EXPECT_EQ(e.details(), "gone");
    auto again = co_await expect_rpc_error(call.read_into(msg));
    EXPECT_EQ(again.code(), StatusCode::DATA_LOSS);
    EXPECT_EQ(msg, "one");
  });
}

TEST(UnaryStream, ReadIntoThenIterationIsAUsageErrorAndViceVersa) {
  with_server({{"Count", counter()}}, [](Fixture& f) -> Task<void> {
    std::string msg;
    auto call = streamer(f, "Count")("3");
    EXPECT_TRUE(co_await call.read_into(msg));
    EXPECT_THROW(co_await for_each(call, [](const std::string&) {}), UsageError);
    EXPECT_TRUE(co_await call.read_into(msg));  // read_into still works
    EXPECT_EQ(msg, "1");

    auto other = streamer(f, "Count")("3");
    co_await for_each(other, [](const std::string& m) { return m != "0"; });
    EXPECT_THROW(co_await other.read_into(msg), UsageError);
    const std::vector<std::string> rest{"1", "2"};
    EXPECT_EQ(co_await collect(other), rest);  // iteration goes on
  });
}

TEST(UnaryStream, ReadIntoAnUndecodableMessageIsInternal) {
  auto garbage = stream([](const std::string&, ServicerContext& ctx) -> Task<void> {
    co_await ctx.write(std::string("\xff\xff\xff", 3));  // not a protobuf message
  });
  with_server({{"Garbage", garbage}}, [](Fixture& f) -> Task<void> {
    auto call = f.channel.unary_stream<std::string, google::protobuf::Timestamp>("/test.Svc/Garbage")("");
    google::protobuf::Timestamp t;
    auto e = co_await expect_rpc_error(call.read_into(t));
    EXPECT_EQ(e.code(), StatusCode::INTERNAL);
    EXPECT_EQ(e.details(), "Failed to deserialize response message");
    call.cancel();
  });
}

TEST(UnaryStream, ReadIntoServesWhatTheStatusPumpReadAhead) {
  // code() first: the messages are read ahead into a queue; read_into takes them from there.
  with_server({{"Count", counter()}}, [](Fixture& f) -> Task<void> {
    auto call = streamer(f, "Count")("3");
    EXPECT_EQ(co_await call.code(), StatusCode::OK);
    std::string msg;
    std::vector<std::string> got;
    while (co_await call.read_into(msg)) got.push_back(msg);
    EXPECT_EQ(got, (std::vector<std::string>{"0", "1", "2"}));
  });
}
