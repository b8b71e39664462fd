// Server and channel lifecycle, threading rules, loops and CAF messaging.
#include <caf/all.hpp>
#include <grpcpp/create_channel.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/security/credentials.h>
#include <csignal>
#include <future>
#include <mutex>
#include <set>
#include <thread>

#include "actio/actors.hpp"
#include "test_util.hpp"

namespace {

using namespace actio;
using namespace actio::testing;

TEST(Server, Behaviour_051_GracefulStopLetsAShortCallFinish) {
  with_server({{"Slow", sleepy(200ms)}}, [](Fixture& f) -> Task<void> {
    auto call = f.method("Slow")("x");
    co_await sleep(30ms);
    auto t0 = std::chrono::steady_clock::now();
    co_await f.server.stop(3s);
    EXPECT_GE(std::chrono::steady_clock::now() - t0, 100ms);
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s);
    EXPECT_EQ(co_await call, "x");
  });
}

TEST(Server, Behaviour_052_StopCancelsWhatOutlivesTheGrace) {
  with_server({{"Slow", sleepy(10s)}}, [](Fixture& f) -> Task<void> {
    auto call = f.method("Slow")("x");
    co_await sleep(30ms);
    auto t0 = std::chrono::steady_clock::now();
    co_await f.server.stop(200ms);
    auto took = std::chrono::steady_clock::now() - t0;
    EXPECT_GE(took, 150ms);
    EXPECT_LT(took, 3s);
    {
      auto e = co_await expect_rpc_error(call);
      EXPECT_EQ(e.code(), StatusCode::UNAVAILABLE);
    }
  });
}

TEST(Server, ConcurrentStopsTheShortestGraceWins) {
  with_server({{"Slow", sleepy(10s)}}, [](Fixture& f) -> Task<void> {
    auto call = f.method("Slow")("x");
    co_await sleep(30ms);
    auto t0 = std::chrono::steady_clock::now();
    co_await gather(f.server.stop(5s), f.server.stop(200ms), f.server.stop(5s));
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 3s);
    EXPECT_THROW(co_await call, AioRpcError);
  });
}

// A handler that catches the stop's CancelledError may still await a short
// cleanup: the serving loop runs on until it returns.
TEST(Server, AHandlerThatCatchesTheStopsCancelFinishesItsCleanup) {
  static std::atomic<bool> cleaned{false};
  cleaned = false;
  auto handler = raw([](const std::string& req, ServicerContext&) -> Task<std::string> {
    bool cancelled = false;
    try {
      co_await sleep(10s);
    } catch (const CancelledError&) {
      cancelled = true;
    }
    if (cancelled) {
      co_await sleep(50ms);  // cleanup that awaits
      cleaned = true;
      throw CancelledError();
    }
    co_return req;
  });
  with_server({{"Slow", handler}}, [](Fixture& f) -> Task<void> {
    auto call = f.method("Slow")("x");
    co_await sleep(30ms);
    co_await f.server.stop(100ms);
    EXPECT_TRUE(cleaned.load());
    EXPECT_THROW(co_await call, AioRpcError);
  });
}

// A handler that swallows every cancel and awaits on does not outlive the
// server: past a bounded wait its coroutine is destroyed (its locals'
// destructors run), so stop() returns and nothing leaks (checked by ASan).
TEST(Server, AHandlerThatSwallowsEveryCancelEndsWithTheServer) {
  static std::atomic<int> cancels{0};
  static std::atomic<bool> destroyed{false};
  cancels = 0;
  destroyed = false;
  struct Guard {
    ~Guard() { destroyed = true; }
  };
  auto handler = raw([](const std::string& req, ServicerContext&) -> Task<std::string> {
    Guard guard;
    for (int i = 0; i < 100; ++i) {
      try {
        co_await sleep(10s);
      } catch (const CancelledError&) {
        ++cancels;
      }
    }
    co_return req;
  });
  with_server({{"Stubborn", handler}}, [](Fixture& f) -> Task<void> {
    auto call = f.method("Stubborn")("x");
    co_await sleep(30ms);
    auto t0 = std::chrono::steady_clock::now();
    co_await f.server.stop(100ms);
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
    EXPECT_TRUE(destroyed.load());
    EXPECT_GE(cancels.load(), 1);
    EXPECT_THROW(co_await call, AioRpcError);
  });
}

