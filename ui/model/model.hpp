#pragma once
/// The inspector's headless model (Tracy's "worker"): it ingests, per attached
/// process, a Snapshot and then the Watch events of actio.inspect.v1, and
/// keeps calls, endpoints, loops and per-method aggregates, plus the view
/// state every panel shares (filter, sort, selection). No ImGui include: the
/// views draw it, the tests and --dump-json read it.
///
/// Not thread-safe: one thread (the UI thread) owns it.

#include <cstddef>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "call_record.hpp"
#include "method_stats.hpp"
#include "schema.hpp"

namespace actio::inspect::v1 {
class Snapshot;
class Event;
}  // namespace actio::inspect::v1

namespace actio::inspector {

/// How much the model keeps.
struct Limits {
  std::size_t finished_calls = 1000;    ///< per process: finished calls kept (oldest go first)
  std::size_t live_calls = 200000;      ///< per process: running calls kept (later starts are counted, not kept)
  std::size_t timeline_entries = 256;   ///< per call
  std::size_t head_bytes = 256;         ///< per message: bytes of its head kept
  std::size_t pending_events = 100000;  ///< per process: events held while waiting for the snapshot
  std::size_t invocation_replies = 1000;  ///< per invocation: replies kept (later ones are counted, not kept)
};

enum class StateFilter : std::uint8_t { all, live, done };

/// Which calls the table shows. Empty / unset fields match everything.
struct Filter {
  std::string method;  ///< case-insensitive substring of the method
  std::optional<Side> side;
  StateFilter state = StateFilter::all;
  std::optional<int> code;  ///< finished calls with this code only
  std::optional<TargetId> target;
  bool operator==(const Filter&) const = default;
};

/// The call table's columns (also the sort keys).
enum class Column : std::uint8_t {
  id,
  target,
  method,
  side,
  peer,
  state,
  age,
  deadline,
  messages_in,
  messages_out,
  code
};
/// "id", "target", "method", ...
std::string_view to_string(Column column) noexcept;

struct Sort {
  Column column = Column::age;  ///< age ascending: newest first
  bool ascending = true;
  bool operator==(const Sort&) const = default;
};

/// What the user picked; every panel highlights and follows it.
struct Selection {
  std::optional<CallKey> call;
  std::optional<std::string> method;
  std::optional<std::pair<TargetId, std::uint64_t>> endpoint;
};

/// How an invocation reaches its server: plaintext, or TLS with these files
/// (read by the network side when it calls, so a missing or bad file ends
/// the invocation with a clear status).
struct InvokeSecurity {
  bool tls = false;          ///< call over TLS (the port is secure)
  std::string ca_file;       ///< PEM root certificates; empty: the system's roots
  std::string cert_file;     ///< mutual TLS: the client's certificate chain (PEM), with key_file
  std::string key_file;      ///< mutual TLS: the client's private key (PEM), with cert_file
  std::string authority;     ///< the name the server's certificate must show (and :authority); empty: the address's host
};

/// A method to call, as the Services panel or --invoke asks for it.
struct InvokeRequest {
  TargetId target = 0;  ///< the process whose schema encodes the request
  std::string address;  ///< host:port of the server to call
  std::string method;   ///< "/pkg.Service/Method"
  std::string json;     ///< the request (unary and server-streaming methods)
  double timeout = 10;  ///< seconds
  /// Sent with the call (lowercase keys; "-bin" keys take raw bytes).
  std::vector<std::pair<std::string, std::string>> metadata;
  /// Client-streaming and bidi methods: the requests, in order, each one
  /// message as JSON (none: the stream is half-closed at once). Unset: `json`
  /// is the only request.
  std::optional<std::vector<std::string>> requests;
  InvokeSecurity security;
};

/// What the connector sends for an invocation (the request encoded).
struct OutgoingCall {
  std::uint64_t id = 0;
  TargetId target = 0;
  std::string address;
  std::string method;
  std::string request;  ///< wire bytes (unary and server-streaming methods)
  bool server_streaming = false;
  double timeout = 10;
  std::vector<std::pair<std::string, std::string>> metadata;
  bool client_streaming = false;
  std::vector<std::string> requests;  ///< client-streaming and bidi: wire bytes, in order
  InvokeSecurity security;
};

/// How an invocation ended, as the connector saw it.
struct InvocationResult {
  std::uint64_t id = 0;
  int code = 0;
  std::string details;
  std::vector<std::string> replies;  ///< wire bytes, in order (after those sent as InvocationReply)
  std::size_t sent = 0;              ///< requests written (streaming requests: before the end)
};

/// One reply of an invocation still running (streaming replies come one by one).
struct InvocationReply {
  std::uint64_t id = 0;
  std::string bytes;
};

/// One reply of an invocation: JSON when it decodes, else why not.
struct Reply {
  std::string bytes;
  std::optional<std::string> json;
  std::string note;
};

/// An invocation the user made, and its outcome.
struct Invocation {
  std::uint64_t id = 0;
  InvokeRequest request;
  std::string request_type, response_type;
  bool server_streaming = false;
  bool client_streaming = false;
  std::size_t requests = 0;  ///< requests to send (1 unless client-streaming)
  std::size_t sent = 0;      ///< requests written, once done
  bool done = false;
  /// The request never left: a bad method, no descriptors, JSON that is not
  /// the request type (`details` says which).
  bool not_sent = false;
  int code = 0;  ///< when done and sent
  std::string details;
  std::vector<Reply> replies;
  std::size_t replies_not_kept = 0;  ///< past Limits::invocation_replies
};

/// Whether `call` passes `filter` (exposed for tests and the bench).
bool matches(const Filter& filter, const CallRecord& call);
/// Strict weak order of the table under `sort`; ties: newest first, then key.
bool row_before(const Sort& sort, const CallRecord& a, const CallRecord& b);

class Model {
 public:
  // -- constructors ---------------------------------------------------------

