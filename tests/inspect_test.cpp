// Inspection end to end: a process with inspection on serves
// actio.inspect.v1.Inspector; a client reads a Snapshot and Watch events of
// real calls on loopback.
#include "inspect.actio.h"
#include "actio/inspect.hpp"
#include "test_util.hpp"

#include <caf/send.hpp>

#include <atomic>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include "actio/mailbox.hpp"

namespace {

using namespace actio;
using namespace actio::testing;
namespace v1 = actio::inspect::v1;

RpcMethodHandler stream_then_wait() {
  return unary_stream_rpc_method_handler<std::string, std::string>(
      [](const std::string&, ServicerContext& ctx) -> Task<void> {
        co_await ctx.write(std::string("first"));
        co_await sleep(10s);
      });
}

std::vector<const v1::Call*> calls_of(const google::protobuf::RepeatedPtrField<v1::Call>& calls,
                                      const std::string& method) {
  std::vector<const v1::Call*> out;
  for (const auto& c : calls) {
    if (c.method() == method) out.push_back(&c);
  }
  return out;
}

const v1::MetadataEntry* entry(const google::protobuf::RepeatedPtrField<v1::MetadataEntry>& md,
                               const std::string& key) {
  for (const auto& e : md) {
    if (e.key() == key) return &e;
  }
  return nullptr;
}

TEST(Inspect, SnapshotShowsLiveAndFinishedCallsEndpointsAndRedactsSecrets) {
  auto inspection = inspect::start();
  with_server({{"Echo", echo()}, {"Stream", stream_then_wait()}}, [&inspection](Fixture& f) -> Task<void> {
    Metadata md{{"authorization", "Bearer s3cret"}, {"x-trace-bin", std::string("\x01\x02", 2)}, {"x-user", "ada"}};
    auto reply = co_await f.method("Echo")("hello", {.metadata = md});
    EXPECT_EQ(reply, "hello");
    auto stream = f.channel.unary_stream<std::string, std::string>("/test.Svc/Stream")("");
    EXPECT_EQ(co_await stream.read(), std::optional<std::string>("first"));

    auto ch = insecure_channel(inspection->target());
    v1::InspectorStub stub(ch);
    v1::SnapshotRequest request;
    v1::Snapshot snap = co_await stub.Snapshot(request);

    // The stream is live on both sides, one message each way counted.
    auto live = calls_of(snap.live_calls(), "/test.Svc/Stream");
    CO_ASSERT_EQ(live.size(), 2u);
    for (const auto* c : live) {
      EXPECT_FALSE(c->done());
      EXPECT_EQ(c->shape(), v1::UNARY_STREAM);
      EXPECT_TRUE(c->half_closed());
      if (c->side() == v1::CLIENT) {
        EXPECT_EQ(c->messages_in(), 1u);
        EXPECT_EQ(c->peer(), f.target());
      } else {
        EXPECT_EQ(c->messages_out(), 1u);
        EXPECT_NE(c->peer().find("127.0.0.1"), std::string::npos);
      }
    }
    // The unary call finished on both sides, OK, with its sizes and metadata.
    auto done = calls_of(snap.recent_calls(), "/test.Svc/Echo");
    CO_ASSERT_EQ(done.size(), 2u);
    for (const auto* c : done) {
      EXPECT_TRUE(c->done());
      EXPECT_EQ(c->code(), 0);
      EXPECT_GT(c->end_time(), 0);
      EXPECT_EQ(c->bytes_in() + c->bytes_out(), 10u);  // "hello" each way
      const auto* auth = entry(c->invocation_metadata(), "authorization");
      CO_ASSERT_TRUE(auth != nullptr);
      EXPECT_TRUE(auth->redacted());
      EXPECT_EQ(auth->value(), "<redacted 13 bytes>");
      const auto* bin = entry(c->invocation_metadata(), "x-trace-bin");
      CO_ASSERT_TRUE(bin != nullptr);
      EXPECT_TRUE(bin->redacted());
      const auto* user = entry(c->invocation_metadata(), "x-user");
      CO_ASSERT_TRUE(user != nullptr);
      EXPECT_EQ(user->value(), "ada");
    }
    // The inspector's own server does not record itself.
    for (const auto& c : snap.recent_calls()) {
      if (c.side() == v1::SERVER) {
        EXPECT_NE(c.method(), "/actio.inspect.v1.Inspector/Snapshot");
      }
    }
    // Endpoints: the test's channel and server.
    bool channel_seen = false, server_seen = false;
    for (const auto& e : snap.endpoints()) {
      if (e.kind() == v1::CHANNEL && e.target() == f.target()) {
        channel_seen = true;
        EXPECT_EQ(e.calls_started(), 2u);
        EXPECT_EQ(e.calls_ok(), 1u);
        EXPECT_EQ(e.calls_active(), 1u);
        EXPECT_EQ(e.state(), "READY");
      }
      if (e.kind() == v1::SERVER_ENDPOINT && e.target().find("127.0.0.1:") == 0) {
        server_seen = true;
        EXPECT_EQ(e.state(), "running");
        EXPECT_EQ(std::vector<std::string>(e.services().begin(), e.services().end()),
                  (std::vector<std::string>{"test.Svc"}));
      }
    }
    EXPECT_TRUE(channel_seen);
    EXPECT_TRUE(server_seen);
    EXPECT_GT(snap.pid(), 0);
    EXPECT_EQ(snap.process(), "inspect_test");
    // Loops: the test's, the server's serving loop, the inspector's; the
    // stream in flight holds gRPC operations on the first two.
    EXPECT_GE(snap.loops_size(), 3);
    int with_ops = 0, inspector = 0;
    for (const auto& l : snap.loops()) {
      if (l.pending_ops() > 0 && l.live_calls() > 0) ++with_ops;
      if (l.name().find("(inspector)") != std::string::npos) ++inspector;
    }
    EXPECT_EQ(with_ops, 2);
    EXPECT_EQ(inspector, 1);
    stream.cancel();
    co_await ch.close();
  });
}

TEST(Inspect, LoopsListTheirActorsAndASnapshotCanSkipTheCalls) {
  auto inspection = inspect::start();
  with_server({{"Stream", stream_then_wait()}}, [&inspection](Fixture& f) -> Task<void> {
    // Actors on the test's loop: the channel's and a call's (made on request)
    // and a mailbox holding two messages nobody received yet.
    caf::actor channel_actor = f.channel.actor();
    auto stream = f.channel.unary_stream<std::string, std::string>("/test.Svc/Stream")("");
    EXPECT_EQ(co_await stream.read(), std::optional<std::string>("first"));
    caf::actor call_actor = stream.actor();
    Mailbox inbox("test inbox");
    caf::anon_send(inbox.actor(), std::string("one"));
    caf::anon_send(inbox.actor(), std::string("two"));
    for (int i = 0; i < 100 && inbox.size() < 2; ++i) co_await sleep(10ms);
    CO_ASSERT_EQ(inbox.size(), 2u);

    auto ch = insecure_channel(inspection->target());
    v1::InspectorStub stub(ch);
    v1::SnapshotRequest request;
    request.set_skip_calls(true);
    v1::Snapshot snap = co_await stub.Snapshot(request);
    EXPECT_EQ(snap.live_calls_size(), 0);
    EXPECT_EQ(snap.recent_calls_size(), 0);
    EXPECT_GE(snap.endpoints_size(), 2);
    const v1::Loop* mine = nullptr;
    int live_calls = 0;
    for (const auto& l : snap.loops()) {
      live_calls += static_cast<int>(l.live_calls());
      for (const auto& a : l.actors()) {
        if (a.kind() == "mailbox") mine = &l;
      }
    }
    // Counted, not copied: the stream on both sides, and this Snapshot call
    // (its client side; the inspector's own server records nothing).
    EXPECT_EQ(live_calls, 3);
    CO_ASSERT_TRUE(mine != nullptr);
    std::map<std::string, const v1::Actor*> by_kind;
    for (const auto& a : mine->actors()) by_kind[a.kind()] = &a;
    CO_ASSERT_EQ(by_kind.count("channel"), 1u);
    EXPECT_EQ(by_kind["channel"]->name(), f.target());
    EXPECT_EQ(by_kind["channel"]->id(), channel_actor.id());
    CO_ASSERT_EQ(by_kind.count("client call"), 1u);
    EXPECT_EQ(by_kind["client call"]->name(), "/test.Svc/Stream");
    EXPECT_EQ(by_kind["client call"]->id(), call_actor.id());
    EXPECT_EQ(by_kind["mailbox"]->name(), "test inbox");
    EXPECT_EQ(by_kind["mailbox"]->waiting(), 2u);
    EXPECT_EQ(by_kind["mailbox"]->handled(), 2u);

    // One received: one waiting; a closed mailbox is gone from the list.
    EXPECT_TRUE(co_await inbox.receive());
    snap = co_await stub.Snapshot(request);
    std::uint64_t waiting = 0;
    for (const auto& l : snap.loops()) {
      for (const auto& a : l.actors()) {
        if (a.kind() == "mailbox") waiting = a.waiting();
      }
    }
    EXPECT_EQ(waiting, 1u);
    inbox.close();
    snap = co_await stub.Snapshot(request);
    for (const auto& l : snap.loops()) {
      for (const auto& a : l.actors()) EXPECT_NE(a.kind(), "mailbox");
    }
    stream.cancel();
    co_await ch.close();
  });
}

TEST(Inspect, WatchStreamsTheEventsOfACall) {
  auto inspection = inspect::start();
  with_server({{"Echo", echo()}}, [&inspection](Fixture& f) -> Task<void> {
    auto ch = insecure_channel(inspection->target());
    v1::InspectorStub stub(ch);
    v1::WatchRequest request;
    request.set_message_head_bytes(3);
    auto watch = stub.Watch(request);
    co_await watch.initial_metadata();  // the watch is on
    auto reply = co_await f.method("Echo")("hello");
    EXPECT_EQ(reply, "hello");
    // Collect until both sides reported their status (bounded).
    std::map<std::uint64_t, std::vector<std::string>> kinds;
    std::map<std::uint64_t, v1::Side> sides;
    std::string head;
    int statuses = 0;
    std::vector<v1::Event> pending;
    for (int i = 0; i < 200 && statuses < 2; ++i) {
      if (pending.empty()) {
        auto batch = co_await watch.read();
        CO_ASSERT_TRUE(batch.has_value());
        EXPECT_EQ(batch->dropped_events(), 0u);
        pending.assign(batch->events().begin(), batch->events().end());
        std::reverse(pending.begin(), pending.end());
        continue;
      }
      auto e = std::optional<v1::Event>(std::move(pending.back()));
      pending.pop_back();
      if (e->has_started()) {
        if (e->started().method() != "/test.Svc/Echo") continue;
        sides[e->call_id()] = e->started().side();
        kinds[e->call_id()].push_back("started");
      }
      if (!sides.count(e->call_id())) continue;
      if (e->has_message_in()) {
        kinds[e->call_id()].push_back("in");
        head = e->message_in().head();
      }
      if (e->has_message_out()) kinds[e->call_id()].push_back("out");
      if (e->has_half_closed()) kinds[e->call_id()].push_back("half-close");
      if (e->has_headers()) kinds[e->call_id()].push_back("headers");
      if (e->has_status()) {
        kinds[e->call_id()].push_back("status " + std::to_string(e->status().code()));
        ++statuses;
      }
    }
    CO_ASSERT_EQ(sides.size(), 2u);
    for (const auto& [id, side] : sides) {
      auto& k = kinds[id];
      EXPECT_EQ(k.front(), "started");
      EXPECT_EQ(k.back(), "status 0");
      EXPECT_NE(std::find(k.begin(), k.end(), "in"), k.end());
      EXPECT_NE(std::find(k.begin(), k.end(), "out"), k.end());
    }
    EXPECT_EQ(head, "hel");  // message_head_bytes = 3
    watch.cancel();
    co_await ch.close();
  });
}

TEST(Inspect, ASnapshotsCopyOfACallSaysWhichWatchEventsItAlreadyCounts) {
  // A watcher reads a snapshot taken after some of a call's events: each
  // copied call carries the seq of its newest event in the copy, so the
  // watcher can skip those (the snapshot's own seq is read before the
  // copies, and events between the two are in both).
  auto inspection = inspect::start();
  with_server({{"Stream", stream_then_wait()}}, [&inspection](Fixture& f) -> Task<void> {
    auto ch = insecure_channel(inspection->target());
    v1::InspectorStub stub(ch);
    auto watch = stub.Watch(v1::WatchRequest());
    co_await watch.initial_metadata();
    auto stream = f.channel.unary_stream<std::string, std::string>("/test.Svc/Stream")("");
    EXPECT_EQ(co_await stream.read(), std::optional<std::string>("first"));
    // The newest event of each side of the call, as the watch saw them.
    std::map<v1::Side, std::uint64_t> newest;
    std::map<std::uint64_t, v1::Side> sides;
    bool server_wrote = false, client_read = false;
    for (int i = 0; i < 100 && !(server_wrote && client_read); ++i) {
      auto batch = co_await watch.read();
      CO_ASSERT_TRUE(batch.has_value());
      for (const auto& e : batch->events()) {
        if (e.has_started() && e.started().method() == "/test.Svc/Stream") sides[e.call_id()] = e.started().side();
        auto side = sides.find(e.call_id());
        if (side == sides.end()) continue;
        newest[side->second] = e.seq();
        if (e.has_message_out() && side->second == v1::SERVER) server_wrote = true;
        if (e.has_message_in() && side->second == v1::CLIENT) client_read = true;
      }
    }
    CO_ASSERT_TRUE(server_wrote && client_read);
    v1::Snapshot snap = co_await stub.Snapshot(v1::SnapshotRequest());
    auto live = calls_of(snap.live_calls(), "/test.Svc/Stream");
    CO_ASSERT_EQ(live.size(), 2u);
    for (const auto* c : live) {
      // Nothing happened on the call since: its newest event is the one seen.
      EXPECT_EQ(c->last_event_seq(), newest[c->side()]) << (c->side() == v1::CLIENT ? "client" : "server");
      EXPECT_LE(c->last_event_seq(), snap.seq());
    }
    stream.cancel();
    watch.cancel();
    co_await ch.close();
  });
}

RpcMethodHandler serving_thread() {
  return unary_unary_rpc_method_handler<std::string, std::string>(
      [](const std::string&, ServicerContext&) -> Task<std::string> {
        co_return std::to_string(std::hash<std::thread::id>{}(std::this_thread::get_id()));
      });
}

TEST(Inspect, WatchEventsOfEveryLoopComeInSeqOrderWithoutGaps) {
  // Two serving loops and the client's loop publish at the same time; the
  // watch gets every event once, in seq order, numbered without gaps.
  auto inspection = inspect::start();
  ServerOptions options;
  options.loops = 2;
  options.accepts_per_method = 1;
  with_server(
      {{"Where", serving_thread()}},
      [&inspection](Fixture& f) -> Task<void> {
        auto ch = insecure_channel(inspection->target());
        v1::InspectorStub stub(ch);
        v1::WatchRequest request;
        auto watch = stub.Watch(request);
        co_await watch.initial_metadata();
        // gRPC gives a new connection the completion queue of the loop that
        // accepted it, and a call goes to another loop's queue only when that
        // one has no request pending. One request pending per loop and bursts
        // of 40 calls on 4 new connections (a distinct channel argument each:
        // channels with the same target and arguments share one), until both
        // loops have served a call.
        constexpr int kPerRound = 40;
        std::vector<Channel> channels;
        std::set<std::string> threads;
        int total = 0, rounds = 0;
        while (rounds < 10 && threads.size() < 2) {
          ++rounds;
          for (int i = 0; i < 4; ++i) {
            ChannelOptions own;
            own.args.emplace_back("actio.test.channel", static_cast<int>(channels.size()));
            channels.push_back(insecure_channel(f.target(), own));
          }
          std::vector<UnaryUnaryCall<std::string>> calls;
          for (int i = 0; i < kPerRound; ++i) {
            calls.push_back(channels[channels.size() - 4 + static_cast<std::size_t>(i) % 4]
                                .unary_unary<std::string, std::string>("/test.Svc/Where")("x"));
          }
          for (auto& c : calls) threads.insert(co_await c);
          total += kPerRound;
        }
        CO_ASSERT_EQ(threads.size(), 2u);
        int statuses = 0;
        std::uint64_t last = 0, events = 0;
        std::map<std::uint64_t, int> call_loops;
        for (int i = 0; i < 1000 && statuses < 2 * total; ++i) {
          auto batch = co_await watch.read();
          CO_ASSERT_TRUE(batch.has_value());
          for (const auto& e : batch->events()) {
            if (last != 0) {
              EXPECT_EQ(e.seq(), last + 1) << "after seq " << last;
            }
            last = e.seq();
            ++events;
            if (e.has_started() && e.started().method() == "/test.Svc/Where" && e.started().side() == v1::SERVER) {
              call_loops[e.started().loop()]++;
            }
            if (e.has_status() && e.status().messages_in() == 1 && e.status().messages_out() == 1) ++statuses;
          }
        }
        EXPECT_EQ(statuses, 2 * total);
        EXPECT_EQ(call_loops.size(), 2u);  // both serving loops took calls
        EXPECT_GT(events, 6u * static_cast<std::uint64_t>(total));
        for (auto& c : channels) co_await c.close();
        watch.cancel();
        co_await ch.close();
      },
      options);
}

TEST(Inspect, PastTheWatchRateCallsAreSummarizedButFailedAndLongCallsComeOneByOne) {
  // max_calls_per_second = 1: each loop sends one call one by one (its
  // bucket starts full), then about one a second; the rest of the burst is
  // counted in summaries. A failure is sent one by one within its own rate
  // (one per loop here), a call running 100 ms is promoted mid-call.
  auto inspection = inspect::start();
  auto fail = unary_unary_rpc_method_handler<std::string, std::string>(
      [](const std::string&, ServicerContext& ctx) -> Task<std::string> {
        ctx.abort(StatusCode::NOT_FOUND, "nothing here");
        co_return std::string();
      });
  auto slow = unary_unary_rpc_method_handler<std::string, std::string>(
      [](const std::string& req, ServicerContext&) -> Task<std::string> {
        co_await sleep(300ms);
        co_return req;
      });
  with_server({{"Echo", echo()}, {"Fail", fail}, {"Slow", slow}}, [&inspection](Fixture& f) -> Task<void> {
    auto ch = insecure_channel(inspection->target());
    v1::InspectorStub stub(ch);
    v1::WatchRequest request;
    request.set_max_calls_per_second(1);
    CallOptions bounded;
    bounded.timeout = Duration(20);  // a missing summary fails the test instead of hanging it
    auto watch = stub.Watch(request, bounded);
    co_await watch.initial_metadata();
    constexpr int kEcho = 60, kFail = 3;
    for (int i = 0; i < kEcho; ++i) EXPECT_EQ(co_await f.method("Echo")("x"), "x");
    auto slow_call = f.method("Slow")("s");
    for (int i = 0; i < kFail; ++i) {
      try {
        co_await f.method("Fail")("y");
        ADD_FAILURE() << "Fail answered";
      } catch (const AioRpcError& e) {
        EXPECT_EQ(e.code(), StatusCode::NOT_FOUND);
      }
    }
    EXPECT_EQ(co_await slow_call, "s");

    struct Seen {
      int one_by_one = 0;     // a started event, then a status
      std::uint64_t summarized = 0;
      std::uint64_t summarized_failed = 0;
    };
    std::map<std::pair<std::string, int>, Seen> seen;  // (method, side)
    std::map<std::uint64_t, std::pair<std::string, int>> started;  // call id -> key
    std::map<std::uint64_t, double> promoted_after;  // call id -> started event time - start time
    auto complete = [&] {
      for (int side : {v1::CLIENT, v1::SERVER}) {
        auto echo = seen[{"/test.Svc/Echo", side}], failed = seen[{"/test.Svc/Fail", side}],
             slowed = seen[{"/test.Svc/Slow", side}];
        if (echo.one_by_one + echo.summarized < kEcho) return false;
        if (failed.one_by_one + failed.summarized < kFail) return false;
        if (slowed.one_by_one + slowed.summarized < 1) return false;
      }
      return true;
    };
    for (int i = 0; i < 1000 && !complete(); ++i) {
      auto batch = co_await watch.read();
      CO_ASSERT_TRUE(batch.has_value());
      for (const auto& e : batch->events()) {
        if (e.has_started()) {
          started[e.call_id()] = {e.started().method(), e.started().side()};
          promoted_after[e.call_id()] = e.time() - e.started().start_time();
        }
        if (e.has_status()) {
          auto it = started.find(e.call_id());
          if (it != started.end()) ++seen[it->second].one_by_one;
        }
        if (e.has_summary()) {
          const auto& s = e.summary();
          EXPECT_EQ(e.call_id(), 0u);
          auto& k = seen[{s.method(), s.side()}];
          k.summarized += s.calls();
          std::uint64_t by_code = 0, by_latency = 0;
          for (const auto& c : s.codes()) {
            by_code += c.calls();
            if (c.code() != 0) k.summarized_failed += c.calls();
          }
          for (auto n : s.latency_counts()) by_latency += n;
          EXPECT_EQ(by_code, s.calls());
          EXPECT_EQ(by_latency, s.calls());
          EXPECT_EQ(s.latency_counts_size(), s.latency_bounds_size() + 1);
          if (s.side() == v1::SERVER) {
            EXPECT_EQ(s.messages_in(), s.calls());
          }
        }
      }
    }
    CO_ASSERT_TRUE(complete());
    for (int side : {v1::CLIENT, v1::SERVER}) {
      SCOPED_TRACE(side == v1::CLIENT ? "client" : "server");
      auto echo = seen[{"/test.Svc/Echo", side}], failed = seen[{"/test.Svc/Fail", side}],
           slowed = seen[{"/test.Svc/Slow", side}];
      // Every call counted once: one by one or in a summary.
      EXPECT_EQ(echo.one_by_one + echo.summarized, std::uint64_t{kEcho});
      EXPECT_GE(echo.one_by_one, 1);
      EXPECT_GE(echo.summarized, std::uint64_t{kEcho} / 2);  // one call a second per loop comes one by one: a slow machine sends more
      EXPECT_EQ(echo.summarized_failed, 0u);
      EXPECT_EQ(failed.one_by_one + failed.summarized, std::uint64_t{kFail});
      EXPECT_GE(failed.one_by_one, 1);
      EXPECT_EQ(failed.summarized_failed, failed.summarized);
      EXPECT_EQ(slowed.one_by_one, 1);
    }
    // The slow calls were promoted mid-call: their started event came 100 ms or more after they started.
    for (const auto& [id, key] : started) {
      if (key.first == "/test.Svc/Slow") {
        EXPECT_GE(promoted_after[id], 0.099) << (key.second == v1::CLIENT ? "client" : "server");
      }
    }
    watch.cancel();
    co_await ch.close();
  });
}

TEST(Inspect, ARecordReusedForANewCallKeepsNothingOfItsLastOne) {
  // Two finished calls kept per loop: the records the ring lets go (their
  // calls are gone) are reused by the next calls.
  inspect::Options options;
  options.recent_calls = 2;
  auto inspection = inspect::start(options);
  auto fail = unary_unary_rpc_method_handler<std::string, std::string>(
      [](const std::string&, ServicerContext& ctx) -> Task<std::string> {
        ctx.set_trailing_metadata(Metadata{{"x-why", "because"}});
        ctx.abort(StatusCode::NOT_FOUND, "nothing here");
        co_return std::string();
      });
  with_server({{"Echo", echo()}, {"Fail", fail}}, [&inspection](Fixture& f) -> Task<void> {
    Metadata md{{"x-user", "ada"}};
    for (int i = 0; i < 4; ++i) {
      try {
        co_await f.method("Fail")("y", {.metadata = md});
      } catch (const AioRpcError& e) {
        EXPECT_EQ(e.code(), StatusCode::NOT_FOUND);
      }
    }
    for (int i = 0; i < 6; ++i) EXPECT_EQ(co_await f.method("Echo")("hello"), "hello");
    auto ch = insecure_channel(inspection->target());
    v1::InspectorStub stub(ch);
    v1::SnapshotRequest request;
    v1::Snapshot snap = co_await stub.Snapshot(request);
    EXPECT_EQ(snap.recent_calls_size(), 2);  // recent_calls bounds what a snapshot shows, over every loop
    auto echoes = calls_of(snap.recent_calls(), "/test.Svc/Echo");
    CO_ASSERT_TRUE(echoes.size() >= 2u);  // the last call's two sides at least
    std::set<std::uint64_t> ids;
    std::set<int> sides;
    for (const auto* c : echoes) {
      ids.insert(c->id());
      sides.insert(c->side());
      EXPECT_TRUE(c->done());
      EXPECT_EQ(c->code(), 0);
      EXPECT_EQ(c->details(), "");
      EXPECT_EQ(c->cancelled_by(), "");
      EXPECT_EQ(c->trailing_metadata_size(), 0);
      EXPECT_EQ(entry(c->invocation_metadata(), "x-user"), nullptr);
      EXPECT_EQ(c->messages_in(), 1u);
      EXPECT_EQ(c->messages_out(), 1u);
      EXPECT_EQ(c->bytes_in(), 5u);
      EXPECT_TRUE(c->half_closed());
      EXPECT_GE(c->end_time(), c->start_time());
    }
    EXPECT_EQ(ids.size(), echoes.size());
    EXPECT_EQ(sides.size(), 2u);
    co_await ch.close();
  });
}

TEST(Inspect, CancelledBySaysWhoEndedTheCall) {
  // A client's cancel ("local" on its side, "peer" on the server's), a
  // deadline ("deadline" on both), and a server stopped with calls still
  // running ("shutdown" on the server's side).
  auto inspection = inspect::start();
  auto hold = unary_unary_rpc_method_handler<std::string, std::string>(
      [](const std::string& req, ServicerContext&) -> Task<std::string> {
        co_await sleep(10s);
        co_return req;
      });
  with_server({{"Cancelled", hold}, {"Late", hold}}, [&inspection, hold](Fixture& f) -> Task<void> {
    auto cancelled = f.method("Cancelled")("x");
    co_await sleep(50ms);  // the server has the call (a unary call's wait_for_connection waits for its end)
    EXPECT_TRUE(cancelled.cancel());
    EXPECT_EQ(co_await cancelled.code(), StatusCode::CANCELLED);
    auto late = co_await expect_rpc_error(f.method("Late")("x", {.timeout = 100ms}));
    EXPECT_EQ(late.code(), StatusCode::DEADLINE_EXCEEDED);

    // A second server, stopped (no grace) while a call waits in its handler.
    auto other = server();
    other.add_generic_rpc_handlers({method_handlers_generic_handler("test.Svc", {{"Stopped", hold}})});
    int port = other.add_insecure_port("127.0.0.1:0");
    co_await other.start();
    auto ch2 = insecure_channel("127.0.0.1:" + std::to_string(port));
    auto stopped = ch2.unary_unary<std::string, std::string>("/test.Svc/Stopped")("x");
    co_await sleep(50ms);
    co_await other.stop(0s);
    auto e = co_await expect_rpc_error(stopped);
    EXPECT_NE(e.code(), StatusCode::OK);

    auto ch = insecure_channel(inspection->target());
    v1::InspectorStub stub(ch);
    v1::SnapshotRequest request;
    v1::Snapshot snap = co_await stub.Snapshot(request);
    std::map<std::pair<std::string, int>, std::string> by;  // (method, side) -> cancelled_by
    // (The stopped server's loops have ended: their finished calls still show.)
    for (const auto& c : snap.recent_calls()) by[{c.method(), c.side()}] = c.cancelled_by();
    EXPECT_EQ((by[{"/test.Svc/Cancelled", v1::CLIENT}]), "local");
    EXPECT_EQ((by[{"/test.Svc/Cancelled", v1::SERVER}]), "peer");
    EXPECT_EQ((by[{"/test.Svc/Late", v1::CLIENT}]), "deadline");
    EXPECT_EQ((by[{"/test.Svc/Late", v1::SERVER}]), "deadline");
    EXPECT_EQ((by[{"/test.Svc/Stopped", v1::SERVER}]), "shutdown");
    co_await ch.close();
    co_await ch2.close();
  });
}

TEST(Inspect, ChannelsAndServersMadeBeforeInspectionStartedAreListed) {
  actio::run([]() -> Task<void> {
    auto srv = server();
    srv.add_generic_rpc_handlers({method_handlers_generic_handler("test.Svc", {{"Echo", echo()}})});
    std::string target = "127.0.0.1:" + std::to_string(srv.add_insecure_port("127.0.0.1:0"));
    co_await srv.start();
    auto ch = insecure_channel(target);
    auto echo_call = ch.unary_unary<std::string, std::string>("/test.Svc/Echo");
    EXPECT_EQ(co_await echo_call("before"), "before");
    auto inspection = inspect::start();  // only now
    EXPECT_EQ(co_await echo_call("after"), "after");
    auto ich = insecure_channel(inspection->target());
    v1::InspectorStub stub(ich);
    v1::SnapshotRequest request;
    v1::Snapshot snap = co_await stub.Snapshot(request);
    bool channel_seen = false, server_seen = false;
    for (const auto& e : snap.endpoints()) {
      if (e.kind() == v1::CHANNEL && e.target() == target) {
        channel_seen = true;
        EXPECT_EQ(e.calls_started(), 1u);  // counted since inspection started
        EXPECT_EQ(e.state(), "READY");
      }
      if (e.kind() == v1::SERVER_ENDPOINT && e.target() == target) {
        server_seen = true;
        EXPECT_EQ(e.state(), "running");
      }
    }
    EXPECT_TRUE(channel_seen);
    EXPECT_TRUE(server_seen);
    co_await ich.close();
    co_await ch.close();
    co_await srv.stop(0s);
  }());
}

TEST(Inspect, AnInspectedHandlerSeesEachCallsOwnInvocationMetadata) {
  // The server fills a call's record with its metadata in place, reusing an
  // old record's strings, and the handler reads it from there: with two
  // records kept per loop, every call below reuses one.
  inspect::Options options;
  options.recent_calls = 2;
  auto inspection = inspect::start(options);
  auto keys = unary_unary_rpc_method_handler<std::string, std::string>(
      [](const std::string&, ServicerContext& ctx) -> Task<std::string> {
        std::string out;
        for (const auto& [k, v] : ctx.invocation_metadata()) {
          if (k.starts_with("x-")) out += k + "=" + v + ";";
        }
        co_return out;
      });
  with_server({{"Keys", keys}}, [](Fixture& f) -> Task<void> {
    for (int i = 0; i < 12; ++i) {
      Metadata md;
      std::string expected;
      for (int j = 0; j < (i * 7) % 5; ++j) {
        std::string key = "x-k" + std::to_string(j);
        std::string value(static_cast<std::size_t>(3 + (i * 11 + j * 13) % 40), static_cast<char>('a' + i));
        md.add(key, value);
        expected += key + "=" + value + ";";
      }
      EXPECT_EQ(co_await f.method("Keys")("", {.metadata = md}), expected) << "call " << i;
    }
  });
}

TEST(Inspect, InterceptorChainsAreRecordedOnTheCall) {
  class Tag : public UnaryUnaryClientInterceptor {
   public:
    std::string name() const override { return "tag"; }
    Task<UnaryResult> intercept_unary_unary(UnaryUnaryContinuation continuation, ClientCallDetails details,
                                            Message request) override {
      details.metadata.add("x-tag", "1");
      co_return co_await continuation(std::move(details), std::move(request));
    }
  };
  auto inspection = inspect::start();
  with_server({{"Echo", echo()}}, [&inspection](Fixture& f) -> Task<void> {
    ChannelOptions options;
    options.interceptors = {std::make_shared<Tag>()};
    auto tagged = insecure_channel(f.target(), options);
    auto reply = co_await tagged.unary_unary<std::string, std::string>("/test.Svc/Echo")("x");
    EXPECT_EQ(reply, "x");
    auto ch = insecure_channel(inspection->target());
    v1::InspectorStub stub(ch);
    v1::SnapshotRequest request;
    v1::Snapshot snap = co_await stub.Snapshot(request);
    int clients = 0;
    for (const auto* c : calls_of(snap.recent_calls(), "/test.Svc/Echo")) {
      if (c->side() != v1::CLIENT) continue;
      ++clients;  // the intercepted call is one call, not one per layer
      CO_ASSERT_EQ(c->interceptors_size(), 1);
      EXPECT_EQ(c->interceptors(0).name(), "tag");
      EXPECT_EQ(c->interceptors(0).changes(0), "metadata +x-tag");
      EXPECT_EQ(c->bytes_in(), 1u);
    }
    EXPECT_EQ(clients, 1);
    co_await tagged.close();
    co_await ch.close();
  });
}

TEST(Inspect, LoopbackOnlyUnlessAskedAndTheTokenIsChecked) {
  EXPECT_THROW(inspect::start({.address = "0.0.0.0:0"}), UsageError);
  auto inspection = inspect::start({.token = "t0k"});
  EXPECT_THROW(inspect::start(), UsageError);  // one at a time
  actio::run([&inspection]() -> Task<void> {
    auto ch = insecure_channel(inspection->target());
    v1::InspectorStub stub(ch);
    v1::SnapshotRequest request;
    auto err = co_await expect_rpc_error(stub.Snapshot(request));
    EXPECT_EQ(err.code(), StatusCode::UNAUTHENTICATED);
    Metadata auth{{"authorization", "Bearer t0k"}};
    auto snap = co_await stub.Snapshot(request, {.metadata = auth});
    EXPECT_GT(snap.pid(), 0);
    co_await ch.close();
  }());
  inspection->stop();
  auto again = inspect::start();  // stopped: can start again
  EXPECT_GT(again->port(), 0);
}

/// Makes `ch` (to a dead port, `target`) try to connect until
/// TRANSIENT_FAILURE, then checks that the inspection at `inspection`
/// recorded CONNECTING and then TRANSIENT_FAILURE in its history.
Task<void> expect_failure_steps_in_history(Channel& ch, const std::string& target, const std::string& inspection) {
  auto state = ch.get_state(true);
  for (int i = 0; i < 20 && state != ChannelConnectivity::TRANSIENT_FAILURE; ++i) {
    state = co_await wait_for(ch.wait_for_state_change(state), 10s);
  }
  CO_ASSERT_EQ(state, ChannelConnectivity::TRANSIENT_FAILURE);
  auto ich = insecure_channel(inspection);
  v1::InspectorStub stub(ich);
  v1::Snapshot snap = co_await stub.Snapshot(v1::SnapshotRequest());
  std::vector<std::string> steps;
  for (const auto& e : snap.endpoints()) {
    if (e.kind() != v1::CHANNEL || e.target() != target) continue;
    for (const auto& h : e.history()) steps.push_back(h.state());
  }
  auto connecting = std::find(steps.begin(), steps.end(), "CONNECTING");
  EXPECT_TRUE(connecting != steps.end()) << ::testing::PrintToString(steps);
  EXPECT_TRUE(std::find(connecting, steps.end(), "TRANSIENT_FAILURE") != steps.end())
      << ::testing::PrintToString(steps);
  co_await ich.close();
}

TEST(Inspect, AChannelReportsEachConnectivityChangeWhenItHappens) {
  // A channel to a dead port goes IDLE -> CONNECTING -> TRANSIENT_FAILURE in
  // milliseconds; a Snapshot taken afterwards has each step in the history,
  // in order, not only the state it finds.
  auto inspection = inspect::start();
  actio::run([&inspection]() -> Task<void> {
    auto probe = server();
    int dead = probe.add_insecure_port("127.0.0.1:0");  // checked and released: nobody listens
    std::string target = "127.0.0.1:" + std::to_string(dead);
    auto ch = insecure_channel(target);
    co_await expect_failure_steps_in_history(ch, target, inspection->target());
    co_await ch.close();
  }());
}

TEST(Inspect, AChannelMadeBeforeInspectionStartedReportsItsChangesToo) {
  // The channel exists first; inspection starts (from another thread, as
  // an API call or ACTIO_INSPECT would) while the loop runs; then the
  // channel tries its dead port: both steps are in the history.
  actio::run([]() -> Task<void> {
    auto probe = server();
    int dead = probe.add_insecure_port("127.0.0.1:0");  // checked and released: nobody listens
    std::string target = "127.0.0.1:" + std::to_string(dead);
    auto ch = insecure_channel(target);
    std::unique_ptr<inspect::Inspection> inspection;
    std::atomic<bool> started{false};
    std::thread starter([&inspection, &started] {
      inspection = inspect::start();
      started = true;
    });
    for (int i = 0; i < 1000 && !started; ++i) co_await sleep(5ms);  // the loop runs meanwhile
    starter.join();
    co_await sleep(20ms);  // the posted start has run
    CO_ASSERT_TRUE(started);
    co_await expect_failure_steps_in_history(ch, target, inspection->target());
    co_await ch.close();
  }());
}

TEST(Inspect, LoopbackMeansTheLoopbackAddressesNotNamesThatLookLikeThem) {
  for (const char* yes : {"127.0.0.1:0", "127.0.0.2:7777", "127.255.0.1:1", "localhost:7777", "[::1]:7777"})
    EXPECT_TRUE(inspect::is_loopback_address(yes)) << yes;
  for (const char* no : {"127.evil.example:80", "0.0.0.0:0", "10.0.0.1:7777", "[::]:7777", "128.0.0.1:1",
                         "localhost.example:1", "[::ffff:10.0.0.1]:1", ""})
    EXPECT_FALSE(inspect::is_loopback_address(no)) << no;
  EXPECT_THROW(inspect::start({.address = "127.evil.example:0"}), UsageError);
  // Another 127/8 address is served, and target() names it.
  auto inspection = inspect::start({.address = "127.0.0.2:0"});
  EXPECT_EQ(inspection->target(), "127.0.0.2:" + std::to_string(inspection->port()));
  actio::run([&inspection]() -> Task<void> {
    auto ch = insecure_channel(inspection->target());
    v1::InspectorStub stub(ch);
    v1::SnapshotRequest request;
    auto snap = co_await stub.Snapshot(request);
    EXPECT_EQ(snap.pid(), getpid());
    co_await ch.close();
  }());
}

TEST(Inspect, TheEnvironmentSaysEverythingOptionsDo) {
  struct Env {
    ~Env() {
      for (const char* k : {"ACTIO_INSPECT", "ACTIO_INSPECT_TOKEN", "ACTIO_INSPECT_ALLOW_REMOTE",
                            "ACTIO_INSPECT_RECENT", "ACTIO_INSPECT_SHOW_KEYS"})
        ::unsetenv(k);
    }
  } restore;
  ::unsetenv("ACTIO_INSPECT");
  EXPECT_FALSE(inspect::options_from_environment().has_value());
  ::setenv("ACTIO_INSPECT", "0.0.0.0:7777", 1);
  ::setenv("ACTIO_INSPECT_TOKEN", "t", 1);
  ::setenv("ACTIO_INSPECT_ALLOW_REMOTE", "1", 1);
  ::setenv("ACTIO_INSPECT_RECENT", "1000", 1);
  ::setenv("ACTIO_INSPECT_SHOW_KEYS", "cookie,,x-trace-bin", 1);
  auto o = inspect::options_from_environment();
  ASSERT_TRUE(o.has_value());
  EXPECT_EQ(o->address, "0.0.0.0:7777");
  EXPECT_EQ(o->token, "t");
  EXPECT_TRUE(o->allow_non_loopback);
  EXPECT_EQ(o->recent_calls, 1000u);
  EXPECT_EQ(o->show_keys, (std::vector<std::string>{"cookie", "x-trace-bin"}));
  for (const char* bad : {"0", "-3", "12abc", "99999999999"}) {
    ::setenv("ACTIO_INSPECT_RECENT", bad, 1);
    EXPECT_THROW(inspect::options_from_environment(), UsageError) << bad;
  }
  ::setenv("ACTIO_INSPECT_RECENT", "5", 1);
  ::setenv("ACTIO_INSPECT_ALLOW_REMOTE", "yes", 1);
  EXPECT_THROW(inspect::options_from_environment(), UsageError);
}

/// A throwaway self-signed certificate for localhost (openssl at test time):
/// (private key, certificate) in PEM.
std::pair<std::string, std::string> throwaway_certificate() {
  std::string dir = ::testing::TempDir() + "actio_inspect_tls_" + std::to_string(getpid());
  std::string script = "set -e; mkdir -p " + dir + "; cd " + dir +
                       "; openssl req -x509 -newkey rsa:2048 -nodes -keyout key.pem -out cert.pem -days 1"
                       " -subj '/CN=localhost' 2>/dev/null";
  if (std::system(("bash -c \"" + script + "\"").c_str()) != 0) throw std::runtime_error("openssl failed");
  auto slurp = [](const std::string& path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  };
  std::pair<std::string, std::string> out{slurp(dir + "/key.pem"), slurp(dir + "/cert.pem")};
  std::system(("rm -rf " + dir).c_str());
  return out;
}

TEST(Inspect, AServerSaysWhichOfItsPortsUseTls) {
  auto [key, cert] = throwaway_certificate();
  auto inspection = inspect::start();
  actio::run([&inspection, &key, &cert]() -> Task<void> {
    auto srv = server();
    srv.add_generic_rpc_handlers({method_handlers_generic_handler("test.Svc", {{"Echo", echo()}})});
    int plain = srv.add_insecure_port("127.0.0.1:0");
    int secure = srv.add_secure_port("127.0.0.1:0", ssl_server_credentials({{key, cert}}));
    co_await srv.start();
    auto ch = insecure_channel(inspection->target());
    v1::InspectorStub stub(ch);
    v1::SnapshotRequest request;
    v1::Snapshot snap = co_await stub.Snapshot(request);
    std::string addresses = "127.0.0.1:" + std::to_string(plain) + ",127.0.0.1:" + std::to_string(secure);
    int seen = 0;
    for (const auto& e : snap.endpoints()) {
      if (e.kind() != v1::SERVER_ENDPOINT || e.target() != addresses) continue;
      ++seen;
      EXPECT_EQ(std::vector<std::string>(e.tls_addresses().begin(), e.tls_addresses().end()),
                (std::vector<std::string>{"127.0.0.1:" + std::to_string(secure)}));
    }
    EXPECT_EQ(seen, 1);
    // The inspection port itself is plaintext.
    for (const auto& e : snap.endpoints()) {
      if (e.kind() == v1::SERVER_ENDPOINT && e.target() == inspection->target()) {
        EXPECT_EQ(e.tls_addresses_size(), 0);
      }
    }
    co_await ch.close();
    co_await srv.stop(0s);
  }());
}

}  // namespace
