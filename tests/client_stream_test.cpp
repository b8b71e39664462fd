// Stream-request calls end to end: stream-unary and bidi (aio_reference §2).
#include <google/protobuf/timestamp.pb.h>

#include <ranges>

#include "helloworld.pb.h"
#include "test_util.hpp"

namespace {

using namespace actio;
using namespace actio::testing;

using Requests = RequestStream<std::string>;

/// Stream-unary: concatenates the requests, reading the first with
/// context.read() and the rest through the request stream (mixing is allowed).
RpcMethodHandler concat() {
  return stream_unary_rpc_method_handler<std::string, std::string>(
      [](Requests& requests, ServicerContext& ctx) -> Task<std::string> {
        std::string out;
        if (auto first = co_await ctx.read<std::string>()) out += *first;
        while (auto r = co_await requests.read()) out += *r;
        co_return out;
      });
}

/// Bidi: echoes every request as it arrives.
RpcMethodHandler echo_stream() {
  return stream_stream_rpc_method_handler<std::string, std::string>(
      [](Requests& requests, ServicerContext& ctx) -> Task<void> {
        while (auto r = co_await requests.read()) co_await ctx.write(*r);
      });
}

StreamUnaryMultiCallable<std::string, std::string> su(const Fixture& f, const std::string& name) {
  return f.channel.stream_unary<std::string, std::string>("/test.Svc/" + name);
}
StreamStreamMultiCallable<std::string, std::string> ss(const Fixture& f, const std::string& name) {
  return f.channel.stream_stream<std::string, std::string>("/test.Svc/" + name);
}

TEST(StreamUnary, Behaviour_023_031_049_WriterStyleIteratorStyleAndAPlainRange) {
  with_server({{"Concat", concat()}}, [](Fixture& f) -> Task<void> {
    auto call = su(f, "Concat")();
    for (const char* part : {"a", "b", "c"}) co_await call.write(part);
    co_await call.done_writing();
    EXPECT_EQ(co_await call, "abc");
    EXPECT_EQ(co_await call, "abc");  // the same result again
    EXPECT_EQ(co_await call.code(), StatusCode::OK);

    std::vector<std::string> parts{"x", "y", "z", ""};
    EXPECT_EQ(co_await su(f, "Concat")(parts), "xyz");  // behaviour 23: a plain range
  });
}

TEST(StreamUnary, Behaviour_049_HandlersIterateTheRequestStreamMixedWithRead) {
  // grpc.aio mixes context.read(), request_iterator reads and `async for` in
  // one handler; Actio's for_each/collect iterate a RequestStream the same way.
  auto mixed = stream_unary_rpc_method_handler<std::string, std::string>(
      [](Requests& requests, ServicerContext& ctx) -> Task<std::string> {
        std::string out;
        if (auto first = co_await ctx.read<std::string>()) out += *first + "|";
        if (auto second = co_await requests.read()) out += *second + "|";
        co_await for_each(requests, [&out](const std::string& r) {
          out += r;
          return r != "stop";  // false ends the iteration; the rest stays readable
        });
        out += "|";
        for (const auto& r : co_await collect(requests)) out += r;
        co_return out;
      });
  with_server({{"Mixed", mixed}}, [](Fixture& f) -> Task<void> {
    std::vector<std::string> parts{"a", "b", "c", "stop", "d", "e"};
    EXPECT_EQ(co_await su(f, "Mixed")(parts), "a|b|cstop|de");
  });
}

TEST(StreamUnary, TheStatusWithoutAwaitingTheResponseAndTheResponseAfter) {
  // code() (or wait_for_connection() of a failed call) need not wait for
  // someone to await the response: the call reads it ahead and keeps it.
  with_server({{"Concat", concat()}}, [](Fixture& f) -> Task<void> {
    auto call = su(f, "Concat")();
    co_await call.write("a");
    co_await call.write("b");
    co_await call.done_writing();
    EXPECT_EQ(co_await call.code(), StatusCode::OK);
    EXPECT_TRUE(call.done());
    EXPECT_EQ(co_await call, "ab");
    EXPECT_EQ(co_await call, "ab");
  });
}

TEST(StreamUnary, Behaviour_021_WriteAfterDoneWritingIsInvalidStateAndTheCallStillCompletes) {
  with_server({{"Concat", concat()}}, [](Fixture& f) -> Task<void> {
    auto call = su(f, "Concat")();
    co_await call.write("1");
    co_await call.done_writing();
    co_await call.done_writing();  // idempotent
    try {
      co_await call.write("2");
      ADD_FAILURE() << "write after done_writing";
    } catch (const InvalidStateError& e) {
      EXPECT_STREQ(e.what(), "RPC is half closed after calling \"done_writing\".");
    }
    EXPECT_EQ(co_await call, "1");
  });
}

TEST(StreamUnary, Behaviour_019_020_CancelAfterWritesAndBeforeAny) {
  with_server({{"Concat", concat()}}, [](Fixture& f) -> Task<void> {
    auto call = su(f, "Concat")();
    co_await call.write("1");
    EXPECT_TRUE(call.cancel());
    EXPECT_TRUE(call.cancelled());
    co_await call.done_writing();  // does nothing
    EXPECT_THROW(co_await call, CancelledError);

    auto early = su(f, "Concat")();
    EXPECT_TRUE(early.cancel());
    EXPECT_THROW(co_await early.write("x"), InvalidStateError);
    co_await early.done_writing();
    EXPECT_THROW(co_await early, CancelledError);
  });
}

TEST(StreamUnary, Behaviour_102_IteratorAndWritesDoNotMix) {
  with_server({{"Concat", concat()}}, [](Fixture& f) -> Task<void> {
    std::vector<std::string> parts{"p", "q"};
    auto call = su(f, "Concat")(parts);
    EXPECT_THROW(co_await call.write("r"), UsageError);
    EXPECT_THROW(co_await call.done_writing(), UsageError);
    EXPECT_EQ(co_await call, "pq");
  });
}

TEST(StreamUnary, Behaviour_024_UnreachableTargetIsUnavailableWithoutWrites) {
  actio::run([]() -> Task<void> {
    auto probe = server();
    int port = probe.add_insecure_port("127.0.0.1:0");
    auto channel = insecure_channel("127.0.0.1:" + std::to_string(port));
    auto call = channel.stream_unary<std::string, std::string>("/test.Svc/Concat")({.timeout = 5s});
    auto e = co_await expect_rpc_error(call.response());
    EXPECT_EQ(e.code(), StatusCode::UNAVAILABLE);
  }());
}

TEST(StreamUnary, Behaviour_024_ATimeoutWithNoTrafficIsDeadlineExceeded) {
  with_server({{"Concat", concat()}}, [](Fixture& f) -> Task<void> {
    auto call = su(f, "Concat")({.timeout = 100ms});  // no write, no done_writing
    auto e = co_await expect_rpc_error(call.response());
    EXPECT_EQ(e.code(), StatusCode::DEADLINE_EXCEEDED);
    EXPECT_EQ(e.details(), "Deadline Exceeded");
  });
}

TEST(StreamUnary, Behaviour_019_CancelAfterDoneWritingBeforeTheResponse) {
  // The handler has every request and is working on the reply when the
  // client cancels; the handler sees the cancel.
  struct Seen {
    std::atomic<bool> all_read{false}, cancelled{false};
  };
  static Seen seen;
  auto slow = stream_unary_rpc_method_handler<std::string, std::string>(
      [](Requests& requests, ServicerContext&) -> Task<std::string> {
        std::string out;
        while (auto r = co_await requests.read()) out += *r;
        seen.all_read = true;
        try {
          co_await sleep(10s);
        } catch (const CancelledError&) {
          seen.cancelled = true;
          throw;
        }
        co_return out;
      });
  with_server({{"Slow", slow}}, [](Fixture& f) -> Task<void> {
    auto call = su(f, "Slow")({.timeout = 5s});
    co_await call.write("a");
    co_await call.done_writing();
    for (int i = 0; i < 200 && !seen.all_read; ++i) co_await sleep(5ms);
    CO_ASSERT_TRUE(seen.all_read.load());
    EXPECT_FALSE(call.done());
    EXPECT_TRUE(call.cancel());
    EXPECT_FALSE(call.cancel());  // once
    EXPECT_THROW(co_await call, CancelledError);
    EXPECT_EQ(co_await call.code(), StatusCode::CANCELLED);
    EXPECT_EQ(co_await call.details(), "Locally cancelled by application!");
    for (int i = 0; i < 200 && !seen.cancelled; ++i) co_await sleep(5ms);
    EXPECT_TRUE(seen.cancelled.load());
  });
}

TEST(Streams, Behaviour_066_MetadataBothWaysOnStreamUnaryAndBidi) {
  // The handler sends the client's x-in back as initial metadata, and sets
  // trailing metadata after its last write / read.
  auto su_handler = stream_unary_rpc_method_handler<std::string, std::string>(
      [](Requests& requests, ServicerContext& ctx) -> Task<std::string> {
        Metadata initial{{"x-echo", ctx.invocation_metadata().get("x-in").value_or("?")}};
        co_await ctx.send_initial_metadata(initial);
        std::string out;
        while (auto r = co_await requests.read()) out += *r;
        ctx.set_trailing_metadata(Metadata{{"x-count", std::to_string(out.size())}});
        co_return out;
      });
  auto ss_handler = stream_stream_rpc_method_handler<std::string, std::string>(
      [](Requests& requests, ServicerContext& ctx) -> Task<void> {
        Metadata initial{{"x-echo", ctx.invocation_metadata().get("x-in").value_or("?")}};
        co_await ctx.send_initial_metadata(initial);
        int n = 0;
        while (auto r = co_await requests.read()) {
          co_await ctx.write(*r);
          ++n;
        }
        ctx.set_trailing_metadata(Metadata{{"x-count", std::to_string(n)}});
      });
  with_server({{"SU", su_handler}, {"SS", ss_handler}}, [](Fixture& f) -> Task<void> {
    Metadata md{{"x-in", "client-stream"}};
    auto call = su(f, "SU")({.metadata = md});
    EXPECT_EQ((co_await call.initial_metadata()).get("x-echo"), "client-stream");  // before any write
    co_await call.write("abc");
    co_await call.done_writing();
    EXPECT_EQ(co_await call, "abc");
    EXPECT_EQ((co_await call.trailing_metadata()).get("x-count"), "3");

    Metadata md2{{"x-in", "bidi"}};
    auto bidi = ss(f, "SS")({.metadata = md2});
    EXPECT_EQ((co_await bidi.initial_metadata()).get("x-echo"), "bidi");
    co_await bidi.write("1");
    EXPECT_EQ(co_await bidi.read(), std::optional<std::string>("1"));
    co_await bidi.write("2");
    co_await bidi.done_writing();
    EXPECT_EQ(co_await bidi.read(), std::optional<std::string>("2"));
    EXPECT_FALSE((co_await bidi.read()).has_value());
    EXPECT_EQ((co_await bidi.trailing_metadata()).get("x-count"), "2");
  });
}

/// Cancels `victim` after 30 ms.
Task<void> cancel_after_30ms(Task<bool>& victim) {
  co_await sleep(30ms);
  victim.cancel();
}
Task<bool> forward(Task<bool>& t) { co_return co_await t; }

TEST(Streams, Behaviour_007_016_CancellingTheAwaitingTaskCancelsTheRpcOnEveryStreamingShape) {
  // The task awaiting the call (stream-unary's response, bidi's read, an
  // iteration with for_each) is cancelled: the RPC is cancelled with it.
  // Silent: reads until the client's cancel ends its requests, sends
  // nothing, then sleeps: the cancel must reach that sleep even when the
  // failed read and gRPC's done notice land in one loop turn (it was lost
  // there once, and the handler outlived the server: a leak under ASan).
  auto silent = stream_stream_rpc_method_handler<std::string, std::string>(
      [](Requests& requests, ServicerContext&) -> Task<void> {
        while (co_await requests.read()) {
        }
        co_await sleep(10s);
      });
  with_server({{"Concat", concat()}, {"Silent", silent}}, [](Fixture& f) -> Task<void> {
    auto su_call = su(f, "Concat")();  // never half-closed: no response comes
    auto await_response = [](StreamUnaryCall<std::string, std::string>& c) -> Task<bool> {
      try {
        co_await c;
      } catch (const CancelledError&) {
        co_return true;
      }
      co_return false;
    };
    Task<bool> t1 = await_response(su_call);
    auto [su_cancelled, _1] = co_await gather(forward(t1), cancel_after_30ms(t1));
    EXPECT_TRUE(su_cancelled);
    EXPECT_EQ(co_await su_call.code(), StatusCode::CANCELLED);

    auto bidi = ss(f, "Silent")();
    auto await_read = [](StreamStreamCall<std::string, std::string>& c) -> Task<bool> {
      try {
        co_await c.read();
      } catch (const CancelledError&) {
        co_return true;
      }
      co_return false;
    };
    Task<bool> t2 = await_read(bidi);
    auto [read_cancelled, _2] = co_await gather(forward(t2), cancel_after_30ms(t2));
    EXPECT_TRUE(read_cancelled);
    EXPECT_EQ(co_await bidi.code(), StatusCode::CANCELLED);

    auto iterated = ss(f, "Silent")();
    auto iterate = [](StreamStreamCall<std::string, std::string> c) -> Task<bool> {
      try {
        co_await for_each(c, [](const std::string&) {});
      } catch (const CancelledError&) {
        co_return true;
      }
      co_return false;
    };
    Task<bool> t3 = iterate(iterated);
    auto [iteration_cancelled, _3] = co_await gather(forward(t3), cancel_after_30ms(t3));
    EXPECT_TRUE(iteration_cancelled);
    EXPECT_EQ(co_await iterated.code(), StatusCode::CANCELLED);
  });
}

TEST(Streams, ServerMisusesEndInTheDocumentedErrors) {
  // A unary-request handler's context.read() gives nothing (EOF); read() and
  // write() after an abort the handler caught raise AbortError again
  // (aio_reference §1.9).
  static std::vector<std::string> seen;
  seen.clear();
  auto unary = unary_unary_rpc_method_handler<std::string, std::string>(
      [](const std::string& req, ServicerContext& ctx) -> Task<std::string> {
        auto extra = co_await ctx.read<std::string>();
        seen.push_back(extra ? "read gave " + *extra : "read gave nothing");
        co_return req;
      });
  auto late = stream_stream_rpc_method_handler<std::string, std::string>(
      [](Requests& requests, ServicerContext& ctx) -> Task<void> {
        try {
          ctx.abort(StatusCode::FAILED_PRECONDITION, "stop here");
        } catch (const AbortError&) {
        }
        try {
          co_await ctx.write("late");
          seen.push_back("write: no error");
        } catch (const AbortError& e) {
          seen.push_back(std::string("write: AbortError ") + e.what());
        } catch (const std::exception& e) {
          seen.push_back(std::string("write: other ") + e.what());
        }
        try {
          auto r = co_await requests.read();
          seen.push_back(r ? "read: a message" : "read: nothing");
        } catch (const AbortError& e) {
          seen.push_back(std::string("read: AbortError ") + e.what());
        } catch (const std::exception& e) {
          seen.push_back(std::string("read: other ") + e.what());
        }
      });
  with_server({{"Unary", unary}, {"Late", late}}, [](Fixture& f) -> Task<void> {
    EXPECT_EQ(co_await f.method("Unary")("x"), "x");
    auto call = ss(f, "Late")();
    EXPECT_THROW(co_await call.read(), AioRpcError);
    EXPECT_EQ(co_await call.code(), StatusCode::FAILED_PRECONDITION);
    for (int i = 0; i < 200 && seen.size() < 3; ++i) co_await sleep(5ms);
    EXPECT_EQ(seen, (std::vector<std::string>{"read gave nothing", "write: AbortError Locally aborted.",
                                              "read: AbortError Locally aborted."}));
  });
}

TEST(StreamStream, Behaviour_018_023_031_PingPongZeroLengthMessagesAndAPlainRange) {
  with_server({{"Echo", echo_stream()}}, [](Fixture& f) -> Task<void> {
    auto call = ss(f, "Echo")();
    for (std::string m : {"one", "", "three"}) {
      co_await call.write(m);
      EXPECT_EQ(co_await call.read(), std::optional<std::string>(m));
    }
    co_await call.done_writing();
    EXPECT_FALSE((co_await call.read()).has_value());
    EXPECT_EQ(co_await call.code(), StatusCode::OK);

    std::vector<std::string> many{"a", "b", "c"};  // behaviour 23: a plain range
    auto it = ss(f, "Echo")(many);
    std::vector<std::string> got;
    while (auto m = co_await it.read()) got.push_back(*m);
    EXPECT_EQ(got, many);
  });
}

TEST(StreamStream, Behaviour_027_WriteAfterDoneWritingButRepliesStillArrive) {
  with_server({{"Echo", echo_stream()}}, [](Fixture& f) -> Task<void> {
    auto call = ss(f, "Echo")();
    co_await call.write("kept");
    co_await call.done_writing();
    EXPECT_THROW(co_await call.write("late"), InvalidStateError);
    EXPECT_EQ(co_await call.read(), std::optional<std::string>("kept"));
    EXPECT_FALSE((co_await call.read()).has_value());
  });
}

TEST(StreamStream, Behaviour_025_CancelWithAPendingReadAndAfterDoneWriting) {
  with_server({{"Echo", echo_stream()}}, [](Fixture& f) -> Task<void> {
    auto call = ss(f, "Echo")();
    co_await call.write("x");
    EXPECT_EQ(co_await call.read(), std::optional<std::string>("x"));
    auto reader = [](StreamStreamCall<std::string, std::string>& c) -> Task<bool> {
      try {
        co_await c.read();
      } catch (const CancelledError&) {
        co_return true;
      }
      co_return false;
    };
    auto canceller = [](StreamStreamCall<std::string, std::string>& c) -> Task<void> {
      co_await sleep(20ms);
      EXPECT_TRUE(c.cancel());
    };
    auto [cancelled, _] = co_await gather(reader(call), canceller(call));
    EXPECT_TRUE(cancelled);
    EXPECT_EQ(co_await call.code(), StatusCode::CANCELLED);

  });
}

TEST(StreamStream, Behaviour_025_CancelWithNoTrafficAndAfterDoneWritingBeforeTheStatus) {
  // The handler reads to the end, then holds the call: after done_writing
  // the status cannot have arrived when the client cancels.
  auto drain_then_hold = stream_stream_rpc_method_handler<std::string, std::string>(
      [](Requests& requests, ServicerContext&) -> Task<void> {
        while (co_await requests.read()) {
        }
        co_await sleep(10s);
      });
  with_server({{"Hold", drain_then_hold}}, [](Fixture& f) -> Task<void> {
    auto idle = ss(f, "Hold")();  // no traffic at all
    EXPECT_TRUE(idle.cancel());
    EXPECT_FALSE(idle.cancel());
    EXPECT_EQ(co_await idle.code(), StatusCode::CANCELLED);
    EXPECT_TRUE(idle.cancelled());

    auto half = ss(f, "Hold")();
    co_await half.write("x");
    co_await half.done_writing();
    co_await sleep(20ms);  // the server has read to the end
    EXPECT_FALSE(half.done());
    EXPECT_TRUE(half.cancel());
    EXPECT_EQ(co_await half.code(), StatusCode::CANCELLED);
    bool raised = false;
    try {
      co_await half.read();
    } catch (const CancelledError&) {
      raised = true;
    }
    EXPECT_TRUE(raised);
  });
}

TEST(Call, Behaviour_006_011_025_CancelAfterAnOkStatusIsFalseOnEveryShape) {
  // Once a call ended OK, cancel() changes nothing: false, code OK, not
  // cancelled (unary-stream: stream_test.cpp, behaviour 14).
  with_server({{"Echo", echo()}, {"Concat", concat()}, {"EchoStream", echo_stream()}}, [](Fixture& f) -> Task<void> {
    auto unary = f.method("Echo")("u");
    EXPECT_EQ(co_await unary, "u");
    auto client_streaming = su(f, "Concat")();
    co_await client_streaming.write("a");
    co_await client_streaming.done_writing();
    EXPECT_EQ(co_await client_streaming, "a");
    auto bidi = ss(f, "EchoStream")();
    co_await bidi.write("b");
    EXPECT_EQ(co_await bidi.read(), std::optional<std::string>("b"));
    co_await bidi.done_writing();
    EXPECT_FALSE((co_await bidi.read()).has_value());
    EXPECT_EQ(co_await bidi.code(), StatusCode::OK);

    EXPECT_FALSE(unary.cancel());
    EXPECT_FALSE(client_streaming.cancel());
    EXPECT_FALSE(bidi.cancel());
    EXPECT_FALSE(unary.cancelled());
    EXPECT_FALSE(client_streaming.cancelled());
    EXPECT_FALSE(bidi.cancelled());
    EXPECT_EQ(co_await unary.code(), StatusCode::OK);
    EXPECT_EQ(co_await client_streaming.code(), StatusCode::OK);
    EXPECT_EQ(co_await bidi.code(), StatusCode::OK);
  });
}

TEST(StreamStream, Behaviour_057_HandlerExceptionIsUnknown) {
  auto failing = stream_stream_rpc_method_handler<std::string, std::string>(
      [](Requests& requests, ServicerContext&) -> Task<void> {
        co_await requests.read();
        throw std::runtime_error("bidi boom");
      });
  with_server({{"Fail", failing}}, [](Fixture& f) -> Task<void> {
    auto call = ss(f, "Fail")();
    co_await call.write("x");
    auto e = co_await expect_rpc_error(call.read());
    EXPECT_EQ(e.code(), StatusCode::UNKNOWN);
    EXPECT_EQ(e.details(), "Unexpected std::runtime_error: bidi boom");
  });
}

TEST(StreamStream, ManyConcurrentStreams) {
  with_server({{"Echo", echo_stream()}}, [](Fixture& f) -> Task<void> {
    auto one = [](StreamStreamMultiCallable<std::string, std::string> m, int id) -> Task<int> {
      auto call = m();
      int n = 0;
      for (int i = 0; i < 20; ++i) {
        std::string msg = std::to_string(id) + ":" + std::to_string(i);
        co_await call.write(msg);
        if (co_await call.read() == std::optional<std::string>(msg)) ++n;
      }
      co_await call.done_writing();
      EXPECT_FALSE((co_await call.read()).has_value());
      co_return n;
    };
    std::vector<Task<int>> streams;
    for (int i = 0; i < 10; ++i) streams.push_back(one(ss(f, "Echo"), i));
    for (int n : co_await gather(std::move(streams))) EXPECT_EQ(n, 20);
  });
}

}  // namespace

