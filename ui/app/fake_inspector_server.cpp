// A stand-in for a process with inspection on, for the inspector's end-to-end
// test until the real actio.inspect.v1 service lands: an Actio server whose
// Inspector answers canned data.
//
// Snapshot (seq 10): live calls 1-3, finished calls 4-6, a server, a channel
// and three loops. Watch: events 9 (older than the snapshot: must be
// ignored) and 11-16 (a message in, call 7 starts, gets headers and ends OK,
// a message out, the channel changes state); then the stream stays open.
// With --churn N it also starts and ends N calls a second (for trying the
// app by hand).
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <iostream>

#include "actio/aio.hpp"
#include "inspect.actio.h"

namespace v1 = actio::inspect::v1;
using namespace std::chrono_literals;

namespace {

double unix_now() { return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count(); }

void add_metadata(google::protobuf::RepeatedPtrField<v1::MetadataEntry>* md, const std::string& key,
                  const std::string& value, bool redacted = false) {
  auto* e = md->Add();
  e->set_key(key);
  e->set_value(value);
  e->set_redacted(redacted);
}

v1::Call call(std::uint64_t id, v1::Side side, v1::Shape shape, const std::string& method, double start) {
  v1::Call c;
  c.set_id(id);
  c.set_side(side);
  c.set_shape(shape);
  c.set_method(method);
  c.set_peer(side == v1::SERVER ? "ipv4:127.0.0.1:" + std::to_string(40000 + id) : "127.0.0.1:50052");
  c.set_endpoint_id(side == v1::SERVER ? 1 : 2);
  c.set_loop(side == v1::SERVER ? 1 + id % 2 : 0);
  c.set_start_time(start);
  return c;
}

void finish(v1::Call& c, int code, const std::string& details, double end, const std::string& cancelled_by = "") {
  c.set_done(true);
  c.set_code(code);
  c.set_details(details);
  c.set_end_time(end);
  c.set_cancelled_by(cancelled_by);
}

v1::Snapshot canned_snapshot() {
  double now = unix_now();
  v1::Snapshot s;
  s.set_seq(10);
  s.set_time(now);
  s.set_pid(static_cast<int>(getpid()));
  s.set_process("fake_inspector_server");

  auto hello = call(1, v1::SERVER, v1::UNARY_UNARY, "/helloworld.Greeter/SayHello", now - 0.8);
  hello.set_deadline(now + 4.2);
  add_metadata(hello.mutable_invocation_metadata(), "authorization", "<redacted 23 bytes>", true);
  add_metadata(hello.mutable_invocation_metadata(), "user-agent", "grpc-c++/1.51.1");
  add_metadata(hello.mutable_invocation_metadata(), "trace-bin", std::string("\x01\x02\xfe", 3));
  *s.add_live_calls() = hello;

  auto chat = call(2, v1::SERVER, v1::STREAM_STREAM, "/routeguide.RouteGuide/RouteChat", now - 2.5);
  chat.set_messages_in(3);
  chat.set_messages_out(2);
  chat.set_bytes_in(96);
  chat.set_bytes_out(64);
  add_metadata(chat.mutable_initial_metadata(), "x-served-by", "fake");
  auto* logging = chat.add_interceptors();
  logging->set_name("logging");
  logging->set_runs(1);
  logging->set_total_seconds(0.0021);
  logging->set_in_continuation_seconds(0.0019);
  logging->set_continuation_calls(1);
  auto* auth = chat.add_interceptors();
  auth->set_name("auth");
  auth->set_runs(1);
  auth->set_total_seconds(0.0012);
  auth->set_in_continuation_seconds(0.0010);
  auth->set_continuation_calls(1);
  auth->add_changes("metadata -authorization");
  *s.add_live_calls() = chat;

  auto features = call(3, v1::CLIENT, v1::UNARY_STREAM, "/routeguide.RouteGuide/ListFeatures", now - 0.3);
  features.set_half_closed(true);
  features.set_messages_in(5);
  features.set_deadline(now + 9.7);
  *s.add_live_calls() = features;

  auto ok = call(4, v1::SERVER, v1::UNARY_UNARY, "/helloworld.Greeter/SayHello", now - 3.0);
  finish(ok, 0, "", now - 2.998);
  *s.add_recent_calls() = ok;
  auto down = call(5, v1::CLIENT, v1::UNARY_UNARY, "/routeguide.RouteGuide/GetFeature", now - 2.0);
  finish(down, 14, "failed to connect to all addresses", now - 1.9);
  *s.add_recent_calls() = down;
  auto late = call(6, v1::SERVER, v1::UNARY_UNARY, "/helloworld.Greeter/SayHello", now - 1.5);
  late.set_deadline(now - 1.0);
  finish(late, 4, "Deadline Exceeded", now - 1.0, "deadline");
  *s.add_recent_calls() = late;

  auto* server = s.add_endpoints();
  server->set_id(1);
  server->set_kind(v1::SERVER_ENDPOINT);
  server->set_target("127.0.0.1:50051");
  server->set_state("running");
  server->set_calls_started(4);
  server->set_calls_ok(1);
  server->set_calls_failed(1);
  server->set_calls_active(2);
  server->add_services("helloworld.Greeter");
  server->add_services("routeguide.RouteGuide");
  auto* channel = s.add_endpoints();
  channel->set_id(2);
  channel->set_kind(v1::CHANNEL);
  channel->set_target("127.0.0.1:50052");
  channel->set_state("READY");
  channel->set_calls_started(2);
  channel->set_calls_failed(1);
  channel->set_calls_active(1);
  for (const char* state : {"IDLE", "CONNECTING", "READY"}) {
    auto* h = channel->add_history();
    h->set_time(now - 5);
    h->set_state(state);
  }
  const char* loops[] = {"main", "server-0", "server-1"};
  for (std::uint32_t i = 0; i < 3; ++i) {
    auto* l = s.add_loops();
    l->set_index(i);
    l->set_name(loops[i]);
    l->set_live_calls(1);
    l->set_pending_ops(i + 1);
  }
  return s;
}

v1::Event event(std::uint64_t seq, std::uint64_t call_id) {
  v1::Event e;
  e.set_seq(seq);
  e.set_time(unix_now());
  e.set_call_id(call_id);
  return e;
}

/// One event as the batch the Watch stream carries (the real service sends
/// whatever queued since its previous batch; one per batch here).
v1::EventBatch batch(const v1::Event& e) {
  v1::EventBatch b;
  *b.add_events() = e;
  return b;
}

class FakeInspector final : public v1::InspectorServicer {
 public:
  explicit FakeInspector(int churn) : churn_(churn) {}
  std::uint64_t snapshots_ = 0;