TEST(Server, Behaviour_054_CallsAfterStopFail) {
  with_server({{"Echo", echo()}}, [](Fixture& f) -> Task<void> {
    EXPECT_EQ(co_await f.method("Echo")("a"), "a");
    co_await f.server.stop(std::nullopt);
    {
      auto e = co_await expect_rpc_error(f.method("Echo")("b", {.timeout = 5s}));
      EXPECT_EQ(e.code(), StatusCode::UNAVAILABLE);
    }
    // start() after stop is a usage error.
    EXPECT_THROW(co_await f.server.start(), UsageError);
  });
}

TEST(Server, WaitForTerminationTrueWhileRunningFalseAfterStop) {
  with_server({{"Echo", echo()}}, [](Fixture& f) -> Task<void> {
    EXPECT_TRUE(co_await f.server.wait_for_termination(100ms));
    co_await f.server.stop(0s);
    EXPECT_FALSE(co_await f.server.wait_for_termination(100ms));
  });
}

TEST(Server, Behaviour_050_StopWithoutCallsAndBeforeStart) {
  actio::run([]() -> Task<void> {
    auto never_started = server();
    co_await never_started.stop(std::nullopt);
    co_await never_started.stop(std::nullopt);  // idempotent
    EXPECT_THROW(co_await never_started.start(), UsageError);  // stopped for good

    // Stop after a finished call: the call's result stands, the port closes.
    auto srv = server();
    srv.add_generic_rpc_handlers({method_handlers_generic_handler("test.Svc", {{"Echo", echo()}})});
    int port = srv.add_insecure_port("127.0.0.1:0");
    co_await srv.start();
    auto ch = insecure_channel("127.0.0.1:" + std::to_string(port));
    auto echo_call = ch.unary_unary<std::string, std::string>("/test.Svc/Echo");
    EXPECT_EQ(co_await echo_call("before"), "before");
    co_await srv.stop(std::nullopt);
    auto after = co_await expect_rpc_error(echo_call("after", {.timeout = 2s}));
    EXPECT_EQ(after.code(), StatusCode::UNAVAILABLE);
    co_await ch.close();
  }());
}

TEST(Server, Behaviour_059_BusyPortIsAClearError) {
  actio::run([]() -> Task<void> {
    auto first = server();
    int port = first.add_insecure_port("127.0.0.1:0");
    first.add_generic_rpc_handlers({method_handlers_generic_handler("test.Svc", {{"Echo", echo()}})});
    co_await first.start();
    auto second = server();
    try {
      second.add_insecure_port("127.0.0.1:" + std::to_string(port));
      ADD_FAILURE() << "bound a busy port";
    } catch (const std::runtime_error& e) {
      EXPECT_NE(std::string(e.what()).find("Failed to bind to address"), std::string::npos) << e.what();
    }
    co_await first.stop(0s);
  }());
}

TEST(Server, SoReuseportAskedForLetsTwoServersShareAPort) {
  // grpc.so_reuseport is off by default (a busy port is an error, above);
  // asked for, a second server binds the port the first holds, and serves
  // on it once the first has stopped.
  actio::run([]() -> Task<void> {
    auto named = [](std::string name) {
      return raw([name](const std::string&, ServicerContext&) -> Task<std::string> { co_return name; });
    };
    ServerOptions opts;
    opts.args = {{"grpc.so_reuseport", 1}};
    auto first = server(opts);
    int port = first.add_insecure_port("127.0.0.1:0");
    first.add_generic_rpc_handlers({method_handlers_generic_handler("test.Svc", {{"Who", named("first")}})});
    co_await first.start();
    auto second = server(opts);
    EXPECT_EQ(second.add_insecure_port("127.0.0.1:" + std::to_string(port)), port);
    second.add_generic_rpc_handlers({method_handlers_generic_handler("test.Svc", {{"Who", named("second")}})});
    co_await second.start();
    const std::string target = "127.0.0.1:" + std::to_string(port);
    {
      auto ch = insecure_channel(target);
      std::string who = co_await ch.unary_unary<std::string, std::string>("/test.Svc/Who")("?");
      EXPECT_TRUE(who == "first" || who == "second") << who;
      co_await ch.close();
    }
    co_await first.stop(0s);
    auto ch = insecure_channel(target);
    auto who = ch.unary_unary<std::string, std::string>("/test.Svc/Who");
    EXPECT_EQ(co_await who("?", {.timeout = 5s}), "second");
    co_await ch.close();
    co_await second.stop(0s);
  }());
}

