#include "model.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <deque>
#include <limits>
#include <optional>
#include <map>
#include <set>
#include <stdexcept>
#include <unordered_map>

#include <ext/pb_ds/assoc_container.hpp>
#include <ext/pb_ds/tree_policy.hpp>

#include "inspect.pb.h"

namespace actio::inspector {

namespace v1 = actio::inspect::v1;

// -- conversions from the wire -----------------------------------------------

namespace {

Side side_of(v1::Side side) {
  switch (side) {
    case v1::CLIENT: return Side::client;
    case v1::SERVER: return Side::server;
    default: return Side::unspecified;
  }
}

Shape shape_of(v1::Shape shape) {
  switch (shape) {
    case v1::UNARY_UNARY: return Shape::unary_unary;
    case v1::UNARY_STREAM: return Shape::unary_stream;
    case v1::STREAM_UNARY: return Shape::stream_unary;
    case v1::STREAM_STREAM: return Shape::stream_stream;
    default: return Shape::unspecified;
  }
}

EndpointKind kind_of(v1::EndpointKind kind) {
  switch (kind) {
    case v1::CHANNEL: return EndpointKind::channel;
    case v1::SERVER_ENDPOINT: return EndpointKind::server;
    default: return EndpointKind::unspecified;
  }
}

std::vector<Metadatum> metadata_of(const google::protobuf::RepeatedPtrField<v1::MetadataEntry>& entries) {
  std::vector<Metadatum> out;
  out.reserve(static_cast<std::size_t>(entries.size()));
  for (const auto& e : entries) out.push_back({e.key(), e.value(), e.redacted()});
  return out;
}

std::vector<InterceptorStepRecord> steps_of(const google::protobuf::RepeatedPtrField<v1::InterceptorStep>& steps) {
  std::vector<InterceptorStepRecord> out;
  for (const auto& s : steps) {
    out.push_back({s.name(), s.runs(), s.total_seconds(), s.in_continuation_seconds(), s.continuation_calls(),
                   std::vector<std::string>(s.changes().begin(), s.changes().end())});
  }
  return out;
}

CallRecord call_of(TargetId target, const v1::Call& c) {
  CallRecord r;
  r.key = {target, c.id()};
  r.side = side_of(c.side());
  r.shape = shape_of(c.shape());
  r.method = c.method();
  r.peer = c.peer();
  r.endpoint_id = c.endpoint_id();
  r.loop = c.loop();
  r.start_time = c.start_time();
  r.deadline = c.deadline();
  r.end_time = c.end_time();
  r.invocation_metadata = metadata_of(c.invocation_metadata());
  r.initial_metadata = metadata_of(c.initial_metadata());
  r.trailing_metadata = metadata_of(c.trailing_metadata());
  r.messages_in = c.messages_in();
  r.messages_out = c.messages_out();
  r.bytes_in = c.bytes_in();
  r.bytes_out = c.bytes_out();
  r.half_closed = c.half_closed();
  r.done = c.done();
  r.code = c.code();
  r.details = c.details();
  r.cancelled_by = c.cancelled_by();
  r.interceptors = steps_of(c.interceptors());
  r.counted_seq = c.last_event_seq();
  return r;
}

EndpointRecord endpoint_of(TargetId target, const v1::Endpoint& e) {
  EndpointRecord r;
  r.target_id = target;
  r.id = e.id();
  r.kind = kind_of(e.kind());
  r.target = e.target();
  r.loop = e.loop();
  r.state = e.state();
  r.calls_started = e.calls_started();
  r.calls_ok = e.calls_ok();
  r.calls_failed = e.calls_failed();
  r.calls_active = e.calls_active();
  for (const auto& h : e.history()) r.history.push_back({h.time(), h.state()});
  r.services.assign(e.services().begin(), e.services().end());
  r.tls_addresses.assign(e.tls_addresses().begin(), e.tls_addresses().end());
  return r;
}

LoopRecord loop_of(TargetId target, const v1::Loop& l) {
  LoopRecord r{target, l.index(), l.name(), l.ready_queue(), l.inbox(), l.live_calls(), l.pending_ops(), {}};
  for (const auto& a : l.actors()) r.actors.push_back({a.id(), a.kind(), a.name(), a.waiting(), a.handled()});
  return r;
}

}  // namespace

// -- per-process state -------------------------------------------------------

struct Model::TargetState {
  TargetId id = 0;
  TargetInfo info;
  std::unordered_map<std::uint64_t, CallRecord> calls;
  std::deque<std::uint64_t> finished;  // ids, in the order the calls ended
  std::size_t live = 0;
  std::map<std::uint32_t, std::size_t> live_on_loop;  // running calls by loop index
  std::map<std::uint64_t, EndpointRecord> endpoints;
  std::vector<LoopRecord> loops;
  std::map<std::pair<std::string, Side>, MethodStats> methods;  // by method and side
  std::deque<v1::Event> pending;  // events of this session that came before its snapshot
  bool awaiting_snapshot = true;
  Schema schema;  // from reflection; cleared when a snapshot comes from another pid

