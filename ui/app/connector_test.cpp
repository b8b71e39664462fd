// The Connector against the fake Inspector server (a child process): attach,
// a queue that overflows while the UI does not drain (pause) ends in a fresh
// snapshot, and so does a watch that lost events (a seq gap, or dropped_events:
// against a scripted Inspector of the test's own); resync() takes one too,
// stop() returns promptly; reflection that
// the process does not serve is reported; invocations with raw bytes, of
// every shape, plaintext, TLS and mutual TLS (against an Actio server of the
// test's own, with throwaway certificates made by openssl at test time); a
// recording started mid-session replays on its own.
#include "connector.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <future>
#include <iostream>
#include <map>
#include <regex>
#include <sstream>
#include <set>
#include <string>
#include <thread>

#include "actio/aio.hpp"
#include "actio/inspect.hpp"
#include "actio/status.hpp"
#include "inspect.actio.h"
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

/// A method's aggregates over its client and server rows (a process that
/// both calls and serves it).
MethodStats both_sides(const Model& m, const std::string& method) {
  MethodStats out;
  for (const auto& row : m.method_stats())
    if (row.method == method) out.merge(row.stats);
  return out;
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
  // The fresh session's calls, and the ones that follow it (a slow build,
  // ASan's, may take its snapshot before the seventh).
  EXPECT_TRUE(drain_until(connector, model, [](const Model& m) { return m.call_count() >= 7u; }, 3000ms))
      << model.call_count() << " calls";
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

namespace {

namespace v1 = actio::inspect::v1;

/// What the first watch of a ScriptedInspector loses after events 11
/// (call 2 starts) and 12 (a message of call 2).
enum class Lose {
  nothing,  // then a stale event (9) and 13: nothing lost
  gap,      // then 14: 13 was never sent
  dropped,  // the batch of 12 says the process dropped 2 events for this watcher (no gap shows)
  dropped_every_watch,  // dropped, and so on every later watch too
};

/// An Inspector of the test's own, on a thread of its own: Snapshot (seq 10,
/// call 1 live) and Watch, whose first watch loses events as `lose` says;
/// later watches send nothing (but with dropped_every_watch).
class ScriptedInspector {
 public:
  explicit ScriptedInspector(Lose lose) : lose_(lose) {
    auto port = std::make_shared<std::promise<int>>();
    auto got = port->get_future();
    thread_ = std::thread([this, port] {
      try {
        actio::run(serve(this, port));
      } catch (...) {
        try {
          port->set_exception(std::current_exception());
        } catch (...) {
        }
      }
    });
    if (got.wait_for(30s) != std::future_status::ready) {
      stop_ = true;
      thread_.join();
      throw std::runtime_error("the scripted inspector did not start");
    }
    try {
      target_ = "127.0.0.1:" + std::to_string(got.get());
    } catch (...) {
      thread_.join();
      throw;
    }
  }
  ~ScriptedInspector() {
    stop_ = true;
    thread_.join();
  }
  const std::string& target() const { return target_; }
  int watches() const { return watches_.load(); }

 private:
  static v1::Event event(std::uint64_t seq, std::uint64_t call_id) {
    v1::Event e;
    e.set_seq(seq);
    e.set_time(unix_now());
    e.set_call_id(call_id);
    return e;
  }
  static v1::Event message_in(std::uint64_t seq) {
    v1::Event e = event(seq, 2);
    e.mutable_message_in()->set_size(8);
    return e;
  }

  class Servicer final : public v1::InspectorServicer {
   public:
    explicit Servicer(ScriptedInspector* self) : self_(self) {}
    actio::Task<v1::Snapshot> Snapshot(const v1::SnapshotRequest&, actio::ServicerContext&) override {
      v1::Snapshot s;
      s.set_seq(10);
      s.set_time(unix_now());
      s.set_pid(4242);
      s.set_process("scripted");
      v1::Call* c = s.add_live_calls();
      c->set_id(1);
      c->set_side(v1::SERVER);
      c->set_method("/a.S/M");
      c->set_start_time(unix_now());
      co_return s;
    }
    actio::Task<void> Watch(const v1::WatchRequest&, actio::ServicerContext& context) override {
      if (++self_->watches_ == 1 || self_->lose_ == Lose::dropped_every_watch) {
        v1::EventBatch first;
        v1::Event start = event(11, 2);
        v1::Call* c = start.mutable_started();
        c->set_id(2);
        c->set_side(v1::SERVER);
        c->set_method("/a.S/M");
        c->set_start_time(unix_now());
        *first.add_events() = start;
        co_await context.write(first);
        v1::EventBatch second;
        *second.add_events() = message_in(12);
        switch (self_->lose_) {
          case Lose::nothing:
            *second.add_events() = message_in(9);
            *second.add_events() = message_in(13);
            break;
          case Lose::gap: *second.add_events() = message_in(14); break;
          case Lose::dropped:
          case Lose::dropped_every_watch: second.set_dropped_events(2); break;
        }
        co_await context.write(second);
      }
      while (!self_->stop_) co_await actio::sleep(10ms);
    }

   private:
    ScriptedInspector* self_;
  };

  static actio::Task<void> serve(ScriptedInspector* self, std::shared_ptr<std::promise<int>> port) {
    auto srv = actio::server();
    v1::add_InspectorServicer_to_server(std::make_shared<Servicer>(self), srv);
    int bound = srv.add_insecure_port("127.0.0.1:0");
    co_await srv.start();
    port->set_value(bound);
    for (int i = 0; i < 6000 && !self->stop_; ++i) co_await actio::sleep(10ms);  // at most a minute
    co_await srv.stop(0s);
  }

  Lose lose_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<int> watches_{0};
  std::string target_;
};

}  // namespace

TEST(Connector, AWatchThatLostEventsEndsInAFreshSnapshot) {
  // A seq gap, or a batch counting events the process dropped for this
  // watcher: the model would keep calls whose end never comes. The target
  // resyncs: a new watch and snapshot.
  for (Lose lose : {Lose::gap, Lose::dropped}) {
    SCOPED_TRACE(lose == Lose::gap ? "a gap" : "dropped events");
    ScriptedInspector inspector(lose);
    Model model;
    model.add_target(inspector.target());
    Connector connector({inspector.target()}, {.refresh_interval = actio::Duration(0), .reflection = false});
    EXPECT_TRUE(drain_until(
        connector, model, [](const Model& m) { return attached_in_session(m, 2); }, 5000ms))
        << "sessions: " << model.target(0).sessions << ", last seq " << model.target(0).last_seq;
    EXPECT_EQ(inspector.watches(), 2);
    EXPECT_EQ(model.target(0).missed_events, 0u);  // what follows a gap waits for the fresh snapshot
  }
}

TEST(Connector, AWatchThatLosesEventsAgainAndAgainResyncsOncePerInterval) {
  ScriptedInspector inspector(Lose::dropped_every_watch);
  Model model;
  model.add_target(inspector.target());
  ConnectorOptions options;
  options.refresh_interval = actio::Duration(0);
  options.reflection = false;
  options.min_resync_interval = std::chrono::milliseconds(500);
  Connector connector({inspector.target()}, options);
  ASSERT_TRUE(drain_until(
      connector, model, [](const Model& m) { return m.target(0).sessions >= 2; }, 5000ms));
  auto t0 = std::chrono::steady_clock::now();
  int before = inspector.watches();
  drain_until(connector, model, [](const Model&) { return false; }, 1200ms);
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  // One resync per 0.5 s (not one per snapshot's round trip), and still resyncing.
  int resyncs = inspector.watches() - before;
  EXPECT_GE(resyncs, 1);
  EXPECT_LE(resyncs, static_cast<int>(seconds / 0.5) + 1);
}

TEST(Connector, AWatchThatLostNothingStaysOn) {
  ScriptedInspector inspector(Lose::nothing);
  Model model;
  model.add_target(inspector.target());
  Connector connector({inspector.target()}, {.refresh_interval = actio::Duration(0), .reflection = false});
  ASSERT_TRUE(drain_until(
      connector, model, [](const Model& m) { return m.target(0).last_seq == 13; }, 5000ms));
  drain_until(connector, model, [](const Model&) { return false; }, 300ms);
  EXPECT_TRUE(attached_in_session(model, 1));  // a stale event is no loss
  EXPECT_EQ(model.target(0).stale_events, 1u);
  EXPECT_EQ(inspector.watches(), 1);
  EXPECT_EQ(model.find({0, 2})->messages_in, 2u);
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

/// An invocation's updates: the replies that came one by one, then the result.
struct Outcome {
  std::vector<std::string> replies;
  InvocationResult result;
  bool replies_before_result = true;
};

/// Collects invocation updates until `n` invocations ended (or `timeout`), by id.
std::map<std::uint64_t, Outcome> outcomes(Connector& c, std::size_t n, std::chrono::milliseconds timeout) {
  std::map<std::uint64_t, Outcome> out;
  std::set<std::uint64_t> ended;
  auto end = std::chrono::steady_clock::now() + timeout;
  while (ended.size() < n && std::chrono::steady_clock::now() < end) {
    for (auto& u : c.take()) {
      if (auto* r = std::get_if<InvocationReply>(&u.what)) {
        if (ended.count(r->id)) out[r->id].replies_before_result = false;
        out[r->id].replies.push_back(std::move(r->bytes));
      } else if (auto* res = std::get_if<InvocationResult>(&u.what)) {
        ended.insert(res->id);
        out[res->id].result = std::move(*res);
      }
    }
    std::this_thread::sleep_for(5ms);
  }
  return out;
}

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

/// Throwaway certificates in a temporary directory (openssl at test time;
/// removed at exit): a CA, a server certificate for "localhost" only (so
/// calling 127.0.0.1 needs the authority), a client certificate, another CA,
/// and files that are not PEM or not valid PEM.
struct Certs {
  std::string dir;
  Certs() {
    char tmpl[] = "/tmp/actio_inspector_tls_XXXXXX";
    if (!mkdtemp(tmpl)) throw std::runtime_error("mkdtemp");
    dir = tmpl;
    std::string script =
        "set -e; cd " + dir +
        "; openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 1 -subj '/CN=Inspector Test CA'"
        "; openssl req -x509 -newkey rsa:2048 -nodes -keyout other_ca.key -out other_ca.pem -days 1 -subj '/CN=Other CA'"
        "; openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj '/CN=localhost'"
        "; echo 'subjectAltName=DNS:localhost' > server.ext"
        "; openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 1"
        " -extfile server.ext"
        "; openssl req -newkey rsa:2048 -nodes -keyout client.key -out client.csr -subj '/CN=inspector-client'"
        "; echo 'subjectAltName=DNS:inspector-client' > client.ext"
        "; openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out client.pem -days 1"
        " -extfile client.ext"
        "; echo 'not a certificate' > garbage.pem"
        "; printf -- '-----BEGIN CERTIFICATE-----\\nAAAAnotbase64@@@@\\n-----END CERTIFICATE-----\\n' > corrupt.pem";
    if (std::system(("bash -c \"" + script + "\" >/dev/null 2>&1").c_str()) != 0)
      throw std::runtime_error("openssl failed");
  }
  ~Certs() { std::system(("rm -rf " + dir).c_str()); }
  std::string path(const char* name) const { return dir + "/" + name; }
};

const Certs& certs() {
  static const Certs c;
  return c;
}

/// An Actio server on a thread of its own, on a plaintext, a TLS and a
/// mutual-TLS port: /test.Svc/Concat (client streaming: the requests joined
/// by "+"), /test.Svc/Echo (bidi: each request back, with "!"), /test.Svc/Who
/// (unary: the transport security and the client's identity).
class TestServer {
 public:
  TestServer() {
    auto ports = std::make_shared<std::promise<std::array<int, 3>>>();
    auto got = ports->get_future();
    thread_ = std::thread([this, ports] {
      try {
        actio::run(serve(this, ports));
      } catch (...) {
        try {
          ports->set_exception(std::current_exception());
        } catch (...) {
        }
      }
    });
    if (got.wait_for(30s) != std::future_status::ready) {
      stop_ = true;
      thread_.join();
      throw std::runtime_error("the test server did not start");
    }
    std::array<int, 3> p{};
    try {
      p = got.get();
    } catch (...) {
      thread_.join();
      throw;
    }
    plain_ = "127.0.0.1:" + std::to_string(p[0]);
    tls_ = "127.0.0.1:" + std::to_string(p[1]);
    mtls_ = "127.0.0.1:" + std::to_string(p[2]);
  }
  ~TestServer() {
    stop_ = true;
    thread_.join();
  }
  const std::string& plain() const { return plain_; }
  const std::string& tls() const { return tls_; }
  const std::string& mtls() const { return mtls_; }

 private:
  static actio::Task<void> serve(TestServer* self, std::shared_ptr<std::promise<std::array<int, 3>>> ports) {
    using namespace actio;
    const Certs& c = certs();
    std::string key = slurp(c.path("server.key")), cert = slurp(c.path("server.pem")), ca = slurp(c.path("ca.pem"));
    auto concat = stream_unary_rpc_method_handler<std::string, std::string>(
        [](RequestStream<std::string>& requests, ServicerContext&) -> Task<std::string> {
          std::string out;
          while (auto r = co_await requests.read()) out += (out.empty() ? "" : "+") + *r;
          co_return out;
        });
    auto echo = stream_stream_rpc_method_handler<std::string, std::string>(
        [](RequestStream<std::string>& requests, ServicerContext& ctx) -> Task<void> {
          while (auto r = co_await requests.read()) co_await ctx.write(*r + "!");
        });
    auto who = unary_unary_rpc_method_handler<std::string, std::string>(
        [](const std::string&, ServicerContext& ctx) -> Task<std::string> {
          auto auth = ctx.auth_context();
          std::string out = auth["transport_security_type"].empty() ? "plain" : auth["transport_security_type"][0];
          for (const auto& id : ctx.peer_identities()) out += " id=" + id;
          co_return out;
        });
    std::map<std::string, RpcMethodHandler> methods{{"Concat", concat}, {"Echo", echo}, {"Who", who}};
    auto srv = server();
    srv.add_generic_rpc_handlers({method_handlers_generic_handler("test.Svc", methods)});
    std::array<int, 3> bound{};
    bound[0] = srv.add_insecure_port("127.0.0.1:0");
    std::vector<std::pair<std::string, std::string>> pairs{{key, cert}};
    bound[1] = srv.add_secure_port("127.0.0.1:0", ssl_server_credentials(pairs));
    bound[2] = srv.add_secure_port("127.0.0.1:0", ssl_server_credentials(pairs, ca, true));
    co_await srv.start();
    ports->set_value(bound);
    for (int i = 0; i < 6000 && !self->stop_; ++i) co_await actio::sleep(10ms);  // at most a minute
    co_await srv.stop(0s);
  }

  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::string plain_, tls_, mtls_;
};

OutgoingCall call_of(std::uint64_t id, const std::string& address, const std::string& method,
                     std::vector<std::string> requests, bool server_streaming, InvokeSecurity security = {}) {
  OutgoingCall call{id, 0, address, method, requests.empty() ? "" : requests.front(), server_streaming, 5};
  call.client_streaming = method != "/test.Svc/Who";
  if (call.client_streaming) call.requests = std::move(requests);
  call.security = std::move(security);
  return call;
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

  // A stream that does not end: its replies as they come, and the deadline.
  actio::inspect::v1::WatchRequest watch;
  connector.invoke({2, 0, server.target(), "/actio.inspect.v1.Inspector/Watch", watch.SerializeAsString(), true, 0.5});
  auto streaming = outcomes(connector, 1, 5000ms);
  ASSERT_EQ(streaming.count(2), 1u);
  EXPECT_EQ(streaming[2].result.code, static_cast<int>(actio::StatusCode::DEADLINE_EXCEEDED));
  EXPECT_TRUE(streaming[2].result.replies.empty());  // each came as an InvocationReply, before the end
  EXPECT_GE(streaming[2].replies.size(), 1u);

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

TEST(Connector, InvokesClientStreamingAndBidiMethods) {
  TestServer server;
  Connector connector(std::vector<std::string>{});
  using actio::StatusCode;
  // Client streaming: every request, in order, then the half-close; the one reply.
  connector.invoke(call_of(1, server.plain(), "/test.Svc/Concat", {"a", "b", "c"}, false));
  // Bidi: each reply as it comes (queued before the end), in order.
  connector.invoke(call_of(2, server.plain(), "/test.Svc/Echo", {"x", "y", "z"}, true));
  // No requests at all: the stream is half-closed at once.
  connector.invoke(call_of(3, server.plain(), "/test.Svc/Concat", {}, false));
  connector.invoke(call_of(4, server.plain(), "/test.Svc/Echo", {}, true));
  auto got = outcomes(connector, 4, 10000ms);
  ASSERT_EQ(got.size(), 4u);
  EXPECT_EQ(got[1].result.code, 0) << got[1].result.details;
  EXPECT_EQ(got[1].result.replies, std::vector<std::string>{"a+b+c"});
  EXPECT_EQ(got[1].result.sent, 3u);
  EXPECT_EQ(got[2].result.code, 0) << got[2].result.details;
  EXPECT_EQ(got[2].replies, (std::vector<std::string>{"x!", "y!", "z!"}));
  EXPECT_TRUE(got[2].replies_before_result);
  EXPECT_TRUE(got[2].result.replies.empty());
  EXPECT_EQ(got[2].result.sent, 3u);
  EXPECT_EQ(got[3].result.code, 0) << got[3].result.details;
  EXPECT_EQ(got[3].result.replies, std::vector<std::string>{""});
  EXPECT_EQ(got[4].result.code, 0) << got[4].result.details;
  EXPECT_TRUE(got[4].replies.empty());
  // A streaming call to a method the server does not have: its status.
  connector.invoke(call_of(5, server.plain(), "/test.Svc/Nope", {"a"}, true));
  got = outcomes(connector, 1, 10000ms);
  EXPECT_EQ(got[5].result.code, static_cast<int>(StatusCode::UNIMPLEMENTED));
}

TEST(Connector, InvokesOverTlsAndMutualTls) {
  TestServer server;
  const Certs& c = certs();
  Connector connector(std::vector<std::string>{});
  using actio::StatusCode;
  InvokeSecurity tls{true, c.path("ca.pem"), "", "", "localhost"};
  InvokeSecurity mtls{true, c.path("ca.pem"), c.path("client.pem"), c.path("client.key"), "localhost"};
  connector.invoke(call_of(1, server.tls(), "/test.Svc/Who", {""}, false, tls));
  connector.invoke(call_of(2, server.mtls(), "/test.Svc/Who", {""}, false, mtls));
  connector.invoke(call_of(3, server.tls(), "/test.Svc/Echo", {"p", "q"}, true, tls));
  connector.invoke(call_of(4, server.mtls(), "/test.Svc/Concat", {"m", "n"}, false, mtls));
  auto got = outcomes(connector, 4, 15000ms);
  ASSERT_EQ(got.size(), 4u);
  EXPECT_EQ(got[1].result.code, 0) << got[1].result.details;
  EXPECT_EQ(got[1].result.replies, std::vector<std::string>{"ssl"});
  EXPECT_EQ(got[2].result.code, 0) << got[2].result.details;
  EXPECT_EQ(got[2].result.replies, std::vector<std::string>{"ssl id=inspector-client"});
  EXPECT_EQ(got[3].replies, (std::vector<std::string>{"p!", "q!"}));
  EXPECT_EQ(got[4].result.replies, std::vector<std::string>{"m+n"});

  auto expect_failure = [&](std::uint64_t id, const std::string& address, InvokeSecurity security, StatusCode code,
                            const std::string& says) {
    connector.invoke(call_of(id, address, "/test.Svc/Who", {""}, false, std::move(security)));
    auto one = outcomes(connector, 1, 15000ms);
    ASSERT_EQ(one.count(id), 1u) << "no outcome for " << id;
    EXPECT_EQ(one[id].result.code, static_cast<int>(code)) << id << ": " << one[id].result.details;
    EXPECT_NE(one[id].result.details.find(says), std::string::npos) << id << ": " << one[id].result.details;
  };
  // The wrong CA, the certificate's name not given, no client certificate
  // for mutual TLS, plaintext to a TLS port: UNAVAILABLE (with what to check, over TLS).
  expect_failure(10, server.tls(), {true, c.path("other_ca.pem"), "", "", "localhost"}, StatusCode::UNAVAILABLE,
                 "over TLS to " + server.tls() + " as localhost, roots: " + c.path("other_ca.pem"));
  expect_failure(11, server.tls(), {true, c.path("ca.pem"), "", "", ""}, StatusCode::UNAVAILABLE, "over TLS");
  expect_failure(12, server.mtls(), tls, StatusCode::UNAVAILABLE, "no client certificate");
  expect_failure(13, server.tls(), {}, StatusCode::UNAVAILABLE, "");
  // Files that cannot be used: a clear INVALID_ARGUMENT, nothing sent.
  expect_failure(20, server.tls(), {true, c.path("missing.pem"), "", "", "localhost"}, StatusCode::INVALID_ARGUMENT,
                 "cannot read the CA (root certificates) file " + c.path("missing.pem"));
  expect_failure(21, server.tls(), {true, c.path("garbage.pem"), "", "", "localhost"}, StatusCode::INVALID_ARGUMENT,
                 "is not a PEM certificate");
  expect_failure(22, server.mtls(), {true, c.path("ca.pem"), c.path("client.pem"), "", "localhost"},
                 StatusCode::INVALID_ARGUMENT, "mutual TLS needs both the client certificate and its private key");
  expect_failure(23, server.mtls(), {true, c.path("ca.pem"), c.path("client.pem"), c.path("client.pem"), "localhost"},
                 StatusCode::INVALID_ARGUMENT, "is not a PEM private key");
  // PEM armour around bytes that are not a certificate; a certificate that is not the key's.
  expect_failure(24, server.tls(), {true, c.path("corrupt.pem"), "", "", "localhost"}, StatusCode::INVALID_ARGUMENT,
                 "the CA (root certificates) file " + c.path("corrupt.pem") + " is not a PEM certificate");
  expect_failure(25, server.mtls(), {true, c.path("ca.pem"), c.path("client.pem"), c.path("server.key"), "localhost"},
                 StatusCode::INVALID_ARGUMENT,
                 "the client certificate " + c.path("client.pem") + " is not the one of the key " +
                     c.path("server.key"));
}

TEST(Connector, PastItsRateAProcessOnlyCountsCallsAndTheModelStillHasThemAll) {
  // This process, inspected, serving /test.Svc/Who; the connector asks for
  // one call per second and loop one by one: a burst of 40 calls comes
  // mostly as summaries, and the method's stats count all of them.
  auto inspection = actio::inspect::start();
  TestServer server;
  Model model;
  model.add_target(inspection->target());
  ConnectorOptions options;
  options.max_calls_per_second = 1;
  Connector connector({inspection->target()}, options);
  ASSERT_TRUE(drain_until(
      connector, model, [](const Model& m) { return m.target(0).connection == Connection::attached; }, 5000ms));
  constexpr int kCalls = 40;
  std::thread client([&server] {
    actio::run([](std::string target) -> actio::Task<void> {
      auto ch = actio::insecure_channel(target);
      auto who = ch.unary_unary<std::string, std::string>("/test.Svc/Who");
      for (int i = 0; i < kCalls; ++i) EXPECT_EQ(co_await who("?"), "insecure");
      co_await ch.close();
    }(server.plain()));
  });
  client.join();
  // Both sides of each call (the client's loop and the server's), a row each.
  ASSERT_TRUE(drain_until(
      connector, model, [](const Model& m) { return both_sides(m, "/test.Svc/Who").finished() == 2u * kCalls; },
      5000ms))
      << "finished: " << both_sides(model, "/test.Svc/Who").finished();
  for (const auto& row : model.method_stats()) {
    if (row.method != "/test.Svc/Who") continue;
    EXPECT_TRUE(row.side == Side::client || row.side == Side::server);
    EXPECT_EQ(row.stats.finished(), std::uint64_t{kCalls}) << to_string(row.side);
  }
  const MethodStats s = both_sides(model, "/test.Svc/Who");
  EXPECT_EQ(s.started(), 2u * kCalls);
  EXPECT_EQ(s.failed(), 0u);
  EXPECT_GE(s.summarized(), std::uint64_t{kCalls});  // at least half: about one a second per loop comes one by one
  EXPECT_EQ(model.target(0).summarized_calls, s.summarized());
  std::size_t rows = 0;
  for (const CallRecord* c : model.rows()) rows += c->method == "/test.Svc/Who" ? 1 : 0;
  EXPECT_EQ(rows, 2u * kCalls - s.summarized());  // the table has the calls sent one by one
  connector.stop();
}

TEST(Connector, ASecondWatcherAttachingWhileCallsAreSummarizedCountsEachCallOnce) {
  // Past the rate, finished calls wait in their loop's summary (sent every
  // 100 ms); a snapshot copies them from the ring meanwhile. The copy and the
  // summary that follows it must not both count a call: a second inspector
  // attaching in the middle of a run of calls ends with the same statistics
  // as the first.
  auto inspection = actio::inspect::start();
  TestServer server;
  ConnectorOptions options;
  options.max_calls_per_second = 1;
  Model first_model, second_model;
  first_model.add_target(inspection->target());
  second_model.add_target(inspection->target());
  Connector first({inspection->target()}, options);
  ASSERT_TRUE(drain_until(
      first, first_model, [](const Model& m) { return m.target(0).connection == Connection::attached; }, 5000ms));
  constexpr int kCalls = 60;
  std::atomic<int> done{0};
  std::thread client([&server, &done] {
    actio::run([](std::string target, std::atomic<int>* done) -> actio::Task<void> {
      auto ch = actio::insecure_channel(target);
      auto who = ch.unary_unary<std::string, std::string>("/test.Svc/Who");
      for (int i = 0; i < kCalls; ++i) {
        EXPECT_EQ(co_await who("?"), "insecure");
        ++*done;
        co_await actio::sleep(5ms);
      }
      co_await ch.close();
    }(server.plain(), &done));
  });
  // The second attaches once a third of the calls are done, while the rest run.
  for (int i = 0; i < 500 && done.load() < kCalls / 3; ++i) std::this_thread::sleep_for(2ms);
  Connector second({inspection->target()}, options);
  bool attached = drain_until(
      second, second_model, [](const Model& m) { return m.target(0).connection == Connection::attached; }, 5000ms);
  client.join();
  ASSERT_TRUE(attached);
  auto finished = [](const Model& m) { return both_sides(m, "/test.Svc/Who").finished(); };
  // Both sides of each call (the client's loop and the server's).
  ASSERT_TRUE(drain_until(first, first_model, [&](const Model& m) { return finished(m) == 2u * kCalls; }, 5000ms))
      << "first: " << finished(first_model);
  ASSERT_TRUE(drain_until(second, second_model, [&](const Model& m) { return finished(m) >= 2u * kCalls; }, 5000ms))
      << "second: " << finished(second_model);
  // Two summary rounds later nothing more comes.
  drain_until(second, second_model, [](const Model&) { return false; }, 300ms);
  EXPECT_EQ(finished(second_model), 2u * kCalls) << "a call counted by both the snapshot and a summary";
  EXPECT_GT(second_model.target(0).summarized_calls, 0u) << "summaries came after the snapshot";
  first.stop();
  second.stop();
}