TEST(Server, Behaviour_060_MaximumConcurrentRpcsRejectsTheExcess) {
  ServerOptions opts;
  opts.maximum_concurrent_rpcs = 2;
  with_server(
      {{"Slow", sleepy(300ms)}},
      [](Fixture& f) -> Task<void> {
        std::vector<Task<StatusCode>> calls;
        auto one = [](UnaryUnaryMultiCallable<std::string, std::string> m) -> Task<StatusCode> {
          auto call = m("x");
          try {
            co_await call;
          } catch (const AioRpcError&) {
          }
          co_return co_await call.code();
        };
        for (int i = 0; i < 6; ++i) calls.push_back(one(f.method("Slow")));
        auto codes = co_await gather(std::move(calls));
        int ok = 0, exhausted = 0;
        for (auto c : codes) {
          ok += c == StatusCode::OK;
          exhausted += c == StatusCode::RESOURCE_EXHAUSTED;
        }
        EXPECT_EQ(ok, 2);
        EXPECT_EQ(exhausted, 4);
      },
      opts);
}

TEST(Server, Behaviour_060_ARejectedCallHoldsNoSlot) {
  // One slot of two held by a long call; bursts of calls beyond the limit are
  // refused, and right after each burst the free slot takes the next call:
  // the refused calls never counted as running.
  ServerOptions opts;
  opts.maximum_concurrent_rpcs = 2;
  with_server(
      {{"Hold", sleepy(3s)}, {"Slow", sleepy(100ms)}},
      [](Fixture& f) -> Task<void> {
        auto holder = f.method("Hold")("h", {.timeout = 5s});
        auto code_of = [](UnaryUnaryMultiCallable<std::string, std::string> m) -> Task<StatusCode> {
          auto call = m("x");
          try {
            co_await call;
          } catch (const AioRpcError&) {
          }
          co_return co_await call.code();
        };
        co_await sleep(50ms);  // the holder is running
        for (int round = 0; round < 5; ++round) {
          std::vector<Task<StatusCode>> burst;
          burst.push_back(code_of(f.method("Slow")));  // takes the free slot for 100 ms
          for (int i = 0; i < 12; ++i) burst.push_back(code_of(f.method("Slow")));
          auto codes = co_await gather(std::move(burst));
          EXPECT_EQ(std::count(codes.begin(), codes.end(), StatusCode::OK), 1) << "round " << round;
          // At once: the one admitted call has ended, so one slot is free.
          auto next = co_await code_of(f.method("Slow"));
          EXPECT_EQ(next, StatusCode::OK) << "round " << round;
        }
        holder.cancel();
      },
      opts);
}

TEST(Server, TwoLoopsServeOnTheirOwnThreads) {
  std::mutex mu;
  std::set<std::thread::id> threads;
  auto handler = raw([&](const std::string& req, ServicerContext&) -> Task<std::string> {
    std::lock_guard lock(mu);
    threads.insert(std::this_thread::get_id());
    co_return req;
  });
  ServerOptions opts;
  opts.loops = 2;
  // gRPC gives a connection's calls to the queue of the loop that accepted
  // it, and to the other loop's only when that one has no request pending:
  // one pending request per loop, so a burst spills over.
  opts.accepts_per_method = 1;
  with_server(
      {{"Where", handler}},
      [&](Fixture& f) -> Task<void> {
        // Separate connections (a distinct channel arg each), as gRPC gives a
        // connection's calls to one queue first.
        std::vector<Task<std::string>> calls;
        std::vector<Channel> channels;
        for (int c = 0; c < 8; ++c) {
          ChannelOptions opts;
          opts.args.emplace_back("actio.test.channel", c);
          channels.push_back(insecure_channel(f.target(), opts));
        }
        auto one = [](Channel ch, int i) -> Task<std::string> {
          co_return co_await ch.unary_unary<std::string, std::string>("/test.Svc/Where")(std::to_string(i));
        };
        for (int i = 0; i < 160; ++i) calls.push_back(one(channels[i % 8], i));
        auto out = co_await gather(std::move(calls));
        EXPECT_EQ(out.size(), 160u);
        EXPECT_EQ(threads.count(std::this_thread::get_id()), 0u);  // never on the client's loop
        EXPECT_EQ(threads.size(), 2u);
      },
      opts);
}

