#pragma once
// The inspection registry: what every call, channel and server reports about
// itself while inspection is on (actio::inspect::start or ACTIO_INSPECT).
//
// Cost model:
//   - inspection off (the default): a call holds a null record; each hook is
//     one pointer test;
//   - on, nobody watching: a call's record is allocated once and kept in its
//     loop's own table (thread-local: no lock); each event updates it in
//     place and reads one atomic (is anyone watching?); the call's channel or
//     server counts it with a few relaxed atomic adds;
//   - on, with a watcher: each event is also serialized (on the call's
//     thread, from the record in place) and appended to every watcher's
//     bounded buffer (a mutex); the watcher's loop is woken once per batch.
//   - with watchers that set a rate (WatchRequest.max_calls_per_second):
//     past it, a call is "summarized": none of its events is serialized,
//     and when it finishes OK its loop adds it to a per-method CallSummary
//     (thread-local) that goes out about every 100 ms (flush_summaries).
//     A summarized call that fails, runs for 100 ms or is copied into a
//     Snapshot is promoted: a "started" event with its state so far, then
//     its events one by one.
// A call's record is only touched on its loop's thread. A Snapshot asks every
// loop for copies of its records (EventLoop::for_each_loop + post), so there
// is nothing to lock on the call path.

#include <grpc/impl/codegen/connectivity_state.h>
#include <grpcpp/support/byte_buffer.h>
#include <grpcpp/support/string_ref.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "actio/event.hpp"
#include "actio/event_loop.hpp"
#include "actio/interceptor_record.hpp"
#include "actio/metadata.hpp"
#include "actio/status.hpp"

namespace grpc {
class Channel;
}

namespace actio::detail::inspect {

/// True while inspection is on (one relaxed load; hooks test the record instead).
bool enabled() noexcept;

enum class Side : int { client = 1, server = 2 };
/// Same numbers as actio.inspect.v1.Shape.
enum class Shape : int { unary_unary = 1, unary_stream = 2, stream_unary = 3, stream_stream = 4 };

/// Seconds since the epoch (what the proto carries).
double now() noexcept;

struct EndpointRecord {
  enum class Kind : int { channel = 1, server = 2 };
  std::uint64_t id = 0;
  Kind kind = Kind::channel;
  std::string target;
  std::uint32_t loop = 0;
  std::atomic<std::uint64_t> calls_started{0};
  std::atomic<std::uint64_t> calls_ok{0};
  std::atomic<std::uint64_t> calls_failed{0};
  std::atomic<std::int64_t> calls_active{0};

  mutable std::mutex mu;  // guards the rest
  std::shared_ptr<grpc::Channel> channel;  // channels: asked for its state (thread-safe in gRPC)
  std::string state;                        // servers (and closed channels)
  std::vector<std::pair<double, std::string>> history;  // bounded
  std::vector<std::string> services;
  std::vector<std::string> tls_addresses;  // servers: the addresses whose port uses TLS
};

/// The state of one call, as the inspector sees it.
struct CallRecord {
  // Set before the record is published (read-only afterwards).
  std::uint64_t id = 0;
  Side side = Side::client;
  Shape shape = Shape::unary_unary;
  std::string method;
  std::string peer;
  std::shared_ptr<EndpointRecord> endpoint;
  std::uint32_t loop = 0;
  double start_time = 0;
  double deadline = 0;
  Metadata invocation_metadata;

  std::uint64_t session = 0;  // the inspection session it was recorded in
  bool summarized = false;    // its events are not published (see the cost model)
  std::uint64_t summary_round = 0;  // finished summarized: its loop's summary round that counts it
  std::size_t live_index = 0;  // its place in its loop's table of live calls

