// The inspection registry (see detail/registry.hpp for the cost model).
#include "detail/registry.hpp"

#include <grpcpp/channel.h>

#include <algorithm>
#include <deque>
#include <unordered_map>

namespace actio::detail::inspect {

void flush_summaries(bool at_shutdown);

namespace {

// Read by every event: globals (constant-initialized), so the test whether
// anyone watches is one relaxed load, with no guard of a function's static.
constinit std::atomic<int> g_watchers{0};
constinit std::atomic<int> g_message_watchers{0};  // watchers that want per-message events

struct Registry {
  std::atomic<bool> on{false};
  std::atomic<std::uint32_t> max_rate{0};  // calls per second and loop sent one by one; 0: all
  std::atomic<std::uint64_t> watchers_epoch{0};  // changes with the watchers: the buckets start full again
  std::atomic<std::uint64_t> next_id{1};
  std::atomic<std::uint64_t> seq{0};
  std::atomic<int> snapshots{0};  // being assembled: summaries wait
  // Held while an event takes its seq and goes into the watchers' buffers:
  // every watcher gets the events in seq order.
  std::mutex publish_mu;

  std::atomic<std::uint64_t> session{0};
  std::atomic<std::size_t> recent_capacity{256};

  std::mutex mu;  // guards the rest
  // Finished calls of loops whose thread has exited, oldest end first.
  std::deque<std::shared_ptr<CallRecord>> ended_loops;
  std::unordered_map<std::uint64_t, std::weak_ptr<EndpointRecord>> endpoints;
  std::vector<std::shared_ptr<Watcher>> watchers;
  std::uint64_t dropped_gone = 0;  // dropped by watchers that have left
  // What publishers read without the mutex: replaced whenever `watchers` changes.
  std::atomic<std::shared_ptr<const std::vector<std::shared_ptr<Watcher>>>> published;
  void republish() {
    published.store(std::make_shared<const std::vector<std::shared_ptr<Watcher>>>(watchers));
    g_watchers.store(static_cast<int>(watchers.size()), std::memory_order_relaxed);
    int detailed = 0;
    std::uint32_t rate = 0;
    bool every_call = false;  // one watcher wants every call: no summaries
    for (const auto& w : watchers) {
      detailed += w->calls_only() ? 0 : 1;
      rate = std::max(rate, w->max_calls_per_second());
      every_call = every_call || w->max_calls_per_second() == 0;
    }
    if (every_call) rate = 0;
    g_message_watchers.store(detailed, std::memory_order_relaxed);
    max_rate.store(rate, std::memory_order_relaxed);
    watchers_epoch.fetch_add(1, std::memory_order_relaxed);
  }
};

Registry& reg() {
  static Registry* r = new Registry();  // never destroyed: hooks may run during exit
  return *r;
}

/// One loop's calls (thread-local: only its loop touches it).
struct LoopTable {
  std::vector<std::shared_ptr<CallRecord>> live;   // in no order; a record knows its index
  std::deque<std::shared_ptr<CallRecord>> recent;  // finished, oldest first
  // Records that left the ring with nobody else holding them: the next calls
  // reuse them, and their strings' and vectors' memory.
  std::vector<std::shared_ptr<CallRecord>> spare;
  ~LoopTable();  // at thread exit: its finished calls go on showing (ended_loops_calls)
};
constexpr std::size_t kSpareRecords = 64;
LoopTable& table() {
  thread_local LoopTable t;
  return t;
}

constexpr std::size_t kHistory = 32;

/// A token bucket (per loop): `rate` calls per second, bursts of up to
/// `rate`; full again whenever the watchers change.
struct Bucket {
  double tokens = 0;
  double last = 0;
  std::uint64_t epoch = 0;  // 0: not used yet
  bool take(double t, double rate) noexcept {
    std::uint64_t current = reg().watchers_epoch.load(std::memory_order_relaxed);
    if (epoch != current) {
      epoch = current;
      tokens = rate;
    } else {
      tokens = std::min(rate, tokens + std::max(0.0, t - last) * rate);
    }
    last = t;
    if (tokens < 1) return false;
    tokens -= 1;
    return true;
  }
};

struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};

/// One loop's summarizing state (thread-local, like its calls).
struct LoopSummaries {
  Bucket calls;   // calls sent one by one
  Bucket failed;  // summarized calls that failed, sent one by one at their end
  // Per method: one summary per side and endpoint.
  std::unordered_map<std::string, std::vector<SummaryView>, StringHash, std::equal_to<>> by_method;
  // The loop whose shutdown flushes what is left (a loop that ends, e.g. a
  // client's actio::run, would take its last summaries with it).
  EventLoop* hooked = nullptr;
  // The summary the last call went to (the next is often of the same
  // method: no hash of its name). Reset whenever a vector of by_method grows.
  SummaryView* last = nullptr;
  // Counts the flushes that sent something: a finished summarized call
  // whose summary_round is the current one is not sent yet.
  std::uint64_t round = 1;
};
LoopSummaries& summaries() {
  thread_local LoopSummaries s;
  return s;
}

/// Serializes the event `ref` describes for every watcher (only when someone
/// watches); `detail` events (messages, headers, half-close) only for the
/// watchers that did not ask for calls only. Watchers with the same encoder
/// and head size share one serialization.
[[gnu::noinline]] void publish_to_watchers(EventRef ref, bool detail) {
  auto& r = reg();
  auto targets = r.published.load();
  if (!targets || targets->empty()) return;
  ref.time = now();
  // Serialized without its seq (outside the lock); append() puts the seq in
  // front, under the lock. Usually one watcher, so one serialization.
  thread_local std::vector<std::string> bytes;
  bytes.resize(targets->size());
  const EventEncoder* encoded_by = nullptr;
  std::size_t encoded_head = 0, last = 0;
  for (std::size_t i = 0; i < targets->size(); ++i) {
    const auto& w = (*targets)[i];
    if (detail && w->calls_only()) continue;
    if (encoded_by != &w->encoder() || encoded_head != w->head_bytes()) {
      last = i;
      bytes[i].clear();
      w->encoder().encode(ref, w->head_bytes(), bytes[i]);
      encoded_by = &w->encoder();
      encoded_head = w->head_bytes();
    } else if (i != last) {
      bytes[i] = bytes[last];
    }
  }
  std::lock_guard<std::mutex> lock(r.publish_mu);
  std::uint64_t seq = r.seq.fetch_add(1, std::memory_order_relaxed) + 1;
  if (ref.call) ref.call->last_event_seq = seq;
  for (std::size_t i = 0; i < targets->size(); ++i) {
    const auto& w = (*targets)[i];
    if (!detail || !w->calls_only()) w->append(seq, bytes[i]);
  }
}

/// With nobody watching (the common case) an event costs this test only.
inline void publish(EventRef ref, bool detail = false) {
  if (ref.call && ref.call->summarized) return;
  if ((detail ? g_message_watchers : g_watchers).load(std::memory_order_relaxed) == 0) return;
  publish_to_watchers(ref, detail);
}

void publish_endpoint(const EndpointRecord& e) {
  if (g_watchers.load(std::memory_order_relaxed) == 0) return;
  EndpointView v = view(e);
  EventRef ref;
  ref.kind = EventRef::Kind::endpoint;
  ref.endpoint = &v;
  publish(ref);
}

EventRef call_event(EventRef::Kind kind, const CallRecord& r) {
  EventRef e;
  e.kind = kind;
  e.call = &r;
  return e;
}

/// A summarized call from now on sent one by one: a "started" event with
/// its state so far (loop thread).
void promote(CallRecord& r) {
  r.summarized = false;
  publish(call_event(EventRef::Kind::started, r));
}

/// Counts a finished summarized call in its loop's summary.
void summarize(CallRecord& r) {
  auto& state = summaries();
  r.summary_round = state.round;
  if (EventLoop* loop = EventLoop::current(); loop && state.hooked != loop) {
    state.hooked = loop;
    loop->add_shutdown_hook([] {
      summaries().hooked = nullptr;
      flush_summaries(true);
    });
  }
  std::uint64_t endpoint_id = r.endpoint ? r.endpoint->id : 0;
  SummaryView* s = state.last;
  if (!s || s->side != r.side || s->endpoint_id != endpoint_id || s->method != r.method) {
    auto& by_method = state.by_method;
    auto it = by_method.find(std::string_view(r.method));
    if (it == by_method.end()) it = by_method.emplace(r.method, std::vector<SummaryView>{}).first;
    s = nullptr;
    for (auto& candidate : it->second) {
      if (candidate.side == r.side && candidate.endpoint_id == endpoint_id) s = &candidate;
    }
    if (!s) {
      s = &it->second.emplace_back();  // may move the others: `last` is this one now
      s->method = r.method;
      s->side = r.side;
      s->endpoint_id = endpoint_id;
      s->loop = r.loop;
      s->latency.assign(std::size(kLatencyBounds) + 1, 0);
    }
    state.last = s;
  }
  ++s->calls;
  s->messages_in += r.messages_in;
  s->messages_out += r.messages_out;
  s->bytes_in += r.bytes_in;
  s->bytes_out += r.bytes_out;
  auto code = std::find_if(s->codes.begin(), s->codes.end(), [&](const auto& c) { return c.first == r.code; });
  if (code == s->codes.end()) {
    s->codes.emplace_back(r.code, 1);
  } else {
    ++code->second;
  }
  double latency = r.end_time - r.start_time;
  ++s->latency[static_cast<std::size_t>(std::upper_bound(std::begin(kLatencyBounds), std::end(kLatencyBounds), latency) -
                                        std::begin(kLatencyBounds))];
}

std::size_t varint_size(std::uint64_t v) {
  std::size_t n = 1;
  for (; v >= 0x80; v >>= 7) ++n;
  return n;
}

}  // namespace

