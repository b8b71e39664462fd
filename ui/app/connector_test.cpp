// The Connector against the fake Inspector server (a child process): attach,
// a queue that overflows while the UI does not drain (pause) ends in a fresh
// snapshot, resync() takes one too, stop() returns promptly; reflection that
// the process does not serve is reported; invocations with raw bytes; a
// recording started mid-session replays on its own.
#include "connector.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <functional>
#include <regex>
#include <set>
#include <string>
#include <thread>

#include "actio/status.hpp"
#include "recorder.hpp"

using namespace actio::inspector;
using namespace std::chrono_literals;

namespace {

/// fake_inspector_server --port 0 --churn N, as a child process.
class FakeServer {
 public:
  explicit FakeServer(int churn) {
    int fds[2];
    if (pipe(fds) != 0) throw std::runtime_error("pipe");
    pid_ = fork();
    if (pid_ == 0) {
      dup2(fds[1], 1);
      close(fds[0]);
      std::string rate = std::to_string(churn);
      execl(FAKE_INSPECTOR_SERVER, FAKE_INSPECTOR_SERVER, "--port", "0", "--churn", rate.c_str(), nullptr);
      _exit(127);
    }
    close(fds[1]);
    out_ = fdopen(fds[0], "r");
    char line[256];
    std::regex listening(R"(listening on (127\.0\.0\.1:\d+))");
    while (std::fgets(line, sizeof line, out_)) {
      std::cmatch m;
      if (std::regex_search(line, m, listening)) {
        target_ = m[1];
        break;
      }
    }
  }
  ~FakeServer() {
    kill(pid_, SIGTERM);
    waitpid(pid_, nullptr, 0);
    if (out_) std::fclose(out_);
  }
  const std::string& target() const { return target_; }

 private:
  pid_t pid_ = -1;
  FILE* out_ = nullptr;
  std::string target_;
};

/// Drains into `model` until `done(model)` or `timeout`.
bool drain_until(Connector& c, Model& m, std::function<bool(const Model&)> done, std::chrono::milliseconds timeout) {
  auto end = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < end) {
    c.drain(m);
    if (done(m)) return true;
    std::this_thread::sleep_for(5ms);
  }
  return false;
}

bool attached_in_session(const Model& m, std::uint64_t session) {
  const TargetInfo& t = m.target(0);
  return t.connection == Connection::attached && t.sessions == session;
}

}  // namespace

TEST(Connector, AttachesAndFollowsTheWatch) {
  FakeServer server(0);
  ASSERT_FALSE(server.target().empty());
  Model model;
  model.add_target(server.target());
  Connector connector({server.target()});
  ASSERT_TRUE(drain_until(
      connector, model, [](const Model& m) { return m.target(0).last_seq == 16; }, 5000ms));
  EXPECT_TRUE(attached_in_session(model, 1));
  EXPECT_EQ(model.call_count(), 7u);
  EXPECT_EQ(model.live_count(), 3u);
  EXPECT_EQ(model.target(0).stale_events, 1u);
  auto t0 = std::chrono::steady_clock::now();
  connector.stop();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s);
}

TEST(Connector, LoopsAndActorsAreRefreshedWhileAttached) {
  FakeServer server(0);
  Model model;
  model.add_target(server.target());
  Connector connector({server.target()}, {.refresh_interval = 100ms});
  auto handled = [](const Model& m) -> std::uint64_t {
    auto loops = m.loops();
    if (loops.empty() || loops[0]->actors.empty()) return 0;
    return loops[0]->actors[0].handled;
  };
  ASSERT_TRUE(drain_until(
      connector, model, [](const Model& m) { return attached_in_session(m, 1); }, 5000ms));
  std::uint64_t first = handled(model);
  EXPECT_GE(first, 1u);
  // Refreshes (no calls in them) bring newer loops; the calls stay.
  ASSERT_TRUE(drain_until(
      connector, model, [&](const Model& m) { return handled(m) >= first + 2; }, 3000ms));
  EXPECT_EQ(model.loops()[0]->actors[0].kind, "mailbox");
  EXPECT_GE(model.call_count(), 4u);
  EXPECT_EQ(model.target(0).sessions, 1u);
}