  std::uint64_t messages_in = 0;
  std::uint64_t messages_out = 0;
  std::uint64_t bytes_in = 0;
  std::uint64_t bytes_out = 0;
  Metadata initial_metadata;
  Metadata trailing_metadata;
  bool half_closed = false;
  bool done = false;
  StatusCode code = StatusCode::OK;
  std::string details;
  std::string cancelled_by;
  double end_time = 0;
  std::vector<InterceptorRecord> interceptors;
  /// The seq of its newest event sent to watchers (set as it is sent, under
  /// the publishing lock, on the call's own thread): a snapshot's copy
  /// carries it, so a watcher skips the events already counted in the copy.
  mutable std::uint64_t last_event_seq = 0;
};

/// A plain copy of a call (what snapshots and "started" events carry).
struct CallView {
  std::uint64_t id = 0;
  Side side = Side::client;
  Shape shape = Shape::unary_unary;
  std::string method, peer;
  std::uint64_t endpoint_id = 0;
  std::uint32_t loop = 0;
  double start_time = 0, deadline = 0, end_time = 0;
  Metadata invocation_metadata, initial_metadata, trailing_metadata;
  std::uint64_t messages_in = 0, messages_out = 0, bytes_in = 0, bytes_out = 0;
  bool half_closed = false, done = false;
  StatusCode code = StatusCode::OK;
  std::string details, cancelled_by;
  std::vector<InterceptorRecord> interceptors;
  std::uint64_t last_event_seq = 0;  ///< CallRecord::last_event_seq when copied
  /// Finished and counted in a CallSummary its loop has not sent yet (so
  /// one that comes after the snapshot that copies it).
  bool in_later_summary = false;
};
CallView view(const CallRecord& r);

struct EndpointView {
  std::uint64_t id = 0;
  EndpointRecord::Kind kind = EndpointRecord::Kind::channel;
  std::string target, state;
  std::uint32_t loop = 0;
  std::uint64_t calls_started = 0, calls_ok = 0, calls_failed = 0, calls_active = 0;
  std::vector<std::pair<double, std::string>> history;
  std::vector<std::string> services;
  std::vector<std::string> tls_addresses;
};
EndpointView view(const EndpointRecord& r);

// -- events ------------------------------------------------------------------------

/// Summarized calls of one method, side, endpoint and loop (CallSummary).
struct SummaryView {
  std::string method;
  Side side = Side::client;
  std::uint64_t endpoint_id = 0;
  std::uint32_t loop = 0;
  std::uint64_t calls = 0, messages_in = 0, messages_out = 0, bytes_in = 0, bytes_out = 0;
  std::vector<std::pair<StatusCode, std::uint64_t>> codes;
  /// Calls per latency bucket (kLatencyBounds): one count more than bounds.
  std::vector<std::uint64_t> latency;
};
/// The summaries' latency buckets (seconds): 1-2-5 steps from 100 µs to 50 s.
inline constexpr double kLatencyBounds[] = {1e-4, 2e-4, 5e-4, 1e-3, 2e-3, 5e-3, 1e-2, 2e-2, 5e-2,
                                            0.1,  0.2,  0.5,  1.0,  2.0,  5.0,  10.0, 20.0, 50.0};

/// One event, pointing at what it is about (nothing is copied to publish it).
struct EventRef {
  enum class Kind { started, headers, message_in, message_out, half_closed, status, interceptors, endpoint, summary };
  Kind kind = Kind::started;
  double time = 0;  ///< (its seq is given when it is appended: Watcher::append)
  const CallRecord* call = nullptr;         ///< every kind but endpoint (the record as it is now)
  const grpc::ByteBuffer* message = nullptr;  ///< message_in/out: its bytes
  std::uint32_t size = 0;                   ///< message_in/out: its size
  const EndpointView* endpoint = nullptr;   ///< endpoint
  const SummaryView* summary = nullptr;     ///< summary
};

/// Turns an event into the bytes of one actio.inspect.v1.Event (inspect.cpp
/// implements it; it also applies the inspection's redaction). Called on the
/// thread that publishes the event.
class EventEncoder {
 public:
  virtual ~EventEncoder() = default;
  /// Appends the serialized Event to `out`.
  virtual void encode(const EventRef& event, std::size_t head_bytes, std::string& out) const = 0;
};

/// One Watch stream: every event is serialized on the thread that publishes
/// it and appended, framed as EventBatch.events, to a bounded byte buffer;
/// the watch's loop takes the buffer whole and sends it as one message. So
/// the loops build nothing for the watcher to free, the watcher's thread
/// only hands bytes to gRPC, and it is woken at most once per batch.
class Watcher : public std::enable_shared_from_this<Watcher> {
 public:
  Watcher(EventLoop& loop, std::shared_ptr<const EventEncoder> encoder, std::size_t head_bytes, bool calls_only,
          std::uint32_t max_calls_per_second = 0)
      : loop_(&loop),
        encoder_(std::move(encoder)),
        head_bytes_(head_bytes),
        calls_only_(calls_only),
        max_calls_per_second_(max_calls_per_second) {}
  bool calls_only() const noexcept { return calls_only_; }
  /// Calls sent one by one per second and loop; 0: all. With a rate the
  /// watch sends on its own clock, so appending wakes nothing.
  std::uint32_t max_calls_per_second() const noexcept { return max_calls_per_second_; }
  std::size_t head_bytes() const noexcept { return head_bytes_; }
  const EventEncoder& encoder() const noexcept { return *encoder_; }
  /// Appends one Event, serialized without its seq, and the seq (under the
  /// registry's publishing lock, so in seq order); past kMaxBytes it is dropped.
  void append(std::uint64_t seq, std::string_view event);
  /// Takes what is queued (loop thread): the events, framed as
  /// EventBatch.events, and how many. `reuse` (an emptied earlier batch)
  /// becomes the next buffer, so its memory is used again.
  std::string take(std::size_t& events, std::string reuse = {});
  /// No more events or wakes (the watch ended).
  void close();
  actio::Event& ready() noexcept { return ready_; }
  std::uint64_t dropped() const noexcept { return dropped_.load(std::memory_order_relaxed); }
  /// Bytes waiting before events are dropped (a watcher that fell behind).
  static constexpr std::size_t kMaxBytes = 16u << 20;

