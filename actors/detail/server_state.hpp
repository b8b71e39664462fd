#pragma once
// The server actor's state, its serving loops and the server-call actors.

#include <grpcpp/impl/service_type.h>
#include <grpcpp/server.h>
#include <grpcpp/server_context.h>
#include <grpcpp/support/async_unary_call.h>
#include <grpcpp/support/byte_buffer.h>

#include <atomic>
#include <chrono>
#include <deque>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "actio/event.hpp"
#include "actio/event_loop.hpp"
#include "actio/server.hpp"
#include "actio/servicer_context.hpp"
#include "detail/intrusive_list.hpp"
#include "detail/registry.hpp"
#include "detail/send_buffer.hpp"

namespace actio::detail {

class LoopActor;
class ServerState;

/// A grpc::Service whose methods are registered by name at run time and
/// served asynchronously with raw ByteBuffer payloads.
class ActioService : public grpc::Service {
 public:
  ActioService(const std::vector<const std::string*>& method_names, const std::vector<RpcKind>& kinds);
  void request_unary(int index, grpc::ServerContext* ctx, grpc::ByteBuffer* request,
                     grpc::ServerAsyncResponseWriter<SendBuffer>* writer, grpc::CompletionQueue* cq,
                     grpc::ServerCompletionQueue* notify_cq, void* tag) {
    RequestAsyncUnary(index, ctx, request, writer, cq, notify_cq, tag);
  }
  void request_server_streaming(int index, grpc::ServerContext* ctx, grpc::ByteBuffer* request,
                                grpc::ServerAsyncWriter<SendBuffer>* writer, grpc::CompletionQueue* cq,
                                grpc::ServerCompletionQueue* notify_cq, void* tag) {
    RequestAsyncServerStreaming(index, ctx, request, writer, cq, notify_cq, tag);
  }
  void request_bidi(int index, grpc::ServerContext* ctx,
                    grpc::ServerAsyncReaderWriter<SendBuffer, grpc::ByteBuffer>* stream,
                    grpc::CompletionQueue* cq, grpc::ServerCompletionQueue* notify_cq, void* tag) {
    RequestAsyncBidiStreaming(index, ctx, stream, cq, notify_cq, tag);
  }
};

class ServerCall;

/// One serving thread: an EventLoop driving one ServerCompletionQueue.
class ServerLoop {
 public:
  ServerLoop(ServerState& server, int index, std::unique_ptr<grpc::ServerCompletionQueue> cq);
  ~ServerLoop();
  /// Starts the thread and posts the initial accepts.
  void start();
  /// Makes the loop return and joins the thread (after grpc Shutdown).
  void stop_and_join();

  ServerState& server() const noexcept { return *server_; }
  EventLoop& loop() const noexcept { return *loop_; }
  grpc::ServerCompletionQueue* cq() const noexcept { return scq_; }
  /// Posts one more accept for method `index`.
  void accept(int index);
  /// An accept of method `index` got a call (or failed: `got_call` false).
  void accepted(int index, bool got_call);
  /// A call of method `index` that accepted() counted has ended.
  void call_ended(int index) noexcept;
  /// Brackets a call's handler (the loop keeps the running ones listed).
  void handler_started(ServerCall* call) noexcept;
  void handler_ended(ServerCall* call) noexcept;

  /// How long a serving loop runs on after the server's shutdown for the
  /// handlers still running (cancelled, e.g. cleaning up after catching the
  /// CancelledError); past it, their coroutines are destroyed.
  static constexpr Duration kHandlerExitTimeout = std::chrono::seconds(1);

  /// Outstanding accepts per method and loop follow the method's running
  /// calls on the loop, between accepts_per_method and this many: a burst of
  /// calls then finds accepts waiting instead of queueing in gRPC's server
  /// (a lock and a match per call), and a quiet method holds few.
  static constexpr int kMaxAcceptsPerMethod = 128;

 private:
  struct MethodLoad {
    int outstanding = 0;  // accepts posted, not completed
    int running = 0;      // calls accepted, not ended
  };
  /// After the loop's run: cancels the handlers still running, runs the
  /// loop until they return (at most kHandlerExitTimeout), then destroys
  /// the coroutines of those that did not.
  void finish_handlers(EventLoop& loop);