namespace {

using namespace actio;
using namespace actio::testing;

TEST(StreamStream, StopDuringAnOpenBidiStreamGivesUnavailable) {
  with_server({{"Echo", echo_stream()}}, [](Fixture& f) -> Task<void> {
    auto call = ss(f, "Echo")();
    co_await call.write("x");
    EXPECT_EQ(co_await call.read(), std::optional<std::string>("x"));
    co_await f.server.stop(50ms);  // the handler waits for more requests: cancelled
    auto e = co_await expect_rpc_error(call.read());
    EXPECT_EQ(e.code(), StatusCode::UNAVAILABLE);
  });
}

TEST(Channel, Behaviour_034_CloseCancelsPendingCallsOfEveryArityAndWakesReads) {
  auto silent_stream = unary_stream_rpc_method_handler<std::string, std::string>(
      [](const std::string&, ServicerContext&) -> Task<void> { co_await sleep(10s); });
  with_server({{"Slow", sleepy(10s)}, {"Silent", silent_stream}, {"Concat", concat()}, {"Echo", echo_stream()}},
              [](Fixture& f) -> Task<void> {
                auto ch = insecure_channel(f.target());
                auto uu = ch.unary_unary<std::string, std::string>("/test.Svc/Slow")("a");
                auto us = ch.unary_stream<std::string, std::string>("/test.Svc/Silent")("b");
                auto su_call = ch.stream_unary<std::string, std::string>("/test.Svc/Concat")();
                auto ss_call = ch.stream_stream<std::string, std::string>("/test.Svc/Echo")();
                auto pending_read = [](UnaryStreamCall<std::string>& c) -> Task<bool> {
                  try {
                    co_await c.read();
                  } catch (const CancelledError&) {
                    co_return true;
                  }
                  co_return false;
                };
                auto closer = [](Channel c) -> Task<void> {
                  co_await sleep(50ms);
                  co_await c.close();
                };
                auto t0 = std::chrono::steady_clock::now();
                auto [read_cancelled, _] = co_await gather(pending_read(us), closer(ch));
                EXPECT_TRUE(read_cancelled);  // the pending read ended promptly
                EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s);
                EXPECT_TRUE(uu.cancelled());
                EXPECT_TRUE(us.cancelled());
                EXPECT_TRUE(su_call.cancelled());
                EXPECT_TRUE(ss_call.cancelled());
              });
}

}  // namespace