 private:
  EventLoop* loop_;
  std::shared_ptr<const EventEncoder> encoder_;
  std::size_t head_bytes_;
  bool calls_only_;
  std::uint32_t max_calls_per_second_;
  std::mutex mu_;
  std::string buffer_;
  std::size_t events_ = 0;
  bool wake_posted_ = false;
  bool closed_ = false;
  std::atomic<std::uint64_t> dropped_{0};
  actio::Event ready_;  // set on the loop thread
};

/// What the registry holds outside the loops (endpoints, counters).
struct Snapshot {
  double time = 0;
  std::vector<EndpointView> endpoints;
  std::uint64_t dropped = 0;
};

/// The calling loop's records, copied (run on each loop for a Snapshot).
struct LoopCalls {
  std::vector<CallView> live, recent;  ///< empty unless asked for
  std::size_t live_count = 0;
};
LoopCalls local_calls(bool copy_calls = true);
/// The finished calls of loops that have ended (a stopped server's serving
/// loops), copied: a loop hands its ring to the registry when its thread
/// exits, into one ring of recent_capacity() for the whole process.
std::vector<CallView> ended_loops_calls();
/// How many finished calls each loop keeps, the loops that ended keep
/// together, and a Snapshot shows (the newest of them all).
std::size_t recent_capacity() noexcept;

// -- the registry --------------------------------------------------------------------

/// Turns inspection on (recent: how many finished calls to keep).
void enable(std::size_t recent_calls);
/// Turns it off: no new records (live ones finish normally).
void disable();
Snapshot snapshot();
/// The seq of the last event published so far.
std::uint64_t last_seq() noexcept;
std::shared_ptr<Watcher> add_watcher(EventLoop& loop, std::shared_ptr<const EventEncoder> encoder,
                                     std::size_t head_bytes, bool calls_only = false,
                                     std::uint32_t max_calls_per_second = 0);
/// The rate in effect (the watchers' largest; 0 if one wants every call, or
/// nobody watches).
std::uint32_t max_calls_per_second() noexcept;
/// On a loop's thread: publishes its CallSummary events and promotes its
/// summarized calls that have run for kPromoteAfter (the Watch posts it to
/// every loop about every 100 ms while calls may be summarized).
void flush_summaries();
/// Brackets a Snapshot from before it reads its seq until every loop has
/// copied its calls: meanwhile no loop sends its summaries (except at its
/// shutdown), so a call a copy marks in_later_summary is counted in a
/// summary with a seq after the snapshot's, and one it does not mark, in a
/// summary before it.
void snapshot_started() noexcept;
void snapshot_ended() noexcept;
/// How long a summarized call runs before it is sent one by one (seconds).
inline constexpr double kPromoteAfter = 0.1;
/// Appends `v` as a protobuf varint.
inline void put_varint(std::string& out, std::uint64_t v) {
  if (v < 0x80) {  // tags, small lengths and counts: most of them
    out.push_back(static_cast<char>(v));
    return;
  }
  char bytes[10];
  std::size_t n = 0;
  for (; v >= 0x80; v >>= 7) bytes[n++] = static_cast<char>(v | 0x80);
  bytes[n++] = static_cast<char>(v);
  out.append(bytes, n);
}
/// Appends the first `n` bytes of a message (at most) to `out`; returns how many.
std::size_t append_head(std::string& out, const grpc::ByteBuffer& bytes, std::size_t n);
void remove_watcher(const std::shared_ptr<Watcher>& watcher);

// -- hooks (on the call's loop thread) ----------------------------------------------------

std::shared_ptr<EndpointRecord> endpoint_added(EndpointRecord::Kind kind, std::string target, std::uint32_t loop,
                                               std::shared_ptr<grpc::Channel> channel = nullptr);
void endpoint_state(EndpointRecord& e, std::string state);
/// "IDLE", "CONNECTING", "READY", "TRANSIENT_FAILURE" or "SHUTDOWN".
const char* channel_state_name(grpc_connectivity_state s);
void endpoint_removed(const std::shared_ptr<EndpointRecord>& e);

/// A new call: null when inspection is off. Its record may be an old one's,
/// reused (when nothing but the ring held it any more).
std::shared_ptr<CallRecord> call_started(Side side, Shape shape, std::string_view method, std::string_view peer,
                                         std::shared_ptr<EndpointRecord> endpoint, std::uint32_t loop,
                                         double deadline, const Metadata& invocation_metadata);
/// Received metadata as a gRPC server context holds it.
using WireMetadata = std::multimap<grpc::string_ref, grpc::string_ref>;
/// A server call: its record's metadata is filled from gRPC's, in place (a
/// reused record keeps its strings' memory; ServerCall then reads it there).
std::shared_ptr<CallRecord> call_started(Side side, Shape shape, std::string_view method, std::string_view peer,
                                         std::shared_ptr<EndpointRecord> endpoint, std::uint32_t loop,
                                         double deadline, const WireMetadata& invocation_metadata);
void message(CallRecord& r, bool in, const grpc::ByteBuffer& bytes);
void headers(CallRecord& r, const Metadata& metadata);
void half_closed(CallRecord& r);
void interceptors(CallRecord& r, std::vector<InterceptorRecord> steps);
void finished(CallRecord& r, StatusCode code, const std::string& details, const Metadata& trailing,
              const char* cancelled_by);

}  // namespace actio::detail::inspect