TEST(Connector, AnOverflowingQueueEndsInAFreshSnapshot) {
  FakeServer server(200);  // 200 calls a second: the queue fills while nobody drains
  Model model;
  model.add_target(server.target());
  Connector connector({server.target()}, {.max_waiting = 50});
  ASSERT_TRUE(drain_until(
      connector, model, [](const Model& m) { return attached_in_session(m, 1); }, 5000ms));
  std::this_thread::sleep_for(1s);  // paused: > 50 updates arrive
  EXPECT_EQ(connector.waiting(), 0u) << "the overflowing queue is dropped";
  EXPECT_EQ(connector.drain(model), 0u);  // ... and draining again asks for a resync
  ASSERT_TRUE(drain_until(
      connector, model, [](const Model& m) { return attached_in_session(m, 2); }, 3000ms));
  EXPECT_GE(model.call_count(), 7u);
}

TEST(Connector, ResyncTakesANewSnapshot) {
  FakeServer server(0);
  Model model;
  model.add_target(server.target());
  Connector connector({server.target()});
  ASSERT_TRUE(drain_until(
      connector, model, [](const Model& m) { return attached_in_session(m, 1); }, 5000ms));
  connector.resync();
  // The new watch's events may come a moment after the new snapshot: wait for both.
  ASSERT_TRUE(drain_until(
      connector, model, [](const Model& m) { return attached_in_session(m, 2) && m.call_count() == 7; }, 3000ms))
      << "calls: " << model.call_count();
  EXPECT_EQ(model.call_count(), 7u);
}

TEST(Connector, ReportsAnUnreachableTarget) {
  Model model;
  model.add_target("127.0.0.1:1");
  Connector connector({"127.0.0.1:1"}, {.snapshot_timeout = std::chrono::milliseconds(200)});
  ASSERT_TRUE(drain_until(
      connector, model, [](const Model& m) { return m.target(0).connection == Connection::lost; }, 3000ms));
  EXPECT_FALSE(model.target(0).last_error.empty());
  EXPECT_FALSE(model.target(0).has_snapshot);
}

namespace {
/// Takes updates until one of type T arrives (or `timeout`).
template <class T>
std::optional<T> take_until(Connector& c, std::chrono::milliseconds timeout) {
  auto end = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < end) {
    for (auto& u : c.take())
      if (auto* t = std::get_if<T>(&u.what)) return std::move(*t);
    std::this_thread::sleep_for(5ms);
  }
  return std::nullopt;
}
}  // namespace

TEST(Connector, ReportsThatTheProcessServesNoReflection) {
  FakeServer server(0);  // the fake answers Snapshot and Watch only
  Connector connector({server.target()});
  connector.describe(0, "some.Early");  // before the process is known: asked once it is
  // After the snapshot it asks about the services the fake names, and the early one.
  std::set<std::string> failed;
  auto end = std::chrono::steady_clock::now() + 5s;
  while (failed.size() < 3 && std::chrono::steady_clock::now() < end) {
    auto batch = take_until<Descriptors>(connector, 1000ms);
    if (!batch) continue;
    EXPECT_TRUE(batch->files.empty());
    EXPECT_TRUE(batch->described.empty());
    for (const auto& [symbol, why] : batch->failed) {
      EXPECT_NE(why.find("UNIMPLEMENTED"), std::string::npos) << why;
      failed.insert(symbol);
    }
  }
  EXPECT_EQ(failed, (std::set<std::string>{"helloworld.Greeter", "routeguide.RouteGuide", "some.Early"}));
  // Asked again on demand: a symbol not asked yet gets its answer too.
  connector.describe(0, "some.Other");
  auto again = take_until<Descriptors>(connector, 5000ms);
  ASSERT_TRUE(again.has_value());
  ASSERT_EQ(again->failed.size(), 1u);
  EXPECT_EQ(again->failed[0].first, "some.Other");
}