Generator<std::string> parts(std::vector<std::string> items, Duration pause) {
  for (auto& item : items) {
    co_await sleep(pause);
    co_yield item;
  }
}

TEST(StreamUnary, Behaviour_031_RequestsFromAnAsyncGenerator) {
  with_server({{"Concat", concat()}}, [](Fixture& f) -> Task<void> {
    std::vector<std::string> items{"g", "e", "n"};  // (GCC 12: no braced lists beside co_await)
    auto call = su(f, "Concat")(parts(items, 1ms));
    EXPECT_EQ(co_await call, "gen");
    EXPECT_THROW(co_await call.write("x"), UsageError);  // behaviour 102 with a generator
  });
}

TEST(StreamUnary, AThrowingRequestGeneratorCancelsTheCallAndSaysWhy) {
  with_server({{"Concat", concat()}}, [](Fixture& f) -> Task<void> {
    auto failing = []() -> Generator<std::string> {
      co_yield std::string("ok");
      throw std::runtime_error("no more input");
    };
    auto call = su(f, "Concat")(failing());
    try {
      co_await call;
      ADD_FAILURE() << "expected CancelledError";
    } catch (const CancelledError& e) {
      EXPECT_STREQ(e.what(), "Request generator failed: no more input");
    }
    EXPECT_EQ(co_await call.code(), StatusCode::CANCELLED);
  });
}

