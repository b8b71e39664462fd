#include "connector.hpp"

#include <algorithm>
#include <mutex>
#include <optional>

#include "actio/aio.hpp"
#include "inspect.actio.h"

namespace actio::inspector {

namespace v1 = actio::inspect::v1;
using namespace std::chrono_literals;

void apply(Model& model, Update& u) {
  struct Visitor {
    Model& model;
    TargetId target;
    void operator()(Update::Connecting&) const { model.connecting(target); }
    void operator()(Update::Lost& lost) const { model.lost(target, std::move(lost.error)); }
    void operator()(v1::Snapshot& snapshot) const { model.ingest(target, snapshot); }
    void operator()(v1::Event& event) const { model.ingest(target, event); }
  };
  std::visit(Visitor{model, u.target}, u.what);
}

// -- what both threads share --------------------------------------------------

struct Connector::Shared {
  ConnectorOptions options;

  // Guarded by mu: the queue for the UI, and the loop while it may be used.
  mutable std::mutex mu;
  std::vector<Update> queue;
  bool overflowed = false;  // the queue was dropped: resync when the UI drains
  EventLoop* loop = nullptr;
  bool stopping = false;

  // Network thread only: each target's current watch and resync request.
  struct Session {
    std::optional<Call> watch;
    bool resync = false;
  };
  std::vector<Session> sessions;

  void push(TargetId target, decltype(Update::what) what) {
    std::lock_guard lock(mu);
    if (overflowed) return;
    if (queue.size() >= options.max_waiting) {
      overflowed = true;
      queue.clear();
      return;
    }
    queue.push_back({target, std::move(what)});
  }

  /// Runs `fn` on the network loop, if it still runs.
  void post(std::function<void()> fn) {
    std::lock_guard lock(mu);
    if (loop) loop->post(std::move(fn));
  }

  /// Network thread: every session drops its watch and starts again.
  void resync_all() {
    for (auto& s : sessions) {
      s.resync = true;
      if (s.watch) s.watch->cancel();
    }
  }
};

namespace {

using Shared = Connector::Shared;

std::string describe(const AioRpcError& e, bool attached) {
  if (!attached && e.code() == StatusCode::DEADLINE_EXCEEDED) return "not reachable (no connection within the timeout)";
  return std::string(to_string(e.code())) + ": " + e.details();
}

/// One target: watch + snapshot + events, again and again.
Task<void> watch_target(std::shared_ptr<Shared> shared, TargetId id, std::string address) {
  const ConnectorOptions& options = shared->options;
  ChannelOptions channel_options;
  // Reconnect fast: a restarted process is attached in well under a second.
  channel_options.args = {{"grpc.initial_reconnect_backoff_ms", 100},
                          {"grpc.min_reconnect_backoff_ms", 100},
                          {"grpc.max_reconnect_backoff_ms", 250}};
  Channel channel = insecure_channel(address, channel_options);
  v1::InspectorStub stub(channel);
  Metadata metadata;
  if (!options.token.empty()) metadata.add("authorization", "Bearer " + options.token);
  auto& session = shared->sessions[id];
  Duration backoff = options.backoff_min;
  bool announce = true;    // push Connecting: at first, and after being attached or a resync
  bool told_lost = false;  // the model was told Lost (with told_error) and nothing since
  std::string told_error;

  for (;;) {
    if (announce || session.resync) {
      shared->push(id, Update::Connecting{});
      told_lost = false;
    }
    announce = false;
    session.resync = false;
    bool attached = false;
    std::string error;
    try {
      v1::WatchRequest watch_request;
      watch_request.set_message_head_bytes(options.message_head_bytes);
      auto watch = stub.Watch(watch_request, {.metadata = metadata, .wait_for_ready = true});
      session.watch = watch;
      v1::SnapshotRequest snapshot_request;
      v1::Snapshot snapshot = co_await stub.Snapshot(
          snapshot_request, {.timeout = options.snapshot_timeout, .metadata = metadata, .wait_for_ready = true});
      shared->push(id, std::move(snapshot));
      attached = true;
      told_lost = false;
      backoff = options.backoff_min;
      for (;;) {
        std::optional<v1::EventBatch> batch = co_await watch.read();
        if (!batch) break;
        for (auto& event : *batch->mutable_events()) shared->push(id, std::move(event));
      }
      error = "the process ended the watch";
    } catch (const AioRpcError& e) {
      error = describe(e, attached);
    } catch (const CancelledError&) {
      if (!session.resync) throw;  // the connector stops
    }
    session.watch.reset();
    if (session.resync) continue;  // at once, announced as connecting
    // Report a loss once per change, not on every attempt while the process is away.
    if (!told_lost || error != told_error) {
      shared->push(id, Update::Lost{error});
      told_lost = true;
      told_error = error;
    }
    announce = attached;
    co_await actio::sleep(backoff);
    backoff = std::min<Duration>(backoff * 2, options.backoff_max);
  }
}

Task<int> watch_all(std::shared_ptr<Shared> shared, std::vector<std::string> targets) {
  {
    std::lock_guard lock(shared->mu);
    if (shared->stopping) co_return 0;
    shared->loop = &EventLoop::require("actio-inspector");
  }
  shared->sessions.resize(targets.size());
  std::vector<Task<void>> tasks;
  for (std::size_t i = 0; i < targets.size(); ++i)
    tasks.push_back(watch_target(shared, static_cast<TargetId>(i), targets[i]));
  std::exception_ptr failure;
  try {
    co_await gather(std::move(tasks));  // ends only when stopped (or a target task failed)
  } catch (...) {
    failure = std::current_exception();
  }
  {
    std::lock_guard lock(shared->mu);  // the loop goes away after this: no more posts
    shared->loop = nullptr;
  }
  if (failure) std::rethrow_exception(failure);
  co_return 0;
}

}  // namespace

// -- Connector ------------------------------------------------------------------

Connector::Connector(std::vector<std::string> targets, ConnectorOptions options) : shared_(std::make_shared<Shared>()) {
  shared_->options = options;
  thread_ = std::thread([shared = shared_, targets = std::move(targets)]() mutable {
    try {
      actio::run(watch_all(shared, targets));
    } catch (const CancelledError&) {
      // stop()
    } catch (const std::exception& e) {
      for (TargetId i = 0; i < targets.size(); ++i) shared->push(i, Update::Lost{e.what()});
    }
    std::lock_guard lock(shared->mu);
    shared->loop = nullptr;
  });
}

Connector::~Connector() { stop(); }

void Connector::stop() {
  {
    std::lock_guard lock(shared_->mu);
    shared_->stopping = true;
    // run() then cancels the clients and drains the loop before returning.
    if (shared_->loop) shared_->loop->stop();
    shared_->loop = nullptr;
  }
  if (thread_.joinable()) thread_.join();
}

std::vector<Update> Connector::take() {
  std::vector<Update> out;
  bool resync_now = false;
  {
    std::lock_guard lock(shared_->mu);
    out.swap(shared_->queue);
    resync_now = std::exchange(shared_->overflowed, false);
  }
  if (resync_now) resync();
  return out;
}

std::size_t Connector::drain(Model& model) {
  auto updates = take();
  for (auto& u : updates) apply(model, u);
  return updates.size();
}

std::size_t Connector::waiting() const {
  std::lock_guard lock(shared_->mu);
  return shared_->queue.size();
}

void Connector::resync() {
  shared_->post([shared = shared_] { shared->resync_all(); });
}

}  // namespace actio::inspector