  std::vector<MethodLoad> load_;
  IntrusiveList<ServerCall> handlers_;  // the calls whose handler runs
  bool draining_ = false;
  ServerState* server_;
  int index_;
  std::unique_ptr<grpc::ServerCompletionQueue> owned_cq_;
  grpc::ServerCompletionQueue* scq_;
  EventLoop* loop_ = nullptr;
  std::thread thread_;
};

/// A server-call actor: one accepted (or awaited) call; on its loop's list
/// of running handlers (ListLinks) while its handler runs.
class ServerCall : public ListLinks<ServerCall> {
 public:
  ServerCall(ServerLoop& sl, int method_index);
  ~ServerCall();
  void request();

  // One per accept, made and freed on its loop (3.3 KiB, mostly gRPC's
  // context and its one reader/writer): from the thread's cache of freed blocks
  // (actio/task.hpp), not malloc's large bins.
  static void* operator new(std::size_t size) { return allocate_frame(size); }
  static void operator delete(void* p, std::size_t size) noexcept { free_frame(p, size); }

  // -- ServicerContext operations (loop thread) -------------------------------

  EventLoop& loop() const noexcept { return sl_->loop(); }
  const Metadata& invocation_metadata();
  std::string peer() const { return ctx_.peer(); }
  const grpc::ServerContext& grpc_context() const noexcept { return ctx_; }
  const std::string& method() const;
  std::optional<Duration> time_remaining() const;
  Task<void> send_initial_metadata(Metadata md);
  /// Sends one response message (streaming responses); one write at a time.
  Task<void> write(std::unique_ptr<grpc::ByteBuffer> message);
  /// Reads the next request of a streaming-request call into read_buffer():
  /// false once the client half-closed (always false for unary requests).
  Task<bool> read_next();
  const grpc::ByteBuffer& read_buffer() const noexcept { return read_buf_; }
  void set_trailing_metadata(const Metadata& md) { trailing_md_ = md; }
  void set_code(StatusCode c) {
    code_ = c;
    code_set_ = true;
  }
  void set_details(std::string d) { details_ = std::move(d); }
  StatusCode code() const noexcept { return code_; }
  const std::string& details() const noexcept { return details_; }
  const Metadata& trailing_metadata() const noexcept { return trailing_md_; }
  [[noreturn]] void abort(StatusCode code, std::string details, std::optional<Metadata> trailing, bool internal);
  bool cancelled() const noexcept { return cancelled_ || (status_sent_ && code_ == StatusCode::CANCELLED); }
  bool done() const noexcept { return status_sent_ || cancelled_; }
  void add_done_callback(std::function<void(ServicerContext&)> cb);
  void set_compression(Compression algorithm);
  void disable_next_message_compression() noexcept { no_compress_next_ = true; }
  const grpc::ByteBuffer& request_buffer();
  grpc::ByteBuffer& response_buffer() noexcept { return response_; }
  caf::actor actor();

  // -- server interceptors ------------------------------------------------------

  void add_request_observer(std::function<void(Message&)> fn) { request_observers_.push_back(std::move(fn)); }
  void add_response_observer(std::function<void(Message&)> fn) { response_observers_.push_back(std::move(fn)); }
  void set_value(const std::type_info& type, std::shared_ptr<void> value);
  void* value(const std::type_info& type) const;
  const std::vector<InterceptorRecord>& records() const noexcept { return records_; }

 private:
  template <void (ServerCall::*Fn)(bool)>
  struct MemberOp final : Op {
    ServerCall* self = nullptr;
    void complete(bool ok) override { (self->*Fn)(ok); }
  };

  void on_accept(bool ok);
  void on_finish(bool ok);
  void on_done(bool ok);
  void run_done_callbacks();
  void on_send_md(bool ok);
  void on_write(bool ok);
  void on_read(bool ok);
  bool streaming_request() const;
  RpcKind kind() const;
  Detached drive();
  void send_status();
  void release_slot() noexcept;
  void start_inspection();
  void start_op() {
    ++pending_;
    loop().op_started();
  }
  void end_op() {
    --pending_;
    loop().op_finished();
  }
  void maybe_destroy();
  /// Cancels the running handler, once (the client cancelled, or the
  /// server is finishing its loop).
  void cancel_handler();
  /// Destroys the running handler's coroutine, and drive()'s, as if the
  /// handler had returned cancelled (the serving loop is ending).
  void abandon_handler();
  /// Runs the server interceptors, then the handler they gave.
  Task<void> run_intercepted();
  Task<std::optional<RpcMethodHandler>> run_chain(std::size_t i, HandlerCallDetails details);
  static Task<std::optional<RpcMethodHandler>> continue_chain(ServerCall* self, std::size_t i,
                                                              HandlerCallDetails received, HandlerCallDetails details);
  void observe(std::vector<std::function<void(Message&)>>& observers, grpc::ByteBuffer& buffer);