/// Stream-unary: concatenates the first three requests and answers at once,
/// without reading the rest (grpc.aio: a handler may return mid-stream).
RpcMethodHandler first_three() {
  return stream_unary_rpc_method_handler<std::string, std::string>(
      [](Requests& requests, ServicerContext&) -> Task<std::string> {
        std::string out;
        for (int i = 0; i < 3; ++i) {
          if (auto r = co_await requests.read()) out += *r + ",";
        }
        co_return out;
      });
}

TEST(StreamUnary, Behaviour_023_ViewsTemporariesAndRangesOfConvertibles) {
  with_server({{"Concat", concat()}}, [](Fixture& f) -> Task<void> {
    // A view that is not const-iterable (filter caches its begin).
    std::vector<std::string> words{"keep", "drop", "this", "drop"};
    auto kept = words | std::views::filter([](const std::string& w) { return w != "drop"; });
    EXPECT_EQ(co_await su(f, "Concat")(kept), "keepthis");
    // A temporary container is moved into the call; it outlives this line.
    auto call = su(f, "Concat")(std::vector<std::string>{"t", "m", "p"});
    EXPECT_EQ(co_await call, "tmp");
    // A range of something that converts to the request type.
    std::vector<const char*> literals{"c", "o", "n", "v"};
    EXPECT_EQ(co_await su(f, "Concat")(literals), "conv");
    // A transform of an rvalue vector: the view owns the vector.
    auto numbers = std::vector<int>{1, 2, 3} | std::views::transform([](int i) { return std::to_string(i * 2); });
    EXPECT_EQ(co_await su(f, "Concat")(std::move(numbers)), "246");
  });
}