  explicit Model(Limits limits = {});
  ~Model();
  Model(const Model&) = delete;
  Model& operator=(const Model&) = delete;

  // -- targets --------------------------------------------------------------

  /// Adds a process to watch (state: connecting); returns its id.
  TargetId add_target(std::string address);
  std::size_t target_count() const noexcept;
  const TargetInfo& target(TargetId id) const;

  // -- ingestion ------------------------------------------------------------

  /// A (re)connect began: events from now on wait for this session's snapshot.
  void connecting(TargetId id);
  /// The connection is gone; what was seen stays shown until the next snapshot.
  void lost(TargetId id, std::string error);
  /// Replaces everything known about the process, then applies the events
  /// that arrived before it and are newer than it.
  void ingest(TargetId id, const inspect::v1::Snapshot& snapshot);
  /// Applies one event: held until the session's snapshot, ignored when its
  /// seq is not after the last applied one, otherwise applied in order.
  void ingest(TargetId id, const inspect::v1::Event& event);
  /// A snapshot without calls (SnapshotRequest.skip_calls), polled: replaces
  /// the loops (queues, actors) and updates the endpoints' counters and state
  /// of the process this session attached to; anything else is ignored.
  void refresh(TargetId id, const inspect::v1::Snapshot& snapshot);
  /// The wall clock the views measure ages and deadlines against (unix s).
  void set_now(double unix_seconds) noexcept { now_ = unix_seconds; }
  double now() const noexcept { return now_; }
  /// Bumped by every change of the data (the views cache on it).
  std::uint64_t generation() const noexcept { return generation_; }

  // -- calls ----------------------------------------------------------------

  const CallRecord* find(CallKey key) const;
  /// Calls held (running + recently finished), over all processes.
  std::size_t call_count() const noexcept;
  std::size_t live_count() const noexcept;

  // -- the table: filter, sort, rows ----------------------------------------

  const Filter& filter() const noexcept { return filter_; }
  void set_filter(Filter filter);
  const Sort& sort() const noexcept { return sort_; }
  void set_sort(Sort sort);
  /// How many calls pass the filter: the table's row count.
  std::size_t row_count() const;
  /// Row `i` of the table (i < row_count()), in O(log n): the table view
  /// asks only for the rows on screen, so a frame never walks every call.
  const CallRecord& row(std::size_t i) const;
  /// The calls passing the filter, in sort order, as one vector (made on
  /// each call: for export, tests and one-off uses, not for every frame).
  std::vector<const CallRecord*> rows() const;

  // -- selection ------------------------------------------------------------

  const Selection& selection() const noexcept { return selection_; }
  /// Selects a call, and with it its method and its endpoint.
  void select_call(CallKey key);
  /// Selects a method (the stats panel); keeps the call if it has that method.
  void select_method(std::string method);
  /// Selects an endpoint (the channels & servers panel); the call and the
  /// method stay selected only if the call belongs to it.
  void select_endpoint(TargetId target, std::uint64_t endpoint_id);
  void clear_selection();
  /// The selected call, if it is still held.
  const CallRecord* selected_call() const;