  ServerLoop* sl_;
  int index_;
  grpc::ServerContext ctx_;
  grpc::ByteBuffer request_;
  grpc::ByteBuffer response_;
  // The method's kind of responder (one of the three).
  using Responder = grpc::ServerAsyncResponseWriter<SendBuffer>;
  using Writer = grpc::ServerAsyncWriter<SendBuffer>;
  using Stream = grpc::ServerAsyncReaderWriter<SendBuffer, grpc::ByteBuffer>;
  std::variant<std::monostate, Responder, Writer, Stream> io_;
  Responder* responder() noexcept { return std::get_if<Responder>(&io_); }
  Writer* writer() noexcept { return std::get_if<Writer>(&io_); }
  Stream* stream() noexcept { return std::get_if<Stream>(&io_); }
  grpc::ByteBuffer read_buf_;
  Event read_done_;
  bool read_pending_ = false;
  bool read_ok_ = false;
  bool read_ended_ = false;
  ServicerContext context_;
  std::optional<Metadata> invocation_md_;
  Metadata trailing_md_;
  StatusCode code_ = StatusCode::OK;
  std::string details_;
  bool code_set_ = false;
  bool status_sent_ = false;
  bool initial_md_sent_ = false;
  bool cancelled_ = false;
  bool handler_running_ = false;
  bool handler_cancelled_ = false;  // cancel_handler() ran (it cancels once)
  // Done callbacks run once both happened: the handler returned, and gRPC's
  // done notice came (only it says for sure whether the call was cancelled).
  bool handler_finished_ = false;
  bool done_notice_ = false;
  bool callbacks_ran_ = false;
  bool counted_active_ = false;  // holds one of the server's active_rpcs (released by release_slot())
  bool counted_running_ = false;  // in its loop's running calls of the method
  int pending_ = 0;
  Task<void> task_;
  std::coroutine_handle<> drive_frame_;  // drive(), while it awaits task_
  Event send_md_done_;
  Event write_done_;
  bool write_pending_ = false;
  bool write_ok_ = true;
  bool aborted_ = false;
  bool no_compress_next_ = false;
  std::vector<std::function<void(ServicerContext&)>> done_callbacks_;
  std::unique_ptr<LoopActor> actor_;
  // Server interceptors: the handler they gave, what they did, and what
  // they hand the handler.
  std::optional<RpcMethodHandler> intercepted_;
  std::vector<InterceptorRecord> records_;
  std::vector<std::function<void(Message&)>> request_observers_;
  std::vector<std::function<void(Message&)>> response_observers_;
  bool request_observed_ = false;
  std::vector<std::pair<const std::type_info*, std::shared_ptr<void>>> values_;
  std::shared_ptr<inspect::CallRecord> rec_;  // null unless inspected
  MemberOp<&ServerCall::on_accept> accept_op_;
  MemberOp<&ServerCall::on_finish> finish_op_;
  MemberOp<&ServerCall::on_done> done_op_;
  MemberOp<&ServerCall::on_send_md> send_md_op_;
  MemberOp<&ServerCall::on_write> write_op_;
  MemberOp<&ServerCall::on_read> read_op_;

  friend class ServerLoop;
};

/// The server actor's state, on its home loop.
class ServerState : public std::enable_shared_from_this<ServerState> {
 public:
  enum class Phase { created, running, stopping, stopped };

  ServerState(EventLoop& home, ServerOptions options);
  ~ServerState();

  // -- configuration ----------------------------------------------------------