TEST(StreamUnary, AnEndlessRequestRangeIsReadLazilyAndStopsWithTheCall) {
  with_server({{"FirstThree", first_three()}}, [](Fixture& f) -> Task<void> {
    auto produced = std::make_shared<int>(0);
    auto endless = std::views::iota(0) | std::views::transform([produced](int i) {
                     ++*produced;
                     return std::to_string(i);
                   });
    auto call = su(f, "FirstThree")(endless);
    EXPECT_EQ(co_await call, "0,1,2,");
    EXPECT_EQ(co_await call.code(), StatusCode::OK);
    // The range was drawn one write at a time; once the call ended its writer
    // stopped: the count stays put.
    for (int i = 0; i < 50 && produced.use_count() > 2; ++i) co_await sleep(10ms);
    EXPECT_EQ(produced.use_count(), 2);  // this test's and `endless`'s; the call's copy is gone
    int after = *produced;
    EXPECT_GE(after, 3);
    co_await sleep(20ms);
    EXPECT_EQ(*produced, after);
  });
}

TEST(StreamStream, AThrowingRequestRangeCancelsTheCallAndSaysWhy) {
  with_server({{"Echo", echo_stream()}}, [](Fixture& f) -> Task<void> {
    auto failing = std::views::iota(0, 5) | std::views::transform([](int i) {
                     if (i == 2) throw std::runtime_error("element 2 is bad");
                     return std::to_string(i);
                   });
    auto call = ss(f, "Echo")(failing);
    std::vector<std::string> got;
    try {
      while (auto m = co_await call.read()) got.push_back(*m);
      ADD_FAILURE() << "expected CancelledError";
    } catch (const CancelledError& e) {
      EXPECT_STREQ(e.what(), "Request range failed: element 2 is bad");
    }
    EXPECT_LE(got.size(), 2u);
    EXPECT_EQ(co_await call.code(), StatusCode::CANCELLED);
    EXPECT_EQ(co_await call.details(), "Request range failed: element 2 is bad");
  });
}

TEST(StreamStream, CancellingTheCallCancelsASleepingRequestGenerator) {
  with_server({{"Echo", echo_stream()}}, [](Fixture& f) -> Task<void> {
    struct Seen {
      bool sleeping = false;
      bool cancelled = false;
    } seen;
    auto slow = [](Seen* s) -> Generator<std::string> {
      co_yield std::string("first");
      try {
        s->sleeping = true;
        co_await sleep(10s);
      } catch (const CancelledError&) {
        s->cancelled = true;
        throw;
      }
      co_yield std::string("never");
    };
    auto call = ss(f, "Echo")(slow(&seen));
    EXPECT_EQ(co_await call.read(), std::optional<std::string>("first"));
    // Cancel once the generator is in its sleep (before that, a cancel just
    // ends the feeding: the generator is dropped at its co_yield, never resumed).
    for (int i = 0; i < 2000 && !seen.sleeping; ++i) co_await sleep(1ms);
    CO_ASSERT_TRUE(seen.sleeping);
    EXPECT_TRUE(call.cancel());
    for (int i = 0; i < 2000 && !seen.cancelled; ++i) co_await sleep(1ms);
    EXPECT_TRUE(seen.cancelled);
  });
}

TEST(StreamStream, Behaviour_031_049_GeneratorOnBothSides) {
  // The handler co_yields the upper-cased requests and writes a marker with
  // context.write() between them: yield and write mix freely.
  auto upper = stream_stream_rpc_method_handler<std::string, std::string>(
      [](Requests& requests, ServicerContext& ctx) -> Generator<std::string> {
        while (auto r = co_await requests.read()) {
          std::string up = *r;
          for (auto& c : up) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
          co_yield up;
          co_await ctx.write(std::string("|"));
        }
      });
  with_server({{"Upper", upper}}, [](Fixture& f) -> Task<void> {
    std::vector<std::string> items{"a", "b"};
    auto got = co_await collect(ss(f, "Upper")(parts(items, 0ms)));
    const std::vector<std::string> expected{"A", "|", "B", "|"};
    EXPECT_EQ(got, expected);
  });
}