  void add_timeline(CallRecord& call, TimelineEntry entry, std::size_t limit) {
    if (limit > 1 && call.timeline.size() >= limit) {
      call.timeline.erase(call.timeline.begin() + 1);  // keep "started"
      ++call.timeline_dropped;
    }
    call.timeline.push_back(std::move(entry));
  }

  void started(const CallRecord& call) {
    ++live;
    ++live_on_loop[call.loop];
  }

  /// Marks `call` finished (its table row must be out while it changes);
  /// `count`: in the method's statistics.
  void finish(CallRecord& call, double end_time, bool count = true) {
    call.done = true;
    call.end_time = end_time;
    if (live > 0) --live;
    if (auto it = live_on_loop.find(call.loop); it != live_on_loop.end() && it->second > 0) --it->second;
    if (count) methods[{call.method, call.side}].record_end(call.end_time - call.start_time, call.code);
    finished.push_back(call.key.id);
  }

  /// Drops the oldest finished calls past the ring's size, rows first.
  void evict(const Limits& limits, Model& model) {
    while (finished.size() > limits.finished_calls) {
      if (auto it = calls.find(finished.front()); it != calls.end()) {
        model.table_remove(it->second);
        calls.erase(it);
      }
      finished.pop_front();
    }
  }
};

// -- constructors -------------------------------------------------------------

Model::Model(Limits limits) : limits_(limits), table_(std::make_unique<Table>(&sort_)) {}
Model::~Model() = default;

// -- targets -----------------------------------------------------------------

TargetId Model::add_target(std::string address) {
  auto t = std::make_unique<TargetState>();
  t->id = static_cast<TargetId>(targets_.size());
  t->info.address = std::move(address);
  targets_.push_back(std::move(t));
  touch();
  return static_cast<TargetId>(targets_.size() - 1);
}

std::size_t Model::target_count() const noexcept { return targets_.size(); }
const TargetInfo& Model::target(TargetId id) const { return state(id).info; }

Model::TargetState& Model::state(TargetId id) {
  if (id >= targets_.size()) throw std::out_of_range("actio-inspector: no target " + std::to_string(id));
  return *targets_[id];
}
const Model::TargetState& Model::state(TargetId id) const { return const_cast<Model*>(this)->state(id); }

void Model::touch() noexcept { ++generation_; }

// -- ingestion ---------------------------------------------------------------

void Model::connecting(TargetId id) {
  auto& t = state(id);
  t.info.connection = Connection::connecting;
  t.awaiting_snapshot = true;
  t.pending.clear();
  touch();
}

void Model::lost(TargetId id, std::string error) {
  auto& t = state(id);
  if (t.info.connection != Connection::lost) t.info.lost_at = now_;
  t.info.connection = Connection::lost;
  t.info.last_error = std::move(error);
  t.awaiting_snapshot = true;
  t.pending.clear();
  touch();
}

void Model::ingest(TargetId id, const v1::Snapshot& s) {
  auto& t = state(id);
  t.calls.clear();
  table_valid_ = false;  // its rows pointed into the calls just cleared
  t.finished.clear();
  t.live = 0;
  t.live_on_loop.clear();
  t.endpoints.clear();
  t.loops.clear();
  t.methods.clear();

  auto& info = t.info;
  if (info.has_snapshot && info.pid != s.pid()) t.schema.clear();  // another process now: other descriptors
  info.connection = Connection::attached;
  info.last_error.clear();
  info.pid = s.pid();
  info.process = s.process();
  info.has_snapshot = true;
  info.snapshot_seq = s.seq();
  info.snapshot_time = s.time();
  info.last_seq = s.seq();
  ++info.sessions;
  info.dropped_events = s.dropped_events();
  info.missed_events = info.stale_events = info.orphan_events = info.dropped_calls = 0;

  for (const auto& c : s.live_calls()) {
    if (t.live >= limits_.live_calls) {
      ++info.dropped_calls;
      continue;
    }
    CallRecord r = call_of(id, c);
    r.from_snapshot = true;
    t.add_timeline(r, {TimelineKind::started, r.start_time}, limits_.timeline_entries);
    t.methods[{r.method, r.side}].record_start(r.start_time);
    bool done = r.done;
    r.done = false;
    auto& call = t.calls.insert_or_assign(r.key.id, std::move(r)).first->second;
    t.started(call);
    if (done) {
      t.finish(call, call.end_time);
      t.evict(limits_, *this);
    }
  }
  for (const auto& c : s.recent_calls()) {  // newest last
    CallRecord r = call_of(id, c);
    r.from_snapshot = true;
    r.done = false;
    t.add_timeline(r, {TimelineKind::started, r.start_time}, limits_.timeline_entries);
    t.add_timeline(r, {TimelineKind::status, r.end_time, 0, {}, r.code}, limits_.timeline_entries);
    // Counted in a summary that follows the snapshot: in the table, not
    // in the statistics (the summary brings it there).
    bool count = !c.in_later_summary();
    if (count) t.methods[{r.method, r.side}].record_start(r.start_time);
    auto& call = t.calls.insert_or_assign(r.key.id, std::move(r)).first->second;
    t.started(call);
    t.finish(call, call.end_time, count);
    t.evict(limits_, *this);
  }
  for (const auto& e : s.endpoints()) t.endpoints[e.id()] = endpoint_of(id, e);
  for (const auto& l : s.loops()) t.loops.push_back(loop_of(id, l));

  t.awaiting_snapshot = false;
  auto pending = std::move(t.pending);
  t.pending.clear();
  for (const auto& e : pending) apply(t, e);
  touch();
}

void Model::refresh(TargetId id, const v1::Snapshot& s) {
  auto& t = state(id);
  // Only the process this session attached to (a restart brings a snapshot first).
  if (t.awaiting_snapshot || !t.info.has_snapshot || s.pid() != t.info.pid) return;
  t.loops.clear();
  for (const auto& l : s.loops()) t.loops.push_back(loop_of(id, l));
  for (const auto& e : s.endpoints()) {
    EndpointRecord r = endpoint_of(id, e);
    auto it = t.endpoints.find(r.id);
    if (it == t.endpoints.end()) {
      t.endpoints.emplace(r.id, std::move(r));
      continue;
    }
    // The counters and state are newer; the history this session saw stays.
    EndpointRecord& known = it->second;
    known.calls_started = r.calls_started;
    known.calls_ok = r.calls_ok;
    known.calls_failed = r.calls_failed;
    known.calls_active = r.calls_active;
    if (known.state != r.state) {
      known.state = r.state;
      known.history = std::move(r.history);
    }
  }
  t.info.dropped_events = s.dropped_events();
  touch();
}

void Model::ingest(TargetId id, const v1::Event& event) {
  auto& t = state(id);
  if (t.awaiting_snapshot) {
    if (t.pending.size() >= limits_.pending_events) t.pending.pop_front();  // shows up as missed events
    t.pending.push_back(event);
    return;
  }
  apply(t, event);
}

void Model::apply(TargetState& t, const v1::Event& e) {
  auto& info = t.info;
  if (e.seq() <= info.last_seq) {
    ++info.stale_events;
    return;
  }
  if (e.seq() > info.last_seq + 1) info.missed_events += e.seq() - info.last_seq - 1;
  info.last_seq = e.seq();
  touch();

  TargetId target = t.id;

  if (e.kind_case() == v1::Event::kEndpoint) {
    EndpointRecord r = endpoint_of(target, e.endpoint());
    auto it = t.endpoints.find(r.id);
    if (it != t.endpoints.end() && r.history.empty()) {
      // An event without history: keep ours and add the change.
      r.history = std::move(it->second.history);
      if (r.history.empty() || r.history.back().state != r.state) r.history.push_back({e.time(), r.state});
    }
    t.endpoints[r.id] = std::move(r);
    return;
  }
  if (e.kind_case() == v1::Event::kSummary) {
    const auto& s = e.summary();
    std::map<int, std::uint64_t> codes;
    for (const auto& c : s.codes()) codes[c.code()] += c.calls();
    // The process's buckets, each into ours by the latency just under its bound.
    std::array<std::uint64_t, kLatencyBuckets> latency{};
    for (int i = 0; i < s.latency_counts_size(); ++i) {
      double below = i < s.latency_bounds_size() ? std::nextafter(s.latency_bounds(i), 0.0)
                                                 : std::numeric_limits<double>::infinity();
      latency[latency_bucket(below)] += s.latency_counts(i);
    }
    t.methods[{s.method(), side_of(s.side())}].record_summary(e.time(), s.calls(), codes, latency);
    info.summarized_calls += s.calls();
    return;
  }
  if (e.kind_case() == v1::Event::kStarted) {
    if (t.live >= limits_.live_calls) {
      ++info.dropped_calls;
      return;
    }
    CallRecord r = call_of(target, e.started());
    if (r.key.id == 0) r.key.id = e.call_id();
    if (r.start_time == 0) r.start_time = e.time();
    r.done = false;  // a started event describes a running call
    // A call the process only counted at first (past WatchRequest.max_calls_per_second)
    // comes one by one from its promotion on: its started event is sent then,
    // with its state so far. Its steps before that were never sent: partial.
    if (r.messages_in || r.messages_out || r.bytes_in || r.bytes_out || r.half_closed ||
        !r.initial_metadata.empty() || !r.interceptors.empty())
      r.from_snapshot = true;
    auto [it, inserted] = t.calls.try_emplace(r.key.id);
    if (!inserted) return;  // already known (e.g. from the snapshot)
    it->second = std::move(r);
    // When it started, not when the event came (a promoted call's is later).
    t.add_timeline(it->second, {TimelineKind::started, it->second.start_time}, limits_.timeline_entries);
    t.methods[{it->second.method, it->second.side}].record_start(it->second.start_time);
    t.started(it->second);
    table_add(it->second);
    return;
  }

  auto it = t.calls.find(e.call_id());
  if (it == t.calls.end() || it->second.done) {
    ++info.orphan_events;
    return;
  }
  CallRecord& call = it->second;
  if (e.seq() <= call.counted_seq) {
    // Already in the snapshot's copy of the call (published between the
    // snapshot's seq and the copy): counting it again would count it twice.
    ++info.stale_events;
    return;
  }
  std::size_t limit = limits_.timeline_entries;
  // An event that may move the call's row (its sort key or whether the
  // filter passes it): the row leaves now and comes back once changed.
  bool moves = false;
  switch (e.kind_case()) {
    case v1::Event::kMessageIn: moves = sort_.column == Column::messages_in; break;
    case v1::Event::kMessageOut: moves = sort_.column == Column::messages_out; break;
    case v1::Event::kHalfClosed: moves = sort_.column == Column::state; break;
    case v1::Event::kHeaders:
    case v1::Event::kInterceptors: break;
    default: moves = true; break;
  }
  if (moves) table_remove(call);
  switch (e.kind_case()) {
    case v1::Event::kHeaders:
      call.initial_metadata = metadata_of(e.headers().metadata());
      t.add_timeline(call, {TimelineKind::headers, e.time()}, limit);
      break;
    case v1::Event::kMessageIn:
    case v1::Event::kMessageOut: {
      bool in = e.kind_case() == v1::Event::kMessageIn;
      const auto& m = in ? e.message_in() : e.message_out();
      (in ? call.messages_in : call.messages_out) += 1;
      (in ? call.bytes_in : call.bytes_out) += m.size();
      t.add_timeline(call,
                     {in ? TimelineKind::message_in : TimelineKind::message_out, e.time(), m.size(),
                      m.head().substr(0, limits_.head_bytes)},
                     limit);
      break;
    }
    case v1::Event::kHalfClosed:
      call.half_closed = true;
      t.add_timeline(call, {TimelineKind::half_closed, e.time()}, limit);
      break;
    case v1::Event::kInterceptors:
      call.interceptors = steps_of(e.interceptors().steps());
      t.add_timeline(call, {TimelineKind::interceptors, e.time()}, limit);
      break;
    case v1::Event::kStatus: {
      const auto& s = e.status();
      call.code = s.code();
      call.details = s.details();
      call.trailing_metadata = metadata_of(s.trailing_metadata());
      call.cancelled_by = s.cancelled_by();
      // The call's final counts (messages seen twice around a snapshot, or
      // not sent to a calls-only watch, are right again).
      if (s.messages_in() || s.messages_out() || s.bytes_in() || s.bytes_out()) {
        call.messages_in = s.messages_in();
        call.messages_out = s.messages_out();
        call.bytes_in = s.bytes_in();
        call.bytes_out = s.bytes_out();
      }
      t.add_timeline(call, {TimelineKind::status, e.time(), 0, {}, s.code()}, limit);
      t.finish(call, e.time());
      table_add(call);
      t.evict(limits_, *this);  // may evict the call: `call` is not used after this
      return;
    }
    default: break;  // a kind this inspector does not know (a newer v1): ignored
  }
  if (moves) table_add(call);
}

// -- calls -------------------------------------------------------------------

const CallRecord* Model::find(CallKey key) const {
  if (key.target >= targets_.size()) return nullptr;
  const auto& calls = targets_[key.target]->calls;
  auto it = calls.find(key.id);
  return it == calls.end() ? nullptr : &it->second;
}

std::size_t Model::call_count() const noexcept {
  std::size_t n = 0;
  for (const auto& t : targets_) n += t->calls.size();
  return n;
}

std::size_t Model::live_count() const noexcept {
  std::size_t n = 0;
  for (const auto& t : targets_) n += t->live;
  return n;
}

// -- the table ---------------------------------------------------------------

std::string_view to_string(Column column) noexcept {
  static constexpr std::string_view kNames[] = {"id",  "target",   "method",      "side",         "peer", "state",
                                                "age", "deadline", "messages_in", "messages_out", "code"};
  auto i = static_cast<std::size_t>(column);
  return i < std::size(kNames) ? kNames[i] : "?";
}

namespace {

bool contains_nocase(std::string_view text, std::string_view part) {
  auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
  auto it = std::search(text.begin(), text.end(), part.begin(), part.end(),
                        [&](char a, char b) { return lower(a) == lower(b); });
  return it != text.end() || part.empty();
}

int state_rank(const CallRecord& c) { return c.done ? 2 : c.half_closed ? 1 : 0; }

template <class T>
int three_way(const T& a, const T& b) {
  return a < b ? -1 : b < a ? 1 : 0;
}

int compare(Column column, const CallRecord& a, const CallRecord& b) {
  constexpr double kNone = std::numeric_limits<double>::infinity();
  switch (column) {
    case Column::id: return three_way(a.key.id, b.key.id);
    case Column::target: return three_way(a.key.target, b.key.target);
    case Column::method: return a.method.compare(b.method);
    case Column::side: return three_way(a.side, b.side);
    case Column::peer: return a.peer.compare(b.peer);
    case Column::state: return three_way(state_rank(a), state_rank(b));
    case Column::age: return three_way(b.start_time, a.start_time);  // younger first
    case Column::deadline: {
      double da = !a.done && a.deadline > 0 ? a.deadline : kNone;
      double db = !b.done && b.deadline > 0 ? b.deadline : kNone;
      return three_way(da, db);
    }
    case Column::messages_in: return three_way(a.messages_in, b.messages_in);
    case Column::messages_out: return three_way(a.messages_out, b.messages_out);
    case Column::code: return three_way(a.done ? a.code : -1, b.done ? b.code : -1);
  }
  return 0;
}

/// compare()'s order as a number, for the columns that are numbers (sorting
/// on a key kept beside the pointer reads each record once, not per compare).
std::optional<double> numeric_key(Column column, const CallRecord& c) {
  switch (column) {
    case Column::id: return static_cast<double>(c.key.id);
    case Column::target: return static_cast<double>(c.key.target);
    case Column::side: return static_cast<double>(c.side);
    case Column::state: return state_rank(c);
    case Column::age: return -c.start_time;
    case Column::deadline:
      return !c.done && c.deadline > 0 ? c.deadline : std::numeric_limits<double>::infinity();
    case Column::messages_in: return static_cast<double>(c.messages_in);
    case Column::messages_out: return static_cast<double>(c.messages_out);
    case Column::code: return c.done ? c.code : -1;
    case Column::method:
    case Column::peer: break;
  }
  return std::nullopt;
}

}  // namespace

bool matches(const Filter& f, const CallRecord& c) {
  if (f.target && c.key.target != *f.target) return false;
  if (f.side && c.side != *f.side) return false;
  if (f.state == StateFilter::live && c.done) return false;
  if (f.state == StateFilter::done && !c.done) return false;
  if (f.code && (!c.done || c.code != *f.code)) return false;
  return contains_nocase(c.method, f.method);
}

bool row_before(const Sort& sort, const CallRecord& a, const CallRecord& b) {
  int c = compare(sort.column, a, b);
  if (c != 0) return sort.ascending ? c < 0 : c > 0;
  if (a.start_time != b.start_time) return a.start_time > b.start_time;
  return a.key < b.key;
}

void Model::set_filter(Filter filter) {
  if (filter == filter_) return;
  filter_ = std::move(filter);
  table_valid_ = false;
}

void Model::set_sort(Sort sort) {
  if (sort == sort_) return;
  sort_ = sort;
  table_valid_ = false;
}

// A row of the table as its tree holds it: for a numeric sort column the
// key is copied in (fixed while the row is in the tree: a call's row leaves
// before the call changes), so a walk down the tree compares numbers in its
// nodes instead of reaching into a record per step (a cache miss each).
struct Model::Table {
  struct Row {
    double key = 0, start = 0;
    CallKey id;
    const CallRecord* call = nullptr;
  };
  struct Less {
    const Sort* sort;
    const bool* numeric;
    bool operator()(const Row& a, const Row& b) const {
      if (!*numeric) return row_before(*sort, *a.call, *b.call);
      if (a.key != b.key) return sort->ascending ? a.key < b.key : a.key > b.key;
      if (a.start != b.start) return a.start > b.start;
      return a.id < b.id;
    }
  };
  // libstdc++'s red-black tree with subtree sizes: find_by_order(i) is O(log n).
  using Tree = __gnu_pbds::tree<Row, __gnu_pbds::null_type, Less, __gnu_pbds::rb_tree_tag,
                                __gnu_pbds::tree_order_statistics_node_update>;
  explicit Table(const Sort* sort) : tree(Less{sort, &numeric}) {}
  Row row(const Sort& sort, const CallRecord& call) const {
    return {numeric ? *numeric_key(sort.column, call) : 0, call.start_time, call.key, &call};
  }
  bool numeric = false;  // whether the sort column has a numeric key (set by rebuild_table)
  Tree tree;
};

void Model::table_remove(const CallRecord& call) {
  if (table_valid_) table_->tree.erase(table_->row(sort_, call));
}

void Model::table_add(const CallRecord& call) {
  if (table_valid_ && matches(filter_, call)) table_->tree.insert(table_->row(sort_, call));
}

std::size_t Model::row_count() const {
  if (!table_valid_) rebuild_table();
  return table_->tree.size();
}

const CallRecord& Model::row(std::size_t i) const {
  if (!table_valid_) rebuild_table();
  auto it = table_->tree.find_by_order(i);
  if (it == table_->tree.end()) throw std::out_of_range("Model::row: index past the table's rows");
  return *it->call;
}

std::vector<const CallRecord*> Model::rows() const {
  if (!table_valid_) rebuild_table();
  std::vector<const CallRecord*> out;
  out.reserve(table_->tree.size());
  for (const auto& r : table_->tree) out.push_back(r.call);
  return out;
}

void Model::rebuild_table() const {
  Table& table = *table_;
  table.tree.clear();
  table.numeric = numeric_key(sort_.column, CallRecord{}).has_value();
  std::vector<Table::Row> rows;
  for (const auto& t : targets_) {
    for (const auto& [id, call] : t->calls)
      if (matches(filter_, call)) rows.push_back(table.row(sort_, call));
  }
  // One sort (keys copied out of the records once), then in-order inserts.
  std::sort(rows.begin(), rows.end(), table.tree.get_cmp_fn());
  for (const Table::Row& r : rows) table.tree.insert(r);
  table_valid_ = true;
}

// -- selection ---------------------------------------------------------------

void Model::select_call(CallKey key) {
  selection_.call = key;
  if (const CallRecord* c = find(key)) {
    selection_.method = c->method;
    selection_.endpoint = std::pair{key.target, c->endpoint_id};
  }
}

void Model::select_method(std::string method) {
  const CallRecord* c = selected_call();
  if (c && c->method != method) selection_.call.reset();
  selection_.method = std::move(method);
}

void Model::select_endpoint(TargetId target, std::uint64_t endpoint_id) {
  const CallRecord* c = selected_call();
  if (!c || c->key.target != target || c->endpoint_id != endpoint_id) {
    // The endpoint is now what the user looks at: the table marks its calls.
    selection_.call.reset();
    selection_.method.reset();
  }
  selection_.endpoint = std::pair{target, endpoint_id};
}

void Model::clear_selection() { selection_ = {}; }

const CallRecord* Model::selected_call() const { return selection_.call ? find(*selection_.call) : nullptr; }

// -- endpoints, loops, aggregates --------------------------------------------

std::vector<const EndpointRecord*> Model::endpoints() const {
  std::vector<const EndpointRecord*> out;
  for (const auto& t : targets_)
    for (const auto& [id, e] : t->endpoints) out.push_back(&e);
  return out;
}

std::vector<const LoopRecord*> Model::loops() const {
  std::vector<const LoopRecord*> out;
  for (const auto& t : targets_)
    for (const auto& l : t->loops) out.push_back(&l);
  return out;
}

std::size_t Model::live_calls_on_loop(TargetId target, std::uint32_t loop) const {
  if (target >= targets_.size()) return 0;
  const auto& counts = targets_[target]->live_on_loop;
  auto it = counts.find(loop);
  return it == counts.end() ? 0 : it->second;
}

// -- reflection -----------------------------------------------------------------

void Model::add_descriptors(TargetId id, const Descriptors& batch) {
  auto& t = state(id);
  if (batch.pid != t.info.pid) return;  // asked of a process that is gone
  t.schema.add(batch);
  touch();
}

const Schema& Model::schema(TargetId id) const { return state(id).schema; }

std::optional<std::string> Model::serving_address(TargetId id, std::string_view service) const {
  const auto& t = state(id);
  for (const auto& [eid, e] : t.endpoints) {
    if (e.kind != EndpointKind::server) continue;
    if (std::find(e.services.begin(), e.services.end(), service) != e.services.end())
      return dial_address(e.target, t.info.address);
  }
  return std::nullopt;
}

std::vector<DialAddress> Model::serving_addresses(TargetId id, std::string_view service) const {
  const auto& t = state(id);
  std::vector<DialAddress> out;
  for (const auto& [eid, e] : t.endpoints) {
    if (e.kind != EndpointKind::server) continue;
    if (std::find(e.services.begin(), e.services.end(), service) == e.services.end()) continue;
    for (auto& a : dial_addresses(e.target, e.tls_addresses, t.info.address)) out.push_back(std::move(a));
  }
  return out;
}

std::vector<std::string> Model::undescribed_services(TargetId id) const {
  const auto& t = state(id);
  std::set<std::string> named;
  for (const auto& [eid, e] : t.endpoints)
    if (e.kind == EndpointKind::server) named.insert(e.services.begin(), e.services.end());
  for (const auto& [key, stats] : t.methods) {
    std::string service = service_of(key.first);
    if (!service.empty()) named.insert(std::move(service));
  }
  std::vector<std::string> out;
  for (const auto& s : named)
    if (!t.schema.knows(s)) out.push_back(s);
  return out;
}

const MessageView& Model::message_view(const CallRecord& call, const TimelineEntry& entry) const {
  const Schema& schema = state(call.key.target).schema;
  if (!entry.view || entry.view->schema_generation != schema.generation())
    entry.view = std::make_shared<const MessageView>(view_message(schema, call, entry));
  return *entry.view;
}

// -- invoking -------------------------------------------------------------------

std::optional<OutgoingCall> Model::begin_invocation(const InvokeRequest& request, std::uint64_t* id_out) {
  Invocation inv;
  inv.id = next_invocation_++;
  inv.request = request;
  if (id_out) *id_out = inv.id;
  auto refuse = [&](std::string why) -> std::optional<OutgoingCall> {
    inv.done = inv.not_sent = true;
    inv.details = std::move(why);
    invocations_.push_back(std::move(inv));
    while (invocations_.size() > 32) invocations_.pop_front();
    touch();
    return std::nullopt;
  };
  if (request.target >= targets_.size()) return refuse("no process " + std::to_string(request.target));
  const Schema& schema = state(request.target).schema;
  std::string service = service_of(request.method);
  if (service.empty()) return refuse("not a method path (/package.Service/Method): " + request.method);
  const MethodInfo* m = schema.method(request.method);
  if (!m) {
    auto failure = schema.failures().find(service);
    if (failure != schema.failures().end())
      return refuse("the process cannot describe " + service + ": " + failure->second);
    if (const ServiceInfo* svc = schema.service(service)) {
      std::string names;
      for (const auto& x : svc->methods) names += (names.empty() ? "" : ", ") + x.name;
      return refuse(service + " has no method " + request.method.substr(request.method.rfind('/') + 1) + " (it has " +
                    names + ")");
    }
    return refuse("no descriptors for " + service + " (reflection has not answered)");
  }
  inv.request_type = m->input_type;
  inv.response_type = m->output_type;
  inv.server_streaming = m->server_streaming;
  inv.client_streaming = m->client_streaming;
  if (request.address.empty()) return refuse("no address to call " + request.method + " on");
  OutgoingCall out{inv.id,         request.target,  request.address, request.method, {}, m->server_streaming,
                   request.timeout, request.metadata};
  out.client_streaming = m->client_streaming;
  out.security = request.security;
  if (m->client_streaming) {
    std::vector<std::string> jsons = request.requests.value_or(std::vector<std::string>{request.json});
    for (std::size_t i = 0; i < jsons.size(); ++i) {
      Converted bytes = schema.from_json(m->input_type, jsons[i]);
      if (!bytes.ok)
        return refuse(jsons.size() > 1 ? "request " + std::to_string(i + 1) + ": " + bytes.error : bytes.error);
      out.requests.push_back(std::move(bytes.text));
    }
    inv.requests = out.requests.size();
  } else {
    if (request.requests && request.requests->size() != 1)
      return refuse(request.method + " takes one request, not " + std::to_string(request.requests->size()) +
                    " (only client-streaming and bidi methods take several)");
    Converted bytes = schema.from_json(m->input_type, request.requests ? request.requests->front() : request.json);
    if (!bytes.ok) return refuse(bytes.error);
    out.request = std::move(bytes.text);
    inv.requests = 1;
  }
  invocations_.push_back(std::move(inv));
  while (invocations_.size() > 32) invocations_.pop_front();
  touch();
  return out;
}

namespace {
Reply reply_of(const Schema& schema, const std::string& type, std::string bytes) {
  Reply r;
  Converted json = schema.to_json(type, bytes, true);
  if (json.ok)
    r.json = std::move(json.text);
  else
    r.note = std::move(json.error);
  r.bytes = std::move(bytes);
  return r;
}
}  // namespace

void Model::add_invocation_reply(InvocationReply reply) {
  for (auto& inv : invocations_) {
    if (inv.id != reply.id || inv.done) continue;
    if (inv.replies.size() < limits_.invocation_replies) {
      inv.replies.push_back(reply_of(state(inv.request.target).schema, inv.response_type, std::move(reply.bytes)));
    } else {
      ++inv.replies_not_kept;
    }
    touch();
    return;
  }
}

void Model::end_invocation(InvocationResult result) {
  for (auto& inv : invocations_) {
    if (inv.id != result.id || inv.done) continue;
    inv.done = true;
    inv.code = result.code;
    inv.details = std::move(result.details);
    inv.sent = result.sent;
    const Schema& schema = state(inv.request.target).schema;
    for (auto& bytes : result.replies) {
      if (inv.replies.size() < limits_.invocation_replies) {
        inv.replies.push_back(reply_of(schema, inv.response_type, std::move(bytes)));
      } else {
        ++inv.replies_not_kept;
      }
    }
    touch();
    return;
  }
}

const Invocation* Model::invocation(std::uint64_t id) const {
  for (const auto& inv : invocations_)
    if (inv.id == id) return &inv;
  return nullptr;
}

std::vector<MethodSummary> Model::method_stats() const {
  std::map<std::pair<std::string, Side>, MethodStats> merged;
  for (std::size_t i = 0; i < targets_.size(); ++i) {
    if (filter_.target && *filter_.target != i) continue;
    for (const auto& [key, stats] : targets_[i]->methods) {
      if (filter_.side && key.second != *filter_.side) continue;
      merged[key].merge(stats);
    }
  }
  std::vector<MethodSummary> out;
  out.reserve(merged.size());
  for (auto& [key, stats] : merged) out.push_back({key.first, key.second, std::move(stats)});
  return out;
}

}  // namespace actio::inspector