// A loop keeps as many accepts outstanding per method as the method has
// calls running on it (at least accepts_per_method): with 40 calls held in
// their handler, the serving loop has 40 accepts waiting besides the 40
// calls' own operations, so the next burst finds them ready.
TEST(Server, OutstandingAcceptsFollowTheMethodsRunningCalls) {
  std::atomic<int> running{0};
  std::atomic<bool> release{false};
  auto hold = raw([&](const std::string& req, ServicerContext&) -> Task<std::string> {
    ++running;
    while (!release.load()) co_await sleep(5ms);
    co_return req;
  });
  ServerOptions opts;
  opts.accepts_per_method = 2;
  with_server(
      {{"Hold", hold}},
      [&](Fixture& f) -> Task<void> {
        constexpr int kCalls = 40;
        std::vector<Task<std::string>> calls;
        auto one = [](UnaryUnaryMultiCallable<std::string, std::string> m, int i) -> Task<std::string> {
          co_return co_await m(std::to_string(i));
        };
        for (int i = 0; i < kCalls; ++i) calls.push_back(one(f.method("Hold"), i));
        auto watch = [&]() -> Task<std::size_t> {
          for (int i = 0; i < 1000 && running.load() < kCalls; ++i) co_await sleep(5ms);
          // The serving loop's gRPC operations, read on its own thread.
          EventLoop* self = &EventLoop::require("test");
          std::size_t most = 0;
          std::mutex mu;
          std::vector<std::shared_ptr<std::promise<std::size_t>>> asked;
          EventLoop::for_each_loop([&](EventLoop& l) {
            if (&l == self) return;
            auto p = std::make_shared<std::promise<std::size_t>>();
            asked.push_back(p);
            if (!l.post([p, &l] { p->set_value(l.stats().pending_ops); })) p->set_value(0);
          });
          for (auto& p : asked) {
            auto fut = p->get_future();
            while (fut.wait_for(0s) != std::future_status::ready) co_await sleep(1ms);
            std::lock_guard lock(mu);
            most = std::max(most, fut.get());
          }
          release = true;
          co_return most;
        };
        auto [pending, out] = co_await gather(watch(), gather(std::move(calls)));
        EXPECT_EQ(running.load(), kCalls);
        EXPECT_EQ(out.size(), static_cast<std::size_t>(kCalls));
        // Each running call has its done notice pending; the accepts are the rest.
        EXPECT_GE(pending, static_cast<std::size_t>(2 * kCalls)) << "accepts outstanding did not follow the running calls";
        EXPECT_LE(pending, static_cast<std::size_t>(2 * kCalls + 8));
      },
      opts);
}

TEST(Server, Behaviour_113_FiftyConsecutiveRunsEachCompleteAnRpc) {
  for (int i = 0; i < 50; ++i) {
    with_server({{"Echo", echo()}}, [i](Fixture& f) -> Task<void> {
      EXPECT_EQ(co_await f.method("Echo")(std::to_string(i)), std::to_string(i));
    });
  }
}