TEST(StreamStream, ProtobufMessagesOverTheSmallSizeOnEveryWrite) {
  // Every write re-encodes into the call's buffer: messages of any size, many times.
  auto echo_hello = stream_stream_rpc_method_handler<helloworld::HelloRequest, helloworld::HelloRequest>(
      [](RequestStream<helloworld::HelloRequest>& requests, ServicerContext& ctx) -> Task<void> {
        while (auto r = co_await requests.read()) co_await ctx.write(*r);
      });
  with_server({{"EchoHello", echo_hello}}, [](Fixture& f) -> Task<void> {
    auto call = f.channel.stream_stream<helloworld::HelloRequest, helloworld::HelloRequest>("/test.Svc/EchoHello")();
    for (int i = 0; i < 20; ++i) {
      helloworld::HelloRequest req;
      req.set_name(std::string(static_cast<size_t>(10 + i * 50), static_cast<char>('a' + i)));
      co_await call.write(req);
      auto back = co_await call.read();
      EXPECT_TRUE(back.has_value());
      if (back) {
        EXPECT_EQ(back->name(), req.name());
      }
    }
    co_await call.done_writing();
    EXPECT_EQ(co_await call.code(), StatusCode::OK);
  });
}

TEST(StreamStream, StatusArrivesWithoutAReaderAndUnreadMessagesStayReadable) {
  // The handler answers twice and ends; the client asks for the status first.
  auto two = stream_stream_rpc_method_handler<std::string, std::string>(
      [](Requests&, ServicerContext& ctx) -> Task<void> {
        co_await ctx.write(std::string("one"));
        co_await ctx.write(std::string("two"));
      });
  auto none = stream_stream_rpc_method_handler<std::string, std::string>(
      [](Requests&, ServicerContext& ctx) -> Task<void> {
        ctx.set_code(StatusCode::FAILED_PRECONDITION);
        ctx.set_details("nothing to say");
        co_return;
      });
  with_server({{"Two", two}, {"None", none}}, [](Fixture& f) -> Task<void> {
    auto call = ss(f, "Two")();
    EXPECT_EQ(co_await call.code(), StatusCode::OK);
    EXPECT_EQ(co_await call.read(), std::optional<std::string>("one"));
    EXPECT_EQ(co_await call.read(), std::optional<std::string>("two"));
    EXPECT_EQ(co_await call.read(), std::nullopt);

    auto silent = ss(f, "None")();  // nobody writes or reads
    EXPECT_EQ(co_await silent.code(), StatusCode::FAILED_PRECONDITION);
    EXPECT_EQ(co_await silent.details(), "nothing to say");

    auto stream = f.channel.unary_stream<std::string, std::string>("/test.Svc/Two")("");
    EXPECT_EQ((co_await stream.trailing_metadata()).size(), 0u);
    const std::vector<std::string> both{"one", "two"};
    EXPECT_EQ(co_await collect(stream), both);
  });
}

TEST(StreamStream, CancelWhileAWriteIsInFlightFailsThatWrite) {
  // The handler never reads: writes pile up until flow control holds one.
  auto deaf = stream_stream_rpc_method_handler<std::string, std::string>(
      [](Requests&, ServicerContext&) -> Task<void> { co_await sleep(10s); });
  with_server({{"Deaf", deaf}}, [](Fixture& f) -> Task<void> {
    auto call = ss(f, "Deaf")();
    auto writer = [](StreamStreamCall<std::string, std::string> c) -> Task<std::string> {
      std::string big(256 * 1024, 'x');
      try {
        for (int i = 0; i < 1000; ++i) co_await c.write(big);
      } catch (const InvalidStateError& e) {
        co_return e.what();
      }
      co_return "every write succeeded";
    };
    auto canceller = [](StreamStreamCall<std::string, std::string> c) -> Task<void> {
      co_await sleep(100ms);
      c.cancel();
    };
    auto [what, unused] = co_await gather(writer(call), canceller(call));
    EXPECT_EQ(what, "RPC already finished.");
    EXPECT_EQ(co_await call.code(), StatusCode::CANCELLED);
  });
}

namespace {
/// What a bidi handler saw when its request stream ended or it was cancelled.
struct ServerView {
  bool ended = false;                 // read() gave the end of the requests
  bool cancelled_when_ended = false;  // ... and context.cancelled() said so then
  bool cancelled_in_read = false;     // read() threw CancelledError (the handler was cancelled)
  bool done_callback_cancelled = false;
  bool done_callback_ran = false;
};

RpcMethodHandler watching_echo(ServerView& seen) {
  return stream_stream_rpc_method_handler<std::string, std::string>(
      [&seen](Requests& requests, ServicerContext& ctx) -> Task<void> {
        ctx.add_done_callback([&seen](ServicerContext& c) {
          seen.done_callback_ran = true;
          seen.done_callback_cancelled = c.cancelled();
        });
        try {
          while (auto r = co_await requests.read()) co_await ctx.write(*r);
        } catch (const CancelledError&) {
          seen.cancelled_in_read = true;
          throw;
        }
        seen.ended = true;
        seen.cancelled_when_ended = ctx.cancelled();
      });
}
}  // namespace

// The client's cancel fails the server's pending read and completes the
// call's done notice, not always in one poll of the queue. The handler may
// see its read() throw CancelledError or its requests end (gRPC cannot tell a
// half-close from a cancel at that read; grpc.aio has the same race), but
// its done callbacks run after the done notice, so they always know: a
// cancel is cancelled(), a half-close is not.
TEST(StreamStream, ServerDoneCallbacksTellAClientCancelFromAHalfClose) {
  for (int round = 0; round < 5; ++round) {
    ServerView cancelled_view, closed_view;
    with_server({{"Cancelled", watching_echo(cancelled_view)}, {"Closed", watching_echo(closed_view)}},
                [&](Fixture& f) -> Task<void> {
                  auto call = ss(f, "Cancelled")();
                  co_await call.write("x");
                  EXPECT_EQ(co_await call.read(), std::optional<std::string>("x"));
                  EXPECT_TRUE(call.cancel());
                  for (int i = 0; i < 400 && !cancelled_view.done_callback_ran; ++i) co_await sleep(5ms);

                  auto closed = ss(f, "Closed")();
                  co_await closed.write("y");
                  co_await closed.done_writing();
                  EXPECT_EQ(co_await closed.read(), std::optional<std::string>("y"));
                  EXPECT_EQ(co_await closed.read(), std::nullopt);
                  EXPECT_EQ(co_await closed.code(), StatusCode::OK);
                  for (int i = 0; i < 400 && !closed_view.done_callback_ran; ++i) co_await sleep(5ms);
                });
    EXPECT_TRUE(cancelled_view.ended || cancelled_view.cancelled_in_read) << "round " << round;
    EXPECT_TRUE(cancelled_view.done_callback_ran) << "round " << round;
    EXPECT_TRUE(cancelled_view.done_callback_cancelled) << "round " << round;
    EXPECT_TRUE(closed_view.ended) << "round " << round;
    EXPECT_FALSE(closed_view.cancelled_when_ended) << "round " << round;
    EXPECT_FALSE(closed_view.cancelled_in_read) << "round " << round;
    EXPECT_FALSE(closed_view.done_callback_cancelled) << "round " << round;
  }
}