  int add_insecure_port(const std::string& address) { return add_port(address, nullptr); }
  int add_port(const std::string& address, std::shared_ptr<grpc::ServerCredentials> credentials);
  /// The arguments turn grpc.so_reuseport on (it is off by default).
  bool reuseport() const;
  void add_handlers(const std::vector<GenericRpcHandler>& handlers);

  // -- lifecycle --------------------------------------------------------------

  void start();
  void set_serving_status(const std::string& service, bool serving);
  Task<void> stop(std::optional<Duration> grace);
  Task<bool> wait_for_termination(std::optional<Duration> timeout);
  caf::actor actor();
  /// Its listening addresses, joined by ",".
  std::string join_addresses() const;

  // -- serving loops (any thread; read-only after start) ----------------------

  EventLoop& home() const noexcept { return *home_; }
  Phase phase() const noexcept { return phase_; }
  const ServerOptions& options() const noexcept { return options_; }
  /// The gRPC service holding method `index` and the method's index in it.
  std::pair<ActioService*, int> slot(int index) const noexcept { return slots_[static_cast<std::size_t>(index)]; }
  const RpcMethodHandler& handler(int index) const noexcept { return *method_handlers_[index]; }
  const std::string& method_name(int index) const noexcept { return method_names_[index]; }
  /// The handler registered for `method`, or null (for interceptors' routing).
  const RpcMethodHandler* find_handler(const std::string& method) const {
    auto it = handlers_.find(method);
    return it == handlers_.end() ? nullptr : &it->second;
  }
  int method_count() const noexcept { return static_cast<int>(method_names_.size()); }
  std::atomic<int>& active_rpcs() noexcept { return active_rpcs_; }
  /// The inspection record (null unless inspected; the inspector's own server is not).
  const std::shared_ptr<inspect::EndpointRecord>& endpoint_record() const noexcept { return endpoint_; }
  void set_inspected(bool on) noexcept { inspected_ = on; }
  bool inspected() const noexcept { return inspected_; }
  bool accepting() const noexcept { return accepting_.load(std::memory_order_acquire); }
  /// Whether a stop's grace has run out, so that gRPC cancels the calls left
  /// (any thread: a serving loop asks when a call ends cancelled, to tell the
  /// inspector "shutdown" rather than "peer").
  bool cancelling_calls() const noexcept { return std::chrono::steady_clock::now() >= stop_deadline(); }

 private:
  using SteadyTime = std::chrono::steady_clock::time_point;
  SteadyTime stop_deadline() const noexcept {
    return SteadyTime(SteadyTime::duration(stop_deadline_.load(std::memory_order_acquire)));
  }
  void set_stop_deadline(SteadyTime t) noexcept {
    stop_deadline_.store(t.time_since_epoch().count(), std::memory_order_release);
  }
  void stop_blocking(std::chrono::system_clock::time_point deadline);
  void finish_stop();

  EventLoop* home_;
  ServerOptions options_;
  Phase phase_ = Phase::created;
  std::vector<std::string> addresses_;
  std::vector<std::shared_ptr<grpc::ServerCredentials>> port_credentials_;
  std::vector<bool> port_tls_;  // per address: added with add_secure_port
  std::vector<int> ports_;
  std::map<std::string, RpcMethodHandler> handlers_;
  std::deque<std::string> method_names_;
  std::vector<const RpcMethodHandler*> method_handlers_;
  // One gRPC service per proto service ("/pkg.Svc/..."), so that server
  // reflection and the health service see every service name.
  std::vector<std::unique_ptr<ActioService>> services_;
  std::vector<std::pair<ActioService*, int>> slots_;
  std::unique_ptr<grpc::Server> server_;
  std::vector<std::unique_ptr<ServerLoop>> loops_;
  std::atomic<int> active_rpcs_{0};
  std::atomic<bool> accepting_{true};
  std::thread stopper_;
  // When a stop's grace runs out (steady_clock ticks; never until a stop).
  // Set on the home loop, read by the serving loops (cancelling_calls).
  std::atomic<SteadyTime::rep> stop_deadline_{std::numeric_limits<SteadyTime::rep>::max()};
  TimerId cancel_timer_;
  Event terminated_;
  std::uint64_t hook_id_ = 0;
  std::unique_ptr<LoopActor> actor_;
  bool inspected_ = true;
  std::shared_ptr<inspect::EndpointRecord> endpoint_;
};

}  // namespace actio::detail