// grpc.aio's "compatibility" test, in Actio's terms: Actio has no sync
// handlers (every handler is a coroutine on a serving loop), so what applies
// is a blocking client on a plain thread (gRPC C++'s own API, no loop) and
// Actio clients on the server's loop and on a second loop in another thread,
// all at once against one server; initial metadata, set_code, abort and an
// exception reach each kind of client the same way.
TEST(Server, Behaviour_114_ABlockingClientInAThreadAndClientsOnTwoLoopsShareAServer) {
  auto who = raw([](const std::string& req, ServicerContext& context) -> Task<std::string> {
    if (req == "code") {
      context.set_code(StatusCode::NOT_FOUND);
      context.set_details("set, not found");
      co_return "";
    }
    if (req == "abort") context.abort(StatusCode::PERMISSION_DENIED, "aborted here");
    if (req == "throw") throw std::runtime_error("handler blew up");
    Metadata headers{{"x-who", "actio"}};  // (GCC 12: no braced list inside co_await)
    co_await context.send_initial_metadata(headers);
    co_return "hi " + req;
  });
  with_server({{"Who", who}}, [](Fixture& f) -> Task<void> {
    struct Outcome {
      grpc::StatusCode code;
      std::string details, reply, header;
    };
    // A blocking client: gRPC C++'s generic stub on its own thread, waiting
    // for each call before the next.
    std::string target = f.target();
    std::promise<std::vector<Outcome>> blocking_done;
    std::thread blocking([target, &blocking_done] {
      auto ch = grpc::CreateChannel(target, grpc::InsecureChannelCredentials());
      grpc::GenericStub stub(ch);
      std::vector<Outcome> out;
      for (std::string req : {"blocking", "code", "abort", "throw"}) {
        grpc::ClientContext ctx;
        grpc::Slice slice(req);
        grpc::ByteBuffer request(&slice, 1), response;
        std::promise<grpc::Status> done;
        stub.UnaryCall(&ctx, "/test.Svc/Who", grpc::StubOptions(), &request, &response,
                       [&done](grpc::Status st) { done.set_value(std::move(st)); });
        grpc::Status st = done.get_future().get();
        Outcome o{st.error_code(), st.error_message(), {}, {}};
        std::vector<grpc::Slice> slices;
        if (st.ok() && response.Dump(&slices).ok())
          for (const auto& sl : slices) o.reply.append(reinterpret_cast<const char*>(sl.begin()), sl.size());
        auto md = ctx.GetServerInitialMetadata();
        if (auto it = md.find("x-who"); it != md.end()) o.header.assign(it->second.data(), it->second.size());
        out.push_back(std::move(o));
      }
      blocking_done.set_value(std::move(out));
    });
    // An Actio client on a second loop in another thread.
    std::promise<std::vector<std::string>> other_loop_done;
    std::thread other_loop([target, &other_loop_done] {
      std::vector<std::string> got;
      actio::run([](std::string target, std::vector<std::string>& got) -> Task<void> {
        auto ch = insecure_channel(target);
        auto method = ch.unary_unary<std::string, std::string>("/test.Svc/Who");
        for (int i = 0; i < 20; ++i) got.push_back(co_await method("loop2-" + std::to_string(i)));
        auto e = co_await expect_rpc_error(method("throw"));
        got.push_back(std::string(to_string(e.code())));
        co_await ch.close();
      }(target, got));
      other_loop_done.set_value(std::move(got));
    });
    // And one on this loop (the test body's, not a serving loop), meanwhile.
    for (int i = 0; i < 20; ++i) {
      auto call = f.method("Who")("loop1-" + std::to_string(i));
      EXPECT_EQ(co_await call, "hi loop1-" + std::to_string(i));
      auto md = co_await call.initial_metadata();
      EXPECT_EQ(md.get("x-who").value_or(""), "actio");
    }
    auto e = co_await expect_rpc_error(f.method("Who")("abort"));
    EXPECT_EQ(e.code(), StatusCode::PERMISSION_DENIED);
    EXPECT_EQ(e.details(), "aborted here");
    auto e2 = co_await expect_rpc_error(f.method("Who")("code"));
    EXPECT_EQ(e2.code(), StatusCode::NOT_FOUND);

    // The other threads finish without this loop's help (the server has
    // loops of its own), but wait here without blocking it.
    auto blocking_result = blocking_done.get_future();
    auto other_result = other_loop_done.get_future();
    for (int i = 0; i < 1000 && (blocking_result.wait_for(0s) != std::future_status::ready ||
                                 other_result.wait_for(0s) != std::future_status::ready);
         ++i)
      co_await sleep(10ms);
    blocking.join();
    other_loop.join();
    auto b = blocking_result.get();
    CO_ASSERT_EQ(b.size(), 4u);
    EXPECT_EQ(b[0].code, grpc::StatusCode::OK);
    EXPECT_EQ(b[0].reply, "hi blocking");
    EXPECT_EQ(b[0].header, "actio");
    EXPECT_EQ(b[1].code, grpc::StatusCode::NOT_FOUND);
    EXPECT_EQ(b[1].details, "set, not found");
    EXPECT_EQ(b[2].code, grpc::StatusCode::PERMISSION_DENIED);
    EXPECT_EQ(b[2].details, "aborted here");
    EXPECT_EQ(b[3].code, grpc::StatusCode::UNKNOWN);  // an exception, as in grpc.aio
    auto o = other_result.get();
    CO_ASSERT_EQ(o.size(), 21u);
    for (int i = 0; i < 20; ++i) EXPECT_EQ(o[static_cast<std::size_t>(i)], "hi loop2-" + std::to_string(i));
    EXPECT_EQ(o[20], "UNKNOWN");
  });
}