  // -- endpoints, loops, aggregates -----------------------------------------

  /// Channels and servers of every process, by process then id.
  std::vector<const EndpointRecord*> endpoints() const;
  /// Loops of every process (as of its snapshot), by process then index.
  std::vector<const LoopRecord*> loops() const;
  /// Running calls the model holds on `loop` of `target`.
  std::size_t live_calls_on_loop(TargetId target, std::uint32_t loop) const;
  /// Per-method aggregates, one row per method and side (client, server),
  /// merged over the processes the filter's target allows, for the side the
  /// filter's side allows; by method name, then side.
  std::vector<MethodSummary> method_stats() const;

  // -- reflection -----------------------------------------------------------

  /// Adds what the connector fetched by reflection from process `id` (a
  /// batch from another pid than the current snapshot's is dropped).
  void add_descriptors(TargetId id, const Descriptors& batch);
  /// Process `id`'s descriptors (empty until reflection answered). A
  /// snapshot from another pid (the process restarted) clears them.
  const Schema& schema(TargetId id) const;
  /// Where to call `service` of process `id`: the address of a server of
  /// the process that serves it (dial_address), if there is one.
  std::optional<std::string> serving_address(TargetId id, std::string_view service) const;
  /// Every listening address of the process's servers that serve `service`
  /// (dial_addresses: whether each uses TLS), servers by id.
  std::vector<DialAddress> serving_addresses(TargetId id, std::string_view service) const;
  /// Services process `id` names (its servers' services and those of the
  /// methods of its calls) that reflection has not answered about yet.
  std::vector<std::string> undescribed_services(TargetId id) const;
  /// How a message of `call` reads: JSON when the method's descriptors are
  /// known and the head is the whole message, else hex and why. Made once
  /// per entry and schema change.
  const MessageView& message_view(const CallRecord& call, const TimelineEntry& entry) const;

  // -- invoking -------------------------------------------------------------

  /// Starts an invocation: checks the method and encodes the JSON request
  /// (each of `requests` for a client-streaming or bidi method) with the
  /// process's schema. Returns what
  /// the connector must send, or nothing when that failed: then the
  /// invocation is already done, not_sent, with the reason in its details.
  /// `id` (optional) receives the invocation's id either way.
  std::optional<OutgoingCall> begin_invocation(const InvokeRequest& request, std::uint64_t* id = nullptr);
  /// The connector's answer: the status and the replies (decoded to JSON).
  void end_invocation(InvocationResult result);
  /// A reply of an invocation still running (ignored once it is done).
  void add_invocation_reply(InvocationReply reply);
  const Invocation* invocation(std::uint64_t id) const;
  /// The most recent invocations, oldest first (a bounded list).
  const std::deque<Invocation>& invocations() const noexcept { return invocations_; }

  // -- export ---------------------------------------------------------------

  /// The model's view as JSON: targets, counts, the table's rows (filter and
  /// sort applied), per-method aggregates, endpoints and loops.
  std::string to_json() const;
  /// The calls the table shows now (filter and sort applied), each with
  /// everything the model holds about it: context, metadata, messages (JSON
  /// or hex), the interceptor chain and the timeline; with the filter and
  /// the targets. What the top bar's "export" and --export write.
  std::string export_json() const;

 private:
  struct TargetState;
  TargetState& state(TargetId id);
  const TargetState& state(TargetId id) const;
  void apply(TargetState& t, const inspect::v1::Event& event);
  void touch() noexcept;

  Limits limits_;
  std::vector<std::unique_ptr<TargetState>> targets_;
  double now_ = 0;
  std::uint64_t generation_ = 0;
  Filter filter_;
  Sort sort_;
  Selection selection_;
  std::deque<Invocation> invocations_;
  std::uint64_t next_invocation_ = 1;
  // The table: the calls passing the filter, kept in sort order as they
  // change (a call's row leaves before the call changes and comes back
  // after), so that an event costs a few comparisons, not a sort of every
  // call. An order-statistic tree (model.cpp), so row i is found in
  // O(log n). Rebuilt when the filter, the sort or a snapshot changes it all.
  struct Table;
  std::unique_ptr<Table> table_;
  mutable bool table_valid_ = false;
  void table_remove(const CallRecord& call);
  void table_add(const CallRecord& call);
  void rebuild_table() const;
};

}  // namespace actio::inspector