// -- read_into: one message object reused across reads ---------------------------

namespace {

using namespace actio;
using namespace actio::testing;
using google::protobuf::Timestamp;

std::string describe(const Timestamp& t) {
  return std::to_string(t.seconds()) + "." + std::to_string(t.nanos()) + "|";
}

/// Stamps with fewer fields set each time; the last one is zero bytes long.
std::vector<Timestamp> shrinking_stamps() {
  std::vector<Timestamp> out(3);
  out[0].set_seconds(5);
  out[0].set_nanos(7);
  out[1].set_seconds(9);
  return out;
}

TEST(StreamStream, ReadIntoOnABidiCall) {
  auto handler = stream_stream_rpc_method_handler<std::string, std::string>(
      [](Requests& requests, ServicerContext& ctx) -> Task<void> {
        std::string r;
        while (co_await requests.read_into(r)) co_await ctx.write(r);
      });
  with_server({{"Echo", handler}}, [](Fixture& f) -> Task<void> {
    auto call = ss(f, "Echo")();
    std::string back;
    for (std::string m : {"a longer message", "", "xy"}) {
      co_await call.write(m);
      CO_ASSERT_TRUE(co_await call.read_into(back));
      EXPECT_EQ(back, m);
    }
    co_await call.done_writing();
    EXPECT_FALSE(co_await call.read_into(back));
    EXPECT_FALSE(co_await call.read_into(back));
    EXPECT_EQ(co_await call.code(), StatusCode::OK);

    auto iterated = ss(f, "Echo")();
    co_await iterated.write("x");
    co_await for_each(iterated, [](const std::string&) { return false; });
    co_await iterated.write("y");  // (so that a read_into that wrongly reads does not wait for ever)
    EXPECT_THROW(co_await iterated.read_into(back), UsageError);
    iterated.cancel();
  });
}

TEST(StreamStream, ReadIntoAProtobufMessageGivesExactlyTheNewOne) {
  auto echo_stamps = stream_stream_rpc_method_handler<Timestamp, Timestamp>(
      [](RequestStream<Timestamp>& requests, ServicerContext& ctx) -> Task<void> {
        Timestamp t;
        while (co_await requests.read_into(t)) co_await ctx.write(t);
      });
  with_server({{"EchoStamps", echo_stamps}}, [](Fixture& f) -> Task<void> {
    auto call = f.channel.stream_stream<Timestamp, Timestamp>("/test.Svc/EchoStamps")();
    Timestamp back;
    std::string seen;
    for (const Timestamp& t : shrinking_stamps()) {
      co_await call.write(t);
      CO_ASSERT_TRUE(co_await call.read_into(back));
      seen += describe(back);
    }
    EXPECT_EQ(seen, "5.7|9.0|0.0|");
    co_await call.done_writing();
    EXPECT_FALSE(co_await call.read_into(back));
  });
}

TEST(StreamUnary, ServerReadIntoOnTheRequestStreamAndTheContext) {
  // The first request through the context, the rest through the request
  // stream, all into one object; after the half-close both say false, again.
  auto handler = stream_unary_rpc_method_handler<Timestamp, std::string>(
      [](RequestStream<Timestamp>& requests, ServicerContext& ctx) -> Task<std::string> {
        Timestamp t;
        std::string out;
        if (co_await ctx.read_into(t)) out += describe(t);
        while (co_await requests.read_into(t)) out += describe(t);
        bool again = co_await requests.read_into(t);
        bool via_context = co_await ctx.read_into(t);
        out += (again || via_context) ? "more" : "end";
        co_return out;
      });
  with_server({{"Stamps", handler}}, [](Fixture& f) -> Task<void> {
    auto call = f.channel.stream_unary<Timestamp, std::string>("/test.Svc/Stamps")();
    for (const Timestamp& t : shrinking_stamps()) co_await call.write(t);
    co_await call.done_writing();
    EXPECT_EQ(co_await call, "5.7|9.0|0.0|end");
  });
}

TEST(StreamUnary, ServerReadIntoAnUndecodableRequestIsInternal) {
  auto handler = stream_unary_rpc_method_handler<Timestamp, std::string>(
      [](RequestStream<Timestamp>& requests, ServicerContext&) -> Task<std::string> {
        Timestamp t;
        while (co_await requests.read_into(t)) {
        }
        co_return "unreachable";
      });
  with_server({{"Stamps", handler}}, [](Fixture& f) -> Task<void> {
    auto call = f.channel.stream_unary<std::string, std::string>("/test.Svc/Stamps")();
    co_await call.write(std::string("\xff\xff\xff", 3));  // not a protobuf message
    co_await call.done_writing();
    auto e = co_await expect_rpc_error(call.response());
    EXPECT_EQ(e.code(), StatusCode::INTERNAL);
    EXPECT_EQ(e.details(), "Failed to parse request message");
  });
}

}  // namespace

