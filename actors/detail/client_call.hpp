#pragma once
// The client-call actor's state (loop-local; see actio/call.hpp for the handle).

#include <grpcpp/client_context.h>
#include <grpcpp/support/byte_buffer.h>

#include <chrono>
#include <list>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "actio/call.hpp"
#include "actio/event.hpp"
#include "actio/event_loop.hpp"
#include "actio/metadata.hpp"
#include "actio/options.hpp"
#include "detail/intrusive_list.hpp"
#include "detail/registry.hpp"
#include "detail/send_buffer.hpp"

namespace actio::detail {

class ChannelState;
struct RegisteredMethod;
class LoopActor;
class Interception;

/// Converts gRPC's received metadata into Metadata.
template <class Multimap>
Metadata to_metadata(const Multimap& in) {
  Metadata md;
  md.assign_unchecked(in);
  return md;
}

/// On its channel's list of live calls (ListLinks).
class ClientCall : public ListLinks<ClientCall> {
 public:
  // -- member types ---------------------------------------------------------

  enum class Shape { unary_unary, unary_stream, stream_unary, stream_stream };

  // -- constructors ---------------------------------------------------------

  ClientCall(std::shared_ptr<ChannelState> channel, const std::string& method, Shape shape,
             const CallOptions& options);
  ~ClientCall();

  // One per call, made and freed on its loop: from the thread's cache of
  // freed blocks (actio/task.hpp), not malloc's slow path for big chunks.
  static void* operator new(std::size_t size) { return allocate_frame(size); }
  static void operator delete(void* p, std::size_t size) noexcept { free_frame(p, size); }

  // -- lifetime (loop thread) -----------------------------------------------

  void add_ref() noexcept { ++handle_refs_; }
  void release() noexcept;
  EventLoop& loop() const noexcept { return *loop_; }

  // -- starting -------------------------------------------------------------

  /// Starts a unary call with the encoded request.
  void start_unary();
  /// Starts a unary-stream call: sends the request and half-closes.
  void start_unary_stream();
  /// Starts a stream-request call (stream-unary or bidi).
  void start_streaming();
  void create_stream();
  /// Checks a write is allowed now, encodes it, and returns the write.
  Task<void> write_request(EncodeFn encode, const void* request, const void* codec, bool from_iterator);
  /// Half-closes (idempotent; a no-op once the call is done).
  Task<void> done_writing(bool from_iterator);
  /// Stream-unary: reads the single response into response() and the status.
  Task<void> await_unary_response();
  void set_iterator_driven() noexcept { iterator_driven_ = true; }
  /// Reads the next streamed message into read_buffer(): true if one came,
  /// false at a clean end; throws CancelledError / AioRpcError otherwise.
  /// With `into.decode`, decodes the message into `into.out` too (read_into;
  /// `codec` and `keep` hold what `into` and the call need until the end).
  Task<bool> read_next(bool from_iterator, DecodeInto into = {}, std::shared_ptr<const void> codec = {},
                       Call keep = {});
  const grpc::ByteBuffer& read_buffer() const noexcept { return read_buf_; }
  /// Makes sure the final status will arrive without a reader (see .cpp).
  void fetch_status();
  /// Streams: asks gRPC for the server's headers now (initial_metadata()
  /// then resolves when they arrive, not with the first message).
  void request_initial_metadata();
  /// Set once the call's metadata went out (or it failed to start).
  Event& start_event() noexcept { return start_ev_; }
  bool started() const noexcept { return start_ok_; }
  grpc::ByteBuffer& request() noexcept { return request_; }

  // -- state ----------------------------------------------------------------

  /// Sets the final status to CANCELLED with `details` (false if already done).
  bool cancel(const char* details);
  bool done() const noexcept { return done_; }
  bool locally_cancelled() const noexcept { return local_cancel_; }
  StatusCode code() const noexcept { return code_; }
  const std::string& details() const noexcept { return details_; }
  const std::string& debug_error_string() const noexcept { return debug_; }
  /// The server's metadata; taken from gRPC on first use after the status
  /// (a call whose metadata nobody reads does not convert it).
  const Metadata& initial_metadata() const;
  const Metadata& trailing_metadata() const;
  const grpc::ByteBuffer& response() const noexcept { return response_; }
  const std::string& method() const noexcept { return *method_; }
  std::optional<Duration> time_remaining() const;
  Event& done_event() noexcept { return done_ev_; }
  Event& initial_metadata_event() noexcept { return initial_ev_; }
  void add_done_callback(std::function<void(const Call&)> cb);
  caf::actor actor();
  const char* shape_name() const noexcept;

  // -- interception (see detail/interception.hpp) ---------------------------