const char* channel_state_name(grpc_connectivity_state s) {
  switch (s) {
    case GRPC_CHANNEL_IDLE: return "IDLE";
    case GRPC_CHANNEL_CONNECTING: return "CONNECTING";
    case GRPC_CHANNEL_READY: return "READY";
    case GRPC_CHANNEL_TRANSIENT_FAILURE: return "TRANSIENT_FAILURE";
    case GRPC_CHANNEL_SHUTDOWN: return "SHUTDOWN";
  }
  return "UNKNOWN";
}

std::size_t append_head(std::string& out, const grpc::ByteBuffer& bytes, std::size_t n) {
  if (n == 0 || !bytes.Valid()) return 0;
  thread_local std::vector<grpc::Slice> slices;  // its capacity is reused, message after message
  slices.clear();
  if (!bytes.Dump(&slices).ok()) return 0;
  std::size_t appended = 0;
  for (const auto& s : slices) {
    std::size_t take = std::min(n - appended, s.size());
    out.append(reinterpret_cast<const char*>(s.begin()), take);
    appended += take;
    if (appended == n) break;
  }
  slices.clear();  // the slices' references go now, not with the next message
  return appended;
}

bool enabled() noexcept { return reg().on.load(std::memory_order_relaxed); }

double now() noexcept {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

CallView view(const CallRecord& r) {
  CallView v;
  v.id = r.id;
  v.side = r.side;
  v.shape = r.shape;
  v.method = r.method;
  v.peer = r.peer;
  v.endpoint_id = r.endpoint ? r.endpoint->id : 0;
  v.loop = r.loop;
  v.start_time = r.start_time;
  v.deadline = r.deadline;
  v.invocation_metadata = r.invocation_metadata;
  v.messages_in = r.messages_in;
  v.messages_out = r.messages_out;
  v.bytes_in = r.bytes_in;
  v.bytes_out = r.bytes_out;
  v.last_event_seq = r.last_event_seq;
  v.initial_metadata = r.initial_metadata;
  v.trailing_metadata = r.trailing_metadata;
  v.half_closed = r.half_closed;
  v.done = r.done;
  v.code = r.code;
  v.details = r.details;
  v.cancelled_by = r.cancelled_by;
  v.end_time = r.end_time;
  v.interceptors = r.interceptors;
  return v;
}

EndpointView view(const EndpointRecord& r) {
  EndpointView v;
  v.id = r.id;
  v.kind = r.kind;
  v.target = r.target;
  v.loop = r.loop;
  v.calls_started = r.calls_started.load(std::memory_order_relaxed);
  v.calls_ok = r.calls_ok.load(std::memory_order_relaxed);
  v.calls_failed = r.calls_failed.load(std::memory_order_relaxed);
  v.calls_active = static_cast<std::uint64_t>(std::max<std::int64_t>(0, r.calls_active.load(std::memory_order_relaxed)));
  std::lock_guard<std::mutex> lock(r.mu);
  v.state = r.state;
  v.history = r.history;
  v.services = r.services;
  v.tls_addresses = r.tls_addresses;
  return v;
}

// -- watchers ----------------------------------------------------------------------

void Watcher::append(std::uint64_t seq, std::string_view event) {
  // The wake is posted under the lock: once close() returned (the watch
  // ended, on its loop), no publisher can still be posting to that loop.
  std::lock_guard<std::mutex> lock(mu_);
  if (closed_) return;
  if (buffer_.size() + event.size() > kMaxBytes) {
    dropped_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  buffer_.push_back('\x0a');  // EventBatch.events (field 1, length-delimited)
  put_varint(buffer_, 1 + varint_size(seq) + event.size());
  buffer_.push_back('\x08');  // Event.seq (field 1, varint), then the rest
  put_varint(buffer_, seq);
  buffer_.append(event);
  ++events_;
  if (max_calls_per_second_ == 0 && !std::exchange(wake_posted_, true)) {
    // One wake per batch; the closure keeps the watcher alive.
    loop_->post([self = shared_from_this()] { self->ready_.set(); });
  }
}

void Watcher::close() {
  std::lock_guard<std::mutex> lock(mu_);
  closed_ = true;
  buffer_.clear();
  buffer_.shrink_to_fit();
  events_ = 0;
}

std::string Watcher::take(std::size_t& events, std::string reuse) {
  reuse.clear();
  std::lock_guard<std::mutex> lock(mu_);
  wake_posted_ = false;
  ready_.clear();
  events = std::exchange(events_, 0);
  std::swap(reuse, buffer_);
  return reuse;
}

std::shared_ptr<Watcher> add_watcher(EventLoop& loop, std::shared_ptr<const EventEncoder> encoder,
                                     std::size_t head_bytes, bool calls_only, std::uint32_t max_calls_per_second) {
  auto w = std::make_shared<Watcher>(loop, std::move(encoder), std::min<std::size_t>(head_bytes, 4096), calls_only,
                                     max_calls_per_second);
  auto& r = reg();
  std::lock_guard<std::mutex> lock(r.mu);
  r.watchers.push_back(w);
  r.republish();
  return w;
}

void remove_watcher(const std::shared_ptr<Watcher>& watcher) {
  auto& r = reg();
  std::lock_guard<std::mutex> lock(r.mu);
  auto it = std::find(r.watchers.begin(), r.watchers.end(), watcher);
  if (it == r.watchers.end()) return;
  r.dropped_gone += watcher->dropped();
  watcher->close();
  r.watchers.erase(it);
  r.republish();
}

// -- on / off, snapshot ---------------------------------------------------------------

void enable(std::size_t recent_calls) {
  auto& r = reg();
  r.recent_capacity.store(recent_calls, std::memory_order_relaxed);
  r.session.fetch_add(1, std::memory_order_relaxed);  // earlier sessions' records are not shown
  r.on.store(true, std::memory_order_relaxed);
}

std::size_t recent_capacity() noexcept { return reg().recent_capacity.load(std::memory_order_relaxed); }

LoopCalls local_calls(bool copy_calls) {
  auto& t = table();
  auto session = reg().session.load(std::memory_order_relaxed);
  LoopCalls out;
  if (copy_calls) out.live.reserve(t.live.size());
  for (const auto& rec : t.live) {
    if (rec->session != session) continue;
    ++out.live_count;
    if (!copy_calls) continue;
    out.live.push_back(view(*rec));
    // The snapshot shows it, so its watchers must see it end.
    if (rec->summarized) promote(*rec);
  }
  if (!copy_calls) return out;
  auto round = summaries().round;
  for (const auto& rec : t.recent) {
    if (rec->session != session) continue;
    out.recent.push_back(view(*rec));
    out.recent.back().in_later_summary = rec->summarized && rec->summary_round == round;
  }
  return out;
}

LoopTable::~LoopTable() {
  if (recent.empty()) return;
  auto& r = reg();
  std::lock_guard lock(r.mu);
  for (auto& rec : recent) r.ended_loops.push_back(std::move(rec));
  std::stable_sort(r.ended_loops.begin(), r.ended_loops.end(),
                   [](const auto& a, const auto& b) { return a->end_time < b->end_time; });
  std::size_t keep = recent_capacity();
  while (r.ended_loops.size() > keep) r.ended_loops.pop_front();
}

std::vector<CallView> ended_loops_calls() {
  auto& r = reg();
  auto session = r.session.load(std::memory_order_relaxed);
  std::vector<CallView> out;
  std::lock_guard lock(r.mu);
  for (const auto& rec : r.ended_loops)  // nobody changes these any more: their loop is gone
    if (rec->session == session) out.push_back(view(*rec));
  return out;
}

void disable() { reg().on.store(false, std::memory_order_relaxed); }

std::uint32_t max_calls_per_second() noexcept { return reg().max_rate.load(std::memory_order_relaxed); }

void snapshot_started() noexcept { reg().snapshots.fetch_add(1, std::memory_order_acq_rel); }
void snapshot_ended() noexcept { reg().snapshots.fetch_sub(1, std::memory_order_acq_rel); }

void flush_summaries() { flush_summaries(false); }

void flush_summaries(bool at_shutdown) {
  if (!at_shutdown && reg().snapshots.load(std::memory_order_acquire) > 0) return;  // the next flush sends it
  double t = now();
  auto session = reg().session.load(std::memory_order_relaxed);
  for (auto& rec : table().live) {
    if (rec->summarized && rec->session == session && t - rec->start_time >= kPromoteAfter) promote(*rec);
  }
  auto& by_method = summaries().by_method;
  bool sent = false;
  for (auto& [method, list] : by_method) {
    for (auto& s : list) {
      if (s.calls == 0) continue;
      EventRef ref;
      ref.kind = EventRef::Kind::summary;
      ref.summary = &s;
      publish(ref);
      s.calls = s.messages_in = s.messages_out = s.bytes_in = s.bytes_out = 0;
      s.codes.clear();
      std::fill(s.latency.begin(), s.latency.end(), 0);
      sent = true;
    }
  }
  if (sent) ++summaries().round;
  if (by_method.size() > 1024) {  // many one-off method names: start afresh
    by_method.clear();
    summaries().last = nullptr;
  }
}

std::uint64_t last_seq() noexcept { return reg().seq.load(std::memory_order_relaxed); }

Snapshot snapshot() {
  auto& r = reg();
  Snapshot s;
  std::vector<std::shared_ptr<EndpointRecord>> endpoints;
  {
    std::lock_guard<std::mutex> lock(r.mu);
    for (auto it = r.endpoints.begin(); it != r.endpoints.end();) {
      if (auto e = it->second.lock()) {
        endpoints.push_back(std::move(e));
        ++it;
      } else {
        it = r.endpoints.erase(it);
      }
    }
    s.dropped = r.dropped_gone;
    for (const auto& w : r.watchers) s.dropped += w->dropped();
  }
  s.time = now();
  for (const auto& e : endpoints) {
    std::shared_ptr<grpc::Channel> ch;
    {
      std::lock_guard<std::mutex> lock(e->mu);
      ch = e->channel;
    }
    if (ch) endpoint_state(*e, channel_state_name(ch->GetState(false)));  // thread-safe in gRPC
  }
  for (const auto& e : endpoints) s.endpoints.push_back(view(*e));
  std::sort(s.endpoints.begin(), s.endpoints.end(),
            [](const EndpointView& a, const EndpointView& b) { return a.id < b.id; });
  return s;
}

// -- endpoints --------------------------------------------------------------------------

std::shared_ptr<EndpointRecord> endpoint_added(EndpointRecord::Kind kind, std::string target, std::uint32_t loop,
                                               std::shared_ptr<grpc::Channel> channel) {
  // Made whether or not inspection is on (once per channel or server): one
  // started later lists the endpoints that exist already.
  auto& r = reg();
  auto e = std::make_shared<EndpointRecord>();
  e->id = r.next_id.fetch_add(1, std::memory_order_relaxed);
  e->kind = kind;
  e->target = std::move(target);
  e->loop = loop;
  e->channel = std::move(channel);
  {
    std::lock_guard<std::mutex> lock(r.mu);
    r.endpoints[e->id] = e;
  }
  publish_endpoint(*e);
  return e;
}

void endpoint_state(EndpointRecord& e, std::string state) {
  {
    std::lock_guard<std::mutex> lock(e.mu);
    if (e.state == state) return;
    e.state = state;
    e.history.emplace_back(now(), std::move(state));
    if (e.history.size() > kHistory) e.history.erase(e.history.begin());
  }
  publish_endpoint(e);
}

void endpoint_removed(const std::shared_ptr<EndpointRecord>& e) {
  if (!e) return;
  {
    std::lock_guard<std::mutex> lock(e->mu);
    e->channel.reset();
  }
  endpoint_state(*e, e->kind == EndpointRecord::Kind::channel ? "SHUTDOWN" : "stopped");
  auto& r = reg();
  std::lock_guard<std::mutex> lock(r.mu);
  r.endpoints.erase(e->id);
}

// -- calls --------------------------------------------------------------------------------

namespace {
/// A spare record as new, its memory kept: every field is either set by
/// call_started or cleared here.
void reuse(CallRecord& c) {
  c.summarized = false;
  c.summary_round = 0;
  c.messages_in = c.messages_out = c.bytes_in = c.bytes_out = 0;
  c.initial_metadata = Metadata{};
  c.trailing_metadata = Metadata{};
  c.half_closed = c.done = false;
  c.code = StatusCode::OK;
  c.details.clear();
  c.cancelled_by.clear();
  c.end_time = 0;
  c.interceptors.clear();
}
}  // namespace

namespace {
template <class FillMetadata>
std::shared_ptr<CallRecord> start(Side side, Shape shape, std::string_view method, std::string_view peer,
                                  std::shared_ptr<EndpointRecord> endpoint, std::uint32_t loop, double deadline,
                                  const FillMetadata& fill_metadata) {
  auto& r = reg();
  if (!r.on.load(std::memory_order_relaxed)) return nullptr;
  auto& t = table();
  std::shared_ptr<CallRecord> c;
  if (t.spare.empty()) {
    c = std::make_shared<CallRecord>();
  } else {
    c = std::move(t.spare.back());
    t.spare.pop_back();
    reuse(*c);
  }
  c->id = r.next_id.fetch_add(1, std::memory_order_relaxed);
  c->side = side;
  c->shape = shape;
  // A reused record mostly had the same method and peer (one connection's
  // calls to one method): comparing is cheaper than assigning again.
  if (c->method != method) c->method.assign(method);
  if (c->peer != peer) c->peer.assign(peer);
  c->endpoint = std::move(endpoint);
  c->loop = loop;
  c->start_time = now();
  c->deadline = deadline;
  fill_metadata(c->invocation_metadata);
  c->session = r.session.load(std::memory_order_relaxed);
  if (std::uint32_t rate = r.max_rate.load(std::memory_order_relaxed)) {
    c->summarized = !summaries().calls.take(c->start_time, rate);
  }
  if (c->endpoint) {
    c->endpoint->calls_started.fetch_add(1, std::memory_order_relaxed);
    c->endpoint->calls_active.fetch_add(1, std::memory_order_relaxed);
  }
  c->live_index = t.live.size();
  t.live.push_back(c);
  publish(call_event(EventRef::Kind::started, *c));
  return c;
}
}  // namespace

std::shared_ptr<CallRecord> call_started(Side side, Shape shape, std::string_view method, std::string_view peer,
                                         std::shared_ptr<EndpointRecord> endpoint, std::uint32_t loop,
                                         double deadline, const Metadata& invocation_metadata) {
  return start(side, shape, method, peer, std::move(endpoint), loop, deadline,
               [&](Metadata& md) { md = invocation_metadata; });
}

std::shared_ptr<CallRecord> call_started(Side side, Shape shape, std::string_view method, std::string_view peer,
                                         std::shared_ptr<EndpointRecord> endpoint, std::uint32_t loop,
                                         double deadline, const WireMetadata& invocation_metadata) {
  return start(side, shape, method, peer, std::move(endpoint), loop, deadline,
               [&](Metadata& md) { md.assign_unchecked(invocation_metadata); });
}

void message(CallRecord& r, bool in, const grpc::ByteBuffer& bytes) {
  std::size_t size = bytes.Valid() ? bytes.Length() : 0;
  ++(in ? r.messages_in : r.messages_out);
  (in ? r.bytes_in : r.bytes_out) += size;
  auto e = call_event(in ? EventRef::Kind::message_in : EventRef::Kind::message_out, r);
  e.message = &bytes;
  e.size = static_cast<std::uint32_t>(size);
  publish(e, true);
}

void headers(CallRecord& r, const Metadata& metadata) {
  r.initial_metadata = metadata;
  publish(call_event(EventRef::Kind::headers, r), true);
}

void half_closed(CallRecord& r) {
  if (r.half_closed) return;
  r.half_closed = true;
  publish(call_event(EventRef::Kind::half_closed, r), true);
}

void interceptors(CallRecord& r, std::vector<InterceptorRecord> steps) {
  r.interceptors = std::move(steps);
  publish(call_event(EventRef::Kind::interceptors, r));
}

void finished(CallRecord& r, StatusCode code, const std::string& details, const Metadata& trailing,
              const char* cancelled_by) {
  if (r.done) return;
  if (r.summarized) {
    // Sent one by one after all when nobody wants summaries any more, or
    // when it failed (within the failed calls' own rate).
    std::uint32_t rate = reg().max_rate.load(std::memory_order_relaxed);
    if (rate == 0 || (code != StatusCode::OK && summaries().failed.take(now(), rate))) promote(r);
  }
  r.done = true;
  r.code = code;
  r.details = details;
  r.trailing_metadata = trailing;
  if (cancelled_by) r.cancelled_by = cancelled_by;  // (empty since call_started)
  r.end_time = now();
  if (r.endpoint) {
    (code == StatusCode::OK ? r.endpoint->calls_ok : r.endpoint->calls_failed).fetch_add(1, std::memory_order_relaxed);
    r.endpoint->calls_active.fetch_sub(1, std::memory_order_relaxed);
  }
  auto& t = table();
  if (r.live_index < t.live.size() && t.live[r.live_index].get() == &r) {
    std::shared_ptr<CallRecord> rec = std::move(t.live[r.live_index]);
    if (r.live_index + 1 != t.live.size()) {  // the last one takes its place
      t.live[r.live_index] = std::move(t.live.back());
      t.live[r.live_index]->live_index = r.live_index;
    }
    t.live.pop_back();
    // The record itself moves to the ring: no copy. The one it pushes out
    // is reused if its call is gone.
    std::size_t capacity = recent_capacity();
    if (capacity > 0) {
      while (t.recent.size() >= capacity) {
        if (t.recent.front().use_count() == 1 && t.spare.size() < kSpareRecords) {
          t.spare.push_back(std::move(t.recent.front()));
        }
        t.recent.pop_front();
      }
      t.recent.push_back(std::move(rec));
    }
  }
  if (r.summarized) {
    summarize(r);
  } else {
    publish(call_event(EventRef::Kind::status, r));
  }
}

}  // namespace actio::detail::inspect