// Behaviours 41, 42, 45, 74 and 75 on the three streaming arities (unary:
// unary_test.cpp).
namespace {

/// Unary-stream: "a" then "b".
RpcMethodHandler two_replies() {
  return unary_stream_rpc_method_handler<std::string, std::string>(
      [](const std::string&, ServicerContext& ctx) -> Task<void> {
        co_await ctx.write(std::string("a"));
        co_await ctx.write(std::string("b"));
      });
}

/// Each arity sleeps `d` before answering (unary-stream: after its first message).
RpcMethodHandler slow_stream(Duration d) {
  return unary_stream_rpc_method_handler<std::string, std::string>(
      [d](const std::string&, ServicerContext& ctx) -> Task<void> {
        co_await ctx.write(std::string("first"));
        co_await sleep(d);
        co_await ctx.write(std::string("second"));
      });
}
RpcMethodHandler slow_concat(Duration d) {
  return stream_unary_rpc_method_handler<std::string, std::string>(
      [d](Requests& requests, ServicerContext&) -> Task<std::string> {
        std::string out;
        while (auto r = co_await requests.read()) out += *r;
        co_await sleep(d);
        co_return out;
      });
}
RpcMethodHandler slow_echo_stream(Duration d) {
  return stream_stream_rpc_method_handler<std::string, std::string>(
      [d](Requests& requests, ServicerContext& ctx) -> Task<void> {
        while (auto r = co_await requests.read()) {
          co_await sleep(d);
          co_await ctx.write(*r);
        }
      });
}

TEST(Streams, Behaviour_041_042_WaitForConnectionOnEveryStreamingArity) {
  with_server({{"Two", two_replies()}, {"Concat", concat()}, {"Echo", echo_stream()}}, [](Fixture& f) -> Task<void> {
    auto us = f.channel.unary_stream<std::string, std::string>("/test.Svc/Two")("");
    co_await us.wait_for_connection();
    std::vector<std::string> both{"a", "b"};  // (GCC 12: no braced list in a co_await expression)
    EXPECT_EQ(co_await collect(us), both);  // nothing swallowed
    auto cs = su(f, "Concat")();
    co_await cs.wait_for_connection();
    co_await cs.write("x");
    co_await cs.done_writing();
    EXPECT_EQ(co_await cs, "x");
    auto bidi = ss(f, "Echo")();
    co_await bidi.wait_for_connection();
    co_await bidi.write("y");
    EXPECT_EQ(co_await bidi.read(), std::optional<std::string>("y"));
    co_await bidi.done_writing();
    EXPECT_FALSE((co_await bidi.read()).has_value());
  });
  actio::run([]() -> Task<void> {
    auto probe = server();
    int port = probe.add_insecure_port("127.0.0.1:0");  // bound, then released: nobody listens
    auto ch = insecure_channel("127.0.0.1:" + std::to_string(port));
    CallOptions five{.timeout = 5s};
    auto us = ch.unary_stream<std::string, std::string>("/test.Svc/Two")("", five);
    EXPECT_EQ((co_await expect_rpc_error(us.wait_for_connection())).code(), StatusCode::UNAVAILABLE);
    auto cs = ch.stream_unary<std::string, std::string>("/test.Svc/Concat")(five);
    EXPECT_EQ((co_await expect_rpc_error(cs.wait_for_connection())).code(), StatusCode::UNAVAILABLE);
    auto bidi = ch.stream_stream<std::string, std::string>("/test.Svc/Echo")(five);
    EXPECT_EQ((co_await expect_rpc_error(bidi.wait_for_connection())).code(), StatusCode::UNAVAILABLE);
  }());
}

constexpr Duration kSleep = 200ms;  // the slow handlers' sleep

TEST(Streams, Behaviour_045_TimeoutsOfTwiceAndHalfTheHandlersSleep) {
  with_server(
      {{"Slow", slow_stream(kSleep)}, {"SlowConcat", slow_concat(kSleep)}, {"SlowEcho", slow_echo_stream(kSleep)}},
      [](Fixture& f) -> Task<void> {
        auto us = f.channel.unary_stream<std::string, std::string>("/test.Svc/Slow");
        std::vector<std::string> both{"first", "second"};
        CallOptions in_time{.timeout = 2 * kSleep}, too_short{.timeout = kSleep / 2};
        EXPECT_EQ(co_await collect(us("", in_time)), both);
        auto late = us("", too_short);
        EXPECT_EQ(co_await late.read(), std::optional<std::string>("first"));  // the first arrives
        EXPECT_EQ((co_await expect_rpc_error(late.read())).code(), StatusCode::DEADLINE_EXCEEDED);

        std::vector<std::string> parts{"p", "q"};
        EXPECT_EQ(co_await su(f, "SlowConcat")(parts, in_time), "pq");
        EXPECT_EQ((co_await expect_rpc_error(su(f, "SlowConcat")(parts, too_short))).code(),
                  StatusCode::DEADLINE_EXCEEDED);

        auto bidi = ss(f, "SlowEcho")(in_time);
        co_await bidi.write("z");
        EXPECT_EQ(co_await bidi.read(), std::optional<std::string>("z"));
        co_await bidi.done_writing();
        EXPECT_EQ(co_await bidi.code(), StatusCode::OK);
        auto late_bidi = ss(f, "SlowEcho")(too_short);
        co_await late_bidi.write("z");
        EXPECT_EQ((co_await expect_rpc_error(late_bidi.read())).code(), StatusCode::DEADLINE_EXCEEDED);
      });
}

TEST(Streams, Behaviour_074_075_DoneCallbacksOnEveryStreamingArity) {
  int server_callbacks = 0;
  auto count = [&server_callbacks](ServicerContext& ctx) {
    ctx.add_done_callback([&server_callbacks](ServicerContext& c) { server_callbacks += c.done() ? 1 : 100; });
  };
  auto us_handler = unary_stream_rpc_method_handler<std::string, std::string>(
      [count](const std::string&, ServicerContext& ctx) -> Task<void> {
        count(ctx);
        co_await ctx.write(std::string("a"));
      });
  auto cs_handler = stream_unary_rpc_method_handler<std::string, std::string>(
      [count](Requests& requests, ServicerContext& ctx) -> Task<std::string> {
        count(ctx);
        while (co_await requests.read()) {
        }
        co_return "done";
      });
  auto bidi_handler = stream_stream_rpc_method_handler<std::string, std::string>(
      [count](Requests& requests, ServicerContext& ctx) -> Task<void> {
        count(ctx);
        while (auto r = co_await requests.read()) co_await ctx.write(*r);
        throw std::runtime_error("the handler raises after its replies");
      });
  with_server({{"US", us_handler}, {"CS", cs_handler}, {"Bidi", bidi_handler}}, [&](Fixture& f) -> Task<void> {
    int client_callbacks = 0;
    auto watch = [&client_callbacks](Call call) {
      for (int i = 0; i < 2; ++i)
        call.add_done_callback([&client_callbacks](const Call& c) { client_callbacks += c.done() ? 1 : 100; });
    };
    auto us = f.channel.unary_stream<std::string, std::string>("/test.Svc/US")("");
    watch(us);
    std::vector<std::string> one{"a"};
    EXPECT_EQ(co_await collect(us), one);
    auto cs = su(f, "CS")();
    watch(cs);
    co_await cs.done_writing();
    EXPECT_EQ(co_await cs, "done");
    auto bidi = ss(f, "Bidi")();
    watch(bidi);
    co_await bidi.write("b");
    EXPECT_EQ(co_await bidi.read(), std::optional<std::string>("b"));
    co_await bidi.done_writing();
    EXPECT_EQ((co_await expect_rpc_error(bidi.read())).code(), StatusCode::UNKNOWN);
    co_await sleep(1ms);  // callbacks run on the loop after completion
    EXPECT_EQ(client_callbacks, 6);  // two per call, each seeing done()
    bool ran_now = false;
    bidi.add_done_callback([&ran_now](const Call&) { ran_now = true; });
    EXPECT_TRUE(ran_now);  // added after completion: runs at once
    for (int i = 0; i < 100 && server_callbacks < 3; ++i) co_await sleep(2ms);
    EXPECT_EQ(server_callbacks, 3);  // one per call, the raising handler's too
  });
}

}  // namespace