  actio::Task<v1::Snapshot> Snapshot(const v1::SnapshotRequest& request, actio::ServicerContext&) override {
    v1::Snapshot s = canned_snapshot();
    // The loop's mailbox has handled one message per snapshot asked for: a
    // refresh (skip_calls) shows a newer figure than the first snapshot.
    auto* actor = s.mutable_loops(0)->add_actors();
    actor->set_id(42);
    actor->set_kind("mailbox");
    actor->set_name("room");
    actor->set_handled(++snapshots_);
    if (request.skip_calls()) {
      s.clear_live_calls();
      s.clear_recent_calls();
    }
    co_return s;
  }

  actio::Task<void> Watch(const v1::WatchRequest& request, actio::ServicerContext& context) override {
    std::string head = std::string(
                           "\x0a\x05"
                           "Hello",
                           7)
                           .substr(0, request.message_head_bytes());
    // 9: older than the snapshot (seq 10), so the inspector must ignore it.
    auto stale = event(9, 1);
    stale.mutable_status()->set_code(13);
    co_await context.write(batch(stale));
    auto in = event(11, 2);
    in.mutable_message_in()->set_size(32);
    in.mutable_message_in()->set_head(head);
    co_await context.write(batch(in));
    auto start = event(12, 7);
    *start.mutable_started() = call(7, v1::CLIENT, v1::UNARY_UNARY, "/helloworld.Greeter/SayHello", unix_now());
    co_await context.write(batch(start));
    auto headers = event(13, 7);
    add_metadata(headers.mutable_headers()->mutable_metadata(), "set-cookie", "<redacted 12 bytes>", true);
    co_await context.write(batch(headers));
    auto done = event(14, 7);
    done.mutable_status()->set_code(0);
    co_await context.write(batch(done));
    auto out = event(15, 2);
    out.mutable_message_out()->set_size(40);
    out.mutable_message_out()->set_head(head);
    co_await context.write(batch(out));
    auto state = event(16, 0);
    auto* channel = state.mutable_endpoint();
    channel->set_id(2);
    channel->set_kind(v1::CHANNEL);
    channel->set_target("127.0.0.1:50052");
    channel->set_state("IDLE");  // an endpoint event carries the endpoint's whole state
    channel->set_calls_started(3);
    channel->set_calls_ok(1);
    channel->set_calls_failed(1);
    channel->set_calls_active(1);
    co_await context.write(batch(state));

    // Then: quiet (the test's picture stays as described), or churn.
    std::uint64_t seq = 16, id = 100;
    for (;;) {
      if (churn_ <= 0) {
        co_await actio::sleep(1s);
        continue;
      }
      co_await actio::sleep(std::chrono::duration<double>(1.0 / churn_));
      auto begin = event(++seq, ++id);
      *begin.mutable_started() = call(id, v1::SERVER, v1::UNARY_UNARY, "/helloworld.Greeter/SayHello", unix_now());
      co_await context.write(batch(begin));
      if (id > 102) {  // end the call started two ticks ago
        auto end = event(++seq, id - 2);
        end.mutable_status()->set_code(id % 10 == 0 ? 14 : 0);
        co_await context.write(batch(end));
      }
    }
  }

 private:
  int churn_;
};

actio::Task<int> serve(int port, int churn) {
  auto server = actio::server();
  v1::add_InspectorServicer_to_server(std::make_shared<FakeInspector>(churn), server);
  int bound = server.add_insecure_port("127.0.0.1:" + std::to_string(port));
  co_await server.start();
  std::cout << "fake_inspector_server: listening on 127.0.0.1:" << bound << std::endl;
  co_await actio::serve_until_signal(server, 200ms);
  co_return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"A fake actio.inspect.v1 service with canned data"};
  int port = 0, churn = 0;
  app.add_option("--port", port, "port to listen on (0 picks a free one)");
  app.add_option("--churn", churn, "after the canned events, start and end this many calls a second");
  CLI11_PARSE(app, argc, argv);
  try {
    return actio::run(serve(port, churn));
  } catch (const std::exception& e) {
    std::cerr << "fake_inspector_server: " << e.what() << std::endl;
    return 1;
  }
}