TEST(Connector, InvokesUnaryAndServerStreamingMethodsWithRawBytes) {
  FakeServer server(0);
  Connector connector({server.target()});
  actio::inspect::v1::SnapshotRequest request;
  connector.invoke(
      {1, 0, server.target(), "/actio.inspect.v1.Inspector/Snapshot", request.SerializeAsString(), false, 5});
  auto unary = take_until<InvocationResult>(connector, 5000ms);
  ASSERT_TRUE(unary.has_value());
  EXPECT_EQ(unary->id, 1u);
  EXPECT_EQ(unary->code, 0) << unary->details;
  ASSERT_EQ(unary->replies.size(), 1u);
  actio::inspect::v1::Snapshot snapshot;
  ASSERT_TRUE(snapshot.ParseFromString(unary->replies[0]));
  EXPECT_EQ(snapshot.live_calls_size() + snapshot.recent_calls_size(), 6);

  // A stream that does not end: its replies so far, and the deadline.
  actio::inspect::v1::WatchRequest watch;
  connector.invoke({2, 0, server.target(), "/actio.inspect.v1.Inspector/Watch", watch.SerializeAsString(), true, 0.5});
  auto streaming = take_until<InvocationResult>(connector, 5000ms);
  ASSERT_TRUE(streaming.has_value());
  EXPECT_EQ(streaming->id, 2u);
  EXPECT_EQ(streaming->code, static_cast<int>(actio::StatusCode::DEADLINE_EXCEEDED));
  EXPECT_GE(streaming->replies.size(), 1u);

  connector.invoke({3, 0, server.target(), "/no.Such/Method", "", false, 5});
  auto missing = take_until<InvocationResult>(connector, 5000ms);
  ASSERT_TRUE(missing.has_value());
  EXPECT_EQ(missing->code, static_cast<int>(actio::StatusCode::UNIMPLEMENTED));

  connector.stop();
  connector.invoke({4, 0, server.target(), "/actio.inspect.v1.Inspector/Snapshot", "", false, 5});
  auto stopped = take_until<InvocationResult>(connector, 1000ms);
  ASSERT_TRUE(stopped.has_value());
  EXPECT_EQ(stopped->code, static_cast<int>(actio::StatusCode::UNAVAILABLE));
}

TEST(Connector, ARecordingStartedMidSessionReplaysOnItsOwn) {
  FakeServer server(0);
  Model live;
  live.add_target(server.target());
  Connector connector({server.target()});
  std::string path = "/tmp/actio_connector_test_" + std::to_string(getpid()) + ".actiorec";
  Recorder recorder({server.target()}, path, 100);
  // What the app does each frame: record what arrived, then apply it.
  auto pump = [&](std::function<bool(const Model&)> done, std::chrono::milliseconds timeout) {
    auto end = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < end) {
      std::vector<Update> updates = connector.take();
      recorder.record(updates);
      for (auto& u : updates) apply(live, u);
      if (done(live)) return true;
      std::this_thread::sleep_for(5ms);
    }
    return false;
  };
  // Attached, every event seen, reflection answered (the fake serves none:
  // its two services are reported as failures) -- all before recording.
  ASSERT_TRUE(pump([](const Model& m) { return m.target(0).last_seq == 16 && m.schema(0).failures().size() >= 2; },
                   5000ms));
  // The toggle, mid-session: a fresh snapshot starts the file, the
  // process's reflection answers come right after it.
  ASSERT_TRUE(recorder.start(&connector));
  EXPECT_TRUE(recorder.writing());
  ASSERT_TRUE(pump([](const Model& m) { return attached_in_session(m, 2) && m.call_count() == 7; }, 3000ms));
  recorder.stop();
  EXPECT_FALSE(recorder.writing());
  EXPECT_EQ(recorder.message(), "recorded");

  Replayer replay(read_recording(path));
  std::remove(path.c_str());
  Model replayed;
  replay.add_targets(replayed);
  replay.feed(replayed, 0, 0);
  EXPECT_TRUE(attached_in_session(replayed, 1));
  EXPECT_EQ(replayed.target(0).pid, live.target(0).pid);
  EXPECT_EQ(replayed.call_count(), live.call_count());
  EXPECT_EQ(replayed.live_count(), live.live_count());
  std::set<std::pair<std::uint64_t, std::string>> live_calls, replayed_calls;
  for (const CallRecord* c : live.rows()) live_calls.emplace(c->key.id, std::string(c->state()));
  for (const CallRecord* c : replayed.rows()) replayed_calls.emplace(c->key.id, std::string(c->state()));
  EXPECT_EQ(replayed_calls, live_calls);
  EXPECT_FALSE(replayed.schema(0).failures().empty()) << "reflection's answers were written after the snapshot";
  EXPECT_EQ(replayed.schema(0).failures(), live.schema(0).failures());
}
