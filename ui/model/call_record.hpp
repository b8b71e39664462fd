#pragma once
/// What the inspector keeps about one call, endpoint, loop and attached
/// process: plain data built from actio.inspect.v1 messages. No protobuf and
/// no ImGui here, so the views and the tests read it directly.

#include <compare>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace actio::inspector {

/// Index of an attached process, in the order the targets were added.
using TargetId = std::uint32_t;

enum class Side : std::uint8_t { unspecified, client, server };
enum class Shape : std::uint8_t { unspecified, unary_unary, unary_stream, stream_unary, stream_stream };
enum class EndpointKind : std::uint8_t { unspecified, channel, server };
/// The inspector's link to a process: connecting (no snapshot of this session
/// yet), attached (snapshot taken, events flowing), lost (gone; the last state
/// stays on screen until the next snapshot replaces it).
enum class Connection : std::uint8_t { connecting, attached, lost };

/// "client", "server", "?".
std::string_view to_string(Side side) noexcept;
/// "unary_unary", ..., "?".
std::string_view to_string(Shape shape) noexcept;
/// "channel", "server", "?".
std::string_view to_string(EndpointKind kind) noexcept;
/// "connecting", "attached", "lost".
std::string_view to_string(Connection connection) noexcept;
/// The gRPC status code's name ("OK", "UNAVAILABLE", ...), or "CODE_<n>".
std::string code_name(int code);
/// A method as a narrow column shows it: "/routeguide.RouteGuide/GetFeature"
/// as "RouteGuide/GetFeature" (no leading slash, no package); a name not of
/// that form as it is. A view into `method`.
std::string_view short_method(std::string_view method) noexcept;
/// A peer without its address family: "ipv4:127.0.0.1:50051" as
/// "127.0.0.1:50051", "ipv6:[::1]:50051" as "[::1]:50051"; others as they are.
std::string_view short_peer(std::string_view peer) noexcept;

/// A call's identity: call ids are unique within one process.
struct CallKey {
  TargetId target = 0;
  std::uint64_t id = 0;
  auto operator<=>(const CallKey&) const = default;
};

/// One metadata entry as the process sent it. The process replaces the value
/// of a sensitive key with "<redacted N bytes>" and sets `redacted`; the
/// inspector never shows anything else for such an entry.
struct Metadatum {
  std::string key;
  std::string value;
  bool redacted = false;

  /// What to show: redacted entries always read as redacted (whatever bytes
  /// came with them), `-bin` values as hex, the rest as text.
  std::string display_value() const;
};

/// One interceptor of a call's chain (actio::InterceptorRecord).
struct InterceptorStepRecord {
  std::string name;
  int runs = 0;
  double total_seconds = 0;
  double in_continuation_seconds = 0;
  int continuation_calls = 0;
  std::vector<std::string> changes;

  /// Time spent in the interceptor itself (not in its continuation).
  double own_seconds() const noexcept { return total_seconds - in_continuation_seconds; }
};

enum class TimelineKind : std::uint8_t { started, headers, message_in, message_out, half_closed, interceptors, status };
/// "started", "headers", "message in", ...
std::string_view to_string(TimelineKind kind) noexcept;

struct MessageView;  // schema.hpp

/// One step of a call's life as the inspector saw it.
struct TimelineEntry {
  TimelineKind kind = TimelineKind::started;
  double time = 0;         ///< unix seconds (the process's clock)
  std::uint32_t size = 0;  ///< messages: size in bytes
  std::string head;        ///< messages: the first bytes (bounded by Limits::head_bytes)
  int code = 0;            ///< status: the code
  /// Messages: how it reads (JSON or why not), made on first use by
  /// Model::message_view and kept until the process's schema changes.
  mutable std::shared_ptr<const MessageView> view;
};