  /// Reports the call to the inspection registry (user-facing calls only:
  /// not the inner calls of an interceptor chain). A no-op when inspection is off.
  void inspect(const CallOptions& options);
  inspect::CallRecord* record() const noexcept { return rec_.get(); }

  /// Makes this call a proxy driven by an interceptor chain (before use).
  void make_proxy();
  /// The proxy's interception; null for a plain call.
  Interception* interception() const noexcept { return icpt_.get(); }

 private:
  template <void (ClientCall::*Fn)(bool)>
  struct MemberOp final : Op {
    ClientCall* self = nullptr;
    void complete(bool ok) override { (self->*Fn)(ok); }
  };

  void on_finish(bool ok);
  void on_read(bool ok);
  void on_stream_op(bool ok);
  void on_start(bool ok);
  void on_write(bool ok);
  void on_initial_md(bool ok);
  Task<void> write_pending_message();
  void start_op() noexcept {
    ++ops_pending_;
    loop_->op_started();
  }
  void end_op() noexcept {
    --ops_pending_;
    loop_->op_finished();
  }
  void issue_finish();
  /// Issues one Read into `into`: true if a message came.
  void start_read(grpc::ByteBuffer& into);
  bool finish_read(const grpc::ByteBuffer& got_into);
  /// read_into: decodes read_buffer() into `into.out` (INTERNAL if it does not decode).
  void decode_read(const DecodeInto& into) const;
  Detached pump(Call keep);
  /// Records the final status, wakes waiters, schedules done callbacks.
  void set_done();
  void maybe_destroy() noexcept;

  EventLoop* loop_;
  std::shared_ptr<ChannelState> channel_;
  // The channel's registered name (it outlives the call), or own_method_
  // past the channel's kMaxRegisteredMethods names.
  const RegisteredMethod* registered_ = nullptr;
  std::string own_method_;
  const std::string* method_ = nullptr;
  Shape shape_;
  int handle_refs_ = 1;
  int ops_pending_ = 0;
  bool finish_issued_ = false;
  bool read_pending_ = false;
  bool read_got_message_ = false;
  bool start_ok_ = false;
  bool write_pending_ = false;
  bool write_ok_ = false;
  bool half_closed_ = false;
  bool iterator_driven_ = false;
  enum class ReadStyle : unsigned char { none, read, iterate } read_style_ = ReadStyle::none;
  bool response_ready_ = false;
  bool done_ = false;
  bool local_cancel_ = false;
  bool in_live_list_ = false;

  grpc::ClientContext ctx_;
  grpc::ByteBuffer request_;
  grpc::ByteBuffer response_;
  grpc::Status grpc_status_;
  std::unique_ptr<grpc::GenericClientAsyncResponseReader> unary_reader_;
  std::unique_ptr<ClientStream> stream_;
  grpc::ByteBuffer read_buf_;
  grpc::ByteBuffer write_buf_;
  Event read_ev_;
  Event pump_ev_;
  std::list<grpc::ByteBuffer> pumped_;  // (a std::deque would allocate in every call's constructor)
  grpc::ByteBuffer pump_buf_;  // a member: a cancel may leave its Read in flight
  bool pumping_ = false;
  Event start_ev_;
  Event write_ev_;
  std::optional<std::chrono::steady_clock::time_point> deadline_;

  StatusCode code_ = StatusCode::UNKNOWN;
  std::string details_;
  std::string debug_;
  // Converted from ctx_ by the accessors when their flag is set (on_finish).
  mutable Metadata initial_md_;
  mutable Metadata trailing_md_;
  mutable bool initial_md_from_ctx_ = false;
  mutable bool trailing_md_from_ctx_ = false;
  bool initial_md_converted_ = false;  // headers came before the status
  Event done_ev_;
  Event initial_ev_;
  std::vector<std::function<void(const Call&)>> callbacks_;
  std::unique_ptr<LoopActor> actor_;
  std::unique_ptr<Interception> icpt_;
  std::shared_ptr<inspect::CallRecord> rec_;  // null unless inspected
  bool headers_reported_ = false;
  bool md_pending_ = false;  // a ReadInitialMetadata is in flight (no Read may start)
  MemberOp<&ClientCall::on_finish> finish_op_;
  MemberOp<&ClientCall::on_read> read_op_;
  MemberOp<&ClientCall::on_stream_op> write_op_;
  MemberOp<&ClientCall::on_start> start_op_;
  MemberOp<&ClientCall::on_write> swrite_op_;
  MemberOp<&ClientCall::on_initial_md> md_op_;

  friend class ChannelState;
  friend class Interception;
};

}  // namespace actio::detail