TEST(Threading, HandlesThrowUsageErrorOnAnotherThread) {
  with_server({{"Slow", sleepy(100ms)}}, [](Fixture& f) -> Task<void> {
    auto call = f.method("Slow")("x");
    int errors = 0;
    std::string message;
    std::thread other([&] {
      auto expect_usage = [&](auto&& fn) {
        try {
          fn();
        } catch (const UsageError& e) {
          ++errors;
          message = e.what();
        }
      };
      expect_usage([&] { (void)f.channel.get_state(); });
      expect_usage([&] { (void)f.method("Slow")("y"); });
      expect_usage([&] { (void)call.cancel(); });
      expect_usage([&] { (void)call.done(); });
      expect_usage([&] { (void)f.server.add_insecure_port("127.0.0.1:0"); });
      expect_usage([&] { (void)insecure_channel(f.target()); });  // no loop on that thread
    });
    other.join();
    EXPECT_EQ(errors, 6);
    EXPECT_NE(message.find("needs an Actio event loop"), std::string::npos) << message;
    EXPECT_EQ(co_await call, "x");  // nothing was disturbed
  });
}

TEST(Threading, ServicerContextIsHomedOnItsServerLoop) {
  std::string error;
  auto handler = raw([&](const std::string& req, ServicerContext& ctx) -> Task<std::string> {
    std::thread other([&] {
      try {
        (void)ctx.peer();
      } catch (const UsageError& e) {
        error = e.what();
      }
    });
    other.join();
    co_return req;
  });
  with_server({{"H", handler}}, [&](Fixture& f) -> Task<void> {
    EXPECT_EQ(co_await f.method("H")("x"), "x");
    EXPECT_NE(error.find("ServicerContext::peer used from another thread"), std::string::npos) << error;
  });
}

// A CAF actor on CAF's own scheduler calls through the channel's actor.
caf::behavior caller(caf::event_based_actor* self, caf::actor channel, std::string method,
                     std::function<void(std::string)> report) {
  self->request(channel, caf::infinite, unary_atom::value, method, std::string("from caf"), 5.0)
      .then([=](const std::string& response) { report("ok:" + response); },
            [=](caf::error& err) {
              report("error:" + std::to_string(err.code()) + ":" +
                     (err.context().match_elements<std::string>() ? err.context().get_as<std::string>(0) : ""));
            });
  return {};
}

TEST(Actors, ACafActorOnAnotherThreadCallsThroughTheChannelActor) {
  with_server({{"Echo", echo()}}, [](Fixture& f) -> Task<void> {
    auto& loop = *EventLoop::current();
    std::vector<std::string> results;
    Event got_both;
    auto report = [&loop, &results, &got_both](std::string r) {
      // Runs on a CAF worker thread: hop to our loop with a post.
      loop.post([&results, &got_both, r] {
        results.push_back(r);
        if (results.size() == 2) got_both.set();
      });
    };
    auto channel_actor = f.channel.actor();
    auto a1 = actor_system().spawn(caller, channel_actor, std::string("/test.Svc/Echo"), report);
    auto a2 = actor_system().spawn(caller, channel_actor, std::string("/test.Svc/Missing"), report);
    EXPECT_TRUE(co_await got_both.wait_for(10s));
    std::sort(results.begin(), results.end());
    CO_ASSERT_EQ(results.size(), 2u);
    EXPECT_EQ(results[0].substr(0, 9), "error:12:");  // UNIMPLEMENTED
    EXPECT_EQ(results[1], "ok:from caf");
  });
}

TEST(Actors, AThreadStopsTheServerThroughItsActor) {
  with_server({{"Echo", echo()}}, [](Fixture& f) -> Task<void> {
    auto server_actor = f.server.actor();
    auto& loop = *EventLoop::current();
    std::vector<int> ports;
    bool stopped = false;
    Event thread_done;
    std::thread other([&] {
      caf::scoped_actor self{actor_system()};
      self->request(server_actor, std::chrono::seconds(10), port_atom::value)
          .receive([&](const std::vector<int>& p) { ports = p; }, [](caf::error&) {});
      self->request(server_actor, std::chrono::seconds(10), stop_atom::value, 0.0)
          .receive([&](bool ok) { stopped = ok; }, [](caf::error&) {});
      loop.post([&] { thread_done.set(); });
    });
    // The loop keeps running (never blocked) while the thread waits on the actor.
    bool running_timed_out = co_await f.server.wait_for_termination(10s);
    EXPECT_TRUE(co_await thread_done.wait_for(10s));
    other.join();
    EXPECT_FALSE(running_timed_out);
    EXPECT_TRUE(stopped);
    CO_ASSERT_EQ(ports.size(), 1u);
    EXPECT_EQ(ports[0], f.port);
  });
}