/// A call as it stands now, plus what happened to it while watched.
struct CallRecord {
  CallKey key;
  Side side = Side::unspecified;
  Shape shape = Shape::unspecified;
  std::string method;  ///< "/pkg.Service/Method"
  std::string peer;
  std::uint64_t endpoint_id = 0;
  std::uint32_t loop = 0;
  double start_time = 0;  ///< unix seconds
  double deadline = 0;    ///< unix seconds; 0: none
  double end_time = 0;    ///< unix seconds; 0 while running
  std::vector<Metadatum> invocation_metadata;
  std::vector<Metadatum> initial_metadata;
  std::vector<Metadatum> trailing_metadata;
  std::uint64_t messages_in = 0;
  std::uint64_t messages_out = 0;
  std::uint64_t bytes_in = 0;
  std::uint64_t bytes_out = 0;
  bool half_closed = false;
  bool done = false;
  int code = 0;  ///< valid when done
  std::string details;
  std::string cancelled_by;  ///< "", "local", "peer", "deadline", "shutdown"
  std::vector<InterceptorStepRecord> interceptors;
  /// Oldest first, bounded (Limits::timeline_entries): when full, the oldest
  /// entry after "started" goes and timeline_dropped counts it.
  std::vector<TimelineEntry> timeline;
  std::uint64_t timeline_dropped = 0;
  /// The timeline misses the call's first steps: it was already running (or
  /// done) when the snapshot was taken, or it was promoted from a summary
  /// (its started event came late, with messages or headers already past).
  bool from_snapshot = false;
  /// The seq of the newest event already counted in the copy this record
  /// came from (Call.last_event_seq): the call's events up to it are skipped.
  std::uint64_t counted_seq = 0;

  /// "active", "half-closed" or "done".
  std::string_view state() const noexcept;
  /// Seconds since the call started.
  double age(double now) const noexcept { return now - start_time; }
  /// Seconds until the deadline, for a running call that has one.
  std::optional<double> time_left(double now) const noexcept;
  /// Seconds from start to end (to `now` while running).
  double duration(double now) const noexcept { return (done ? end_time : now) - start_time; }
};

struct StateChangeRecord {
  double time = 0;
  std::string state;
};

/// A channel or a server of a process.
struct EndpointRecord {
  TargetId target_id = 0;
  std::uint64_t id = 0;
  EndpointKind kind = EndpointKind::unspecified;
  std::string target;  ///< channel target, or the server's addresses
  std::uint32_t loop = 0;
  std::string state;
  std::uint64_t calls_started = 0;
  std::uint64_t calls_ok = 0;
  std::uint64_t calls_failed = 0;
  std::uint64_t calls_active = 0;
  std::vector<StateChangeRecord> history;  ///< most recent last
  std::vector<std::string> services;
  std::vector<std::string> tls_addresses;  ///< server: those of its addresses that use TLS
};

/// A CAF actor homed on a loop (actio.inspect.v1.Actor).
struct ActorRecord {
  std::uint64_t id = 0;
  std::string kind, name;
  std::uint64_t waiting = 0;  ///< delivered, not handled yet (a mailbox: not received yet)
  std::uint64_t handled = 0;
};

/// An event loop (thread) of a process, as of the last snapshot or refresh.
struct LoopRecord {
  TargetId target_id = 0;
  std::uint32_t index = 0;
  std::string name;
  std::uint32_t ready_queue = 0;
  std::uint32_t inbox = 0;
  std::uint32_t live_calls = 0;  ///< at the snapshot
  std::uint32_t pending_ops = 0;
  std::vector<ActorRecord> actors;
};

/// What the inspector knows about one attached process.
struct TargetInfo {
  std::string address;  ///< as given (--target)
  Connection connection = Connection::connecting;
  std::string last_error;  ///< why the connection was lost
  double lost_at = 0;      ///< when (the model's clock); its live calls' fate is unknown since
  int pid = 0;
  std::string process;
  bool has_snapshot = false;
  std::uint64_t snapshot_seq = 0;
  double snapshot_time = 0;
  std::uint64_t last_seq = 0;        ///< the last event applied
  std::uint64_t sessions = 0;        ///< snapshots taken (1 + reconnects)
  std::uint64_t dropped_events = 0;  ///< the process's count (from its snapshot)
  std::uint64_t missed_events = 0;   ///< seq numbers skipped between applied events
  std::uint64_t stale_events = 0;    ///< events ignored: seq not after the last applied one, or already in the snapshot's copy of the call
  std::uint64_t orphan_events = 0;   ///< events about calls the inspector does not hold
  std::uint64_t dropped_calls = 0;   ///< started calls ignored (Limits::live_calls reached)
  std::uint64_t summarized_calls = 0;  ///< calls the process only counted (CallSummary events)
};

}  // namespace actio::inspector