TEST(Actors, CallActorCancelsTheCall) {
  with_server({{"Slow", sleepy(5s)}}, [](Fixture& f) -> Task<void> {
    auto call = f.method("Slow")("x");
    auto call_actor = call.actor();
    std::thread other([call_actor] {
      caf::scoped_actor self{actor_system()};
      self->request(call_actor, std::chrono::seconds(10), cancel_atom::value)
          .receive([](bool) {}, [](caf::error&) {});
    });
    EXPECT_THROW(co_await call, CancelledError);
    other.join();
    EXPECT_TRUE(call.cancelled());
  });
}

TEST(Channel, Behaviour_032_033_CloseWithAndWithoutGrace) {
  with_server({{"Slow", sleepy(100ms)}, {"Slower", sleepy(5s)}}, [](Fixture& f) -> Task<void> {
    auto ch = insecure_channel(f.target());
    auto quick = ch.unary_unary<std::string, std::string>("/test.Svc/Slow")("q");
    co_await sleep(20ms);
    auto closing = std::chrono::steady_clock::now();
    co_await ch.close(3s);
    // close() returns once the call is done (~80 ms), not after the grace.
    EXPECT_LT(std::chrono::steady_clock::now() - closing, 2s);
    EXPECT_TRUE(quick.done());
    EXPECT_EQ(co_await quick, "q");
    try {
      (void)ch.unary_unary<std::string, std::string>("/test.Svc/Slow")("after");
      ADD_FAILURE() << "closed channel accepted a call";
    } catch (const UsageError& e) {
      EXPECT_STREQ(e.what(), "Channel is closed.");
    }
    EXPECT_EQ(ch.get_state(), ChannelConnectivity::SHUTDOWN);

    auto ch2 = insecure_channel(f.target());
    auto slow = ch2.unary_unary<std::string, std::string>("/test.Svc/Slower")("s");
    co_await sleep(20ms);
    auto t0 = std::chrono::steady_clock::now();
    co_await ch2.close(100ms);  // grace runs out: the call is cancelled
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s);
    EXPECT_TRUE(slow.cancelled());
    EXPECT_THROW(co_await slow, CancelledError);
    co_await ch2.close();  // idempotent
  });
}

TEST(Channel, Behaviour_036_NewChannelIsIdle) {
  actio::run([]() -> Task<void> {
    auto ch = insecure_channel("127.0.0.1:1");
    EXPECT_EQ(ch.get_state(), ChannelConnectivity::IDLE);
    EXPECT_EQ(ch.get_state(true), ChannelConnectivity::IDLE);
    co_await ch.close();
    EXPECT_EQ(ch.get_state(), ChannelConnectivity::SHUTDOWN);
  }());
}

TEST(Lifecycle, RunEndsCleanlyWithCallsStillInFlight) {
  // The task returns while a call and a server are live: run() must cancel,
  // drain and return without hanging or leaking (checked under ASan too).
  actio::run([]() -> Task<void> {
    auto srv = server();
    srv.add_generic_rpc_handlers({method_handlers_generic_handler("test.Svc", {{"Slow", sleepy(10s)}})});
    int port = srv.add_insecure_port("127.0.0.1:0");
    co_await srv.start();
    auto ch = insecure_channel("127.0.0.1:" + std::to_string(port));
    auto call = ch.unary_unary<std::string, std::string>("/test.Svc/Slow")("x");
    co_await sleep(30ms);
    call.add_done_callback([](const Call&) {});
  }());
  SUCCEED();
}

}  // namespace

namespace {

using namespace actio;
using namespace actio::testing;

TEST(Connectivity, Behaviour_037_DeadAddressReachesTransientFailure) {
  actio::run([]() -> Task<void> {
    auto probe = server();
    int port = probe.add_insecure_port("127.0.0.1:0");
    auto ch = insecure_channel("127.0.0.1:" + std::to_string(port));
    auto state = ch.get_state(true);
    for (int i = 0; i < 10 && state != ChannelConnectivity::TRANSIENT_FAILURE; ++i) {
      state = co_await wait_for(ch.wait_for_state_change(state), 10s);  // (bounded: TimeoutError)
    }
    EXPECT_EQ(state, ChannelConnectivity::TRANSIENT_FAILURE);
    co_await ch.close();
  }());
}

TEST(Connectivity, Behaviour_038_ReadyOnlyWhenAskedToConnect) {
  with_server({{"Echo", echo()}}, [](Fixture& f) -> Task<void> {
    auto idle = insecure_channel(f.target());
    // Without try_to_connect nothing happens: the wait is cancelled still IDLE.
    Task<ChannelConnectivity> waiting = idle.wait_for_state_change(ChannelConnectivity::IDLE);
    auto stopper = [](Task<ChannelConnectivity>& t) -> Task<void> {
      co_await sleep(300ms);
      t.cancel();
    };
    auto guarded = [](Task<ChannelConnectivity>& t) -> Task<bool> {
      try {
        co_await t;
      } catch (const CancelledError&) {
        co_return true;
      }
      co_return false;
    };
    auto [timed_out, _] = co_await gather(guarded(waiting), stopper(waiting));
    EXPECT_TRUE(timed_out);
    EXPECT_EQ(idle.get_state(), ChannelConnectivity::IDLE);
    co_await f.channel.channel_ready();
    EXPECT_EQ(f.channel.get_state(), ChannelConnectivity::READY);
  });
}

TEST(Connectivity, Behaviour_039_AfterCloseShutdownAndUsageError) {
  with_server({{"Echo", echo()}}, [](Fixture& f) -> Task<void> {
    co_await f.channel.channel_ready();
    co_await f.channel.close();
    EXPECT_EQ(f.channel.get_state(), ChannelConnectivity::SHUTDOWN);
    EXPECT_THROW(co_await f.channel.wait_for_state_change(ChannelConnectivity::READY), UsageError);
  });
}

}  // namespace

namespace {

using namespace actio;
using namespace actio::testing;

TEST(Server, ServeUntilSignalStopsGracefullyOnSigterm) {
  with_server({{"Slow", sleepy(200ms)}}, [](Fixture& f) -> Task<void> {
    auto call = f.method("Slow")("in flight");
    auto raiser = []() -> Task<void> {
      co_await sleep(50ms);
      std::raise(SIGTERM);
    };
    auto [sig, _] = co_await gather(serve_until_signal(f.server, 2s), raiser());
    EXPECT_EQ(sig, SIGTERM);
    EXPECT_EQ(co_await call, "in flight");  // the grace let it finish
    EXPECT_FALSE(co_await f.server.wait_for_termination(10ms));
  });
}

}  // namespace

namespace {

using namespace actio;
using namespace actio::testing;

TEST(Server, HealthAndReflectionAreOffUnlessAsked) {
  with_server({{"Echo", echo()}}, [](Fixture& f) -> Task<void> {
    // Neither grpc.health.v1 nor reflection is served by a plain server.
    auto check = f.channel.unary_unary<std::string, std::string>("/grpc.health.v1.Health/Check");
    EXPECT_EQ((co_await expect_rpc_error(check(std::string()))).code(), StatusCode::UNIMPLEMENTED);
    auto reflect = f.channel.stream_stream<std::string, std::string>(
        "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo");
    auto call = reflect();
    EXPECT_EQ((co_await expect_rpc_error(call.read())).code(), StatusCode::UNIMPLEMENTED);
    EXPECT_THROW(f.server.set_serving_status("test.Svc", false), UsageError);
  });
  ServerOptions health;
  health.health_checking = true;
  with_server(
      {{"Echo", echo()}},
      [](Fixture& f) -> Task<void> {
        // grpc.health.v1.HealthCheckRequest{service = "test.Svc"} is field 1 (0x0a), length, bytes.
        std::string request = std::string("\x0a\x08", 2) + "test.Svc";
        auto check = f.channel.unary_unary<std::string, std::string>("/grpc.health.v1.Health/Check");
        f.server.set_serving_status("test.Svc", true);
        EXPECT_EQ(co_await check(request), std::string("\x08\x01", 2));  // status = SERVING
        f.server.set_serving_status("test.Svc", false);
        EXPECT_EQ(co_await check(request), std::string("\x08\x02", 2));  // NOT_SERVING
      },
      health);
}

}  // namespace
