#include <cxxabi.h>

#include <grpc/support/alloc.h>

#include <caf/all.hpp>
#include <typeinfo>
#include <utility>

#include "actio/actors.hpp"
#include "detail/client_call.hpp"
#include "detail/interceptor_changes.hpp"
#include "detail/loop_actor.hpp"
#include "detail/server_state.hpp"

namespace actio {
namespace detail {

namespace {
std::string demangle(const std::type_info& ti) {
  int status = 0;
  char* name = abi::__cxa_demangle(ti.name(), nullptr, nullptr, &status);
  std::string out = status == 0 && name ? name : ti.name();
  std::free(name);
  return out;
}
}  // namespace

ServerCall::ServerCall(ServerLoop& sl, int method_index)
    : sl_(&sl), index_(method_index), context_(*this) {
  accept_op_.self = finish_op_.self = done_op_.self = send_md_op_.self = write_op_.self = read_op_.self = this;
  // Only the method's own kind of responder (each is a few CallOpSets:
  // 0.9 to 1.8 KiB), in one variant.
  switch (kind()) {
    case RpcKind::unary_unary: io_.emplace<Responder>(&ctx_); break;
    case RpcKind::unary_stream: io_.emplace<Writer>(&ctx_); break;
    case RpcKind::stream_unary:
    case RpcKind::stream_stream: io_.emplace<Stream>(&ctx_); break;
  }
}

bool ServerCall::streaming_request() const {
  auto k = kind();
  return k == RpcKind::stream_unary || k == RpcKind::stream_stream;
}

RpcKind ServerCall::kind() const { return sl_->server().handler(index_).kind; }

ServerCall::~ServerCall() {
  release_slot();
  if (counted_running_) sl_->call_ended(index_);
}

void ServerCall::release_slot() noexcept {
  if (!counted_active_) return;
  counted_active_ = false;
  sl_->server().active_rpcs().fetch_sub(1, std::memory_order_relaxed);
}

void ServerCall::request() {
  ctx_.AsyncNotifyWhenDone(&done_op_);
  auto [service, local] = sl_->server().slot(index_);
  if (streaming_request()) {
    service->request_bidi(local, &ctx_, stream(), sl_->cq(), sl_->cq(), &accept_op_);
  } else if (kind() == RpcKind::unary_stream) {
    service->request_server_streaming(local, &ctx_, &request_, writer(), sl_->cq(), sl_->cq(), &accept_op_);
  } else {
    service->request_unary(local, &ctx_, &request_, responder(), sl_->cq(), sl_->cq(), &accept_op_);
  }
  start_op();
}

const std::string& ServerCall::method() const { return sl_->server().method_name(index_); }

void ServerCall::on_accept(bool ok) {
  end_op();
  sl_->accepted(index_, ok);
  if (!ok) {  // the server is shutting down; the done tag never comes
    maybe_destroy();
    return;
  }
  counted_running_ = true;
  start_op();  // the done tag is now armed
  auto& server = sl_->server();
  int active = server.active_rpcs().fetch_add(1, std::memory_order_relaxed) + 1;
  counted_active_ = true;
  const auto& opts = server.options();
  if (opts.maximum_concurrent_rpcs && active > *opts.maximum_concurrent_rpcs) {
    if (inspect::enabled() && server.inspected()) start_inspection();
    code_ = StatusCode::RESOURCE_EXHAUSTED;
    details_ = "Concurrent RPC limit exceeded!";
    send_status();
    return;
  }
  if (opts.compression) {
    ctx_.set_compression_algorithm(static_cast<grpc_compression_algorithm>(static_cast<int>(*opts.compression)));
  }
  if (inspect::enabled() && server.inspected()) start_inspection();
  task_ = server.options().interceptors.empty() ? server.handler(index_).invoke(context_) : run_intercepted();
  drive();
}

void ServerCall::start_inspection() {
  auto t = time_remaining();
  double deadline = t ? inspect::now() + t->count() : 0;
  // The peer straight from the core (no std::string of it per call); the
  // metadata into the record, where invocation_metadata() then reads it.
  char* peer = grpc_call_get_peer(ctx_.c_call());
  rec_ = inspect::call_started(inspect::Side::server, static_cast<inspect::Shape>(static_cast<int>(kind()) + 1),
                               method(), peer ? std::string_view(peer) : std::string_view(),
                               sl_->server().endpoint_record(), loop().id(), deadline, ctx_.client_metadata());
  gpr_free(peer);
  if (rec_ && !streaming_request()) {
    inspect::message(*rec_, true, request_);
    inspect::half_closed(*rec_);
  }
}

namespace {
/// `co_await FrameOf{&h}` stores the awaiting coroutine's handle in `h` and
/// goes on at once.
struct FrameOf {
  std::coroutine_handle<>* out;
  bool await_ready() const noexcept { return false; }
  bool await_suspend(std::coroutine_handle<> h) const noexcept {
    *out = h;
    return false;
  }
  void await_resume() const noexcept {}
};
}  // namespace

Detached ServerCall::drive() {
  ++pending_;
  handler_running_ = true;
  co_await FrameOf{&drive_frame_};
  sl_->handler_started(this);
  try {
    co_await task_;
  } catch (const AbortError&) {
  } catch (const CancelledError&) {
    if (!cancelled_ && !status_sent_) {
      code_ = StatusCode::CANCELLED;
      details_ = "Cancelled";
    }
  } catch (const std::exception& e) {
    if (!code_set_ || code_ == StatusCode::OK) {
      code_ = StatusCode::UNKNOWN;
      details_ = "Unexpected " + demangle(typeid(e)) + ": " + e.what();
    }
  } catch (...) {
    if (!code_set_ || code_ == StatusCode::OK) {
      code_ = StatusCode::UNKNOWN;
      details_ = "Unexpected exception";
    }
  }
  handler_running_ = false;
  drive_frame_ = {};
  sl_->handler_ended(this);
  task_ = {};
  if (!status_sent_ && !cancelled_) send_status();
  handler_finished_ = true;
  run_done_callbacks();
  --pending_;
  maybe_destroy();
}

void ServerCall::cancel_handler() {
  // Once: a second cancel would cut short the cleanup of a handler that
  // caught the first.
  if (handler_running_ && !handler_cancelled_) {
    handler_cancelled_ = true;
    task_.cancel();
  }
}

void ServerCall::abandon_handler() {
  sl_->handler_ended(this);
  handler_running_ = false;
  // The handler's frames first (its locals' destructors run, on the loop,
  // which still exists), then drive()'s, suspended in `co_await task_`.
  task_ = {};
  std::exchange(drive_frame_, {}).destroy();
  // No status: the server has shut down (gRPC has ended the call).
  handler_finished_ = true;
  run_done_callbacks();
  --pending_;
  maybe_destroy();
}

void ServerCall::send_status() {
  status_sent_ = true;
  // The handler is done: its slot of maximum_concurrent_rpcs is free now (as
  // grpc.aio frees it when the handler's task ends), not when gRPC's done
  // notice comes; a refused call gives back the slot it briefly took.
  release_slot();
  {
    // Reported after the observers may have changed the response, and before
    // its bytes go to gRPC (which takes them over: detail/send_buffer.hpp).
    struct Report {
      ServerCall* self;
      ~Report() {
        if (!self->rec_) return;
        if (self->code_ == StatusCode::OK &&
            (self->kind() == RpcKind::unary_unary || self->kind() == RpcKind::stream_unary)) {
          inspect::message(*self->rec_, false, self->response_);
        }
        inspect::finished(*self->rec_, self->code_, self->details_, self->trailing_md_,
                          self->code_ == StatusCode::CANCELLED ? "local" : nullptr);
      }
    } report{this};
    bool unary_response = kind() == RpcKind::unary_unary || kind() == RpcKind::stream_unary;
    if (code_ == StatusCode::OK && unary_response && !response_observers_.empty()) {
      observe(response_observers_, response_);
    }
  }
  for (const auto& [k, v] : trailing_md_) ctx_.AddTrailingMetadata(k, v);
  grpc::Status status(static_cast<grpc::StatusCode>(code_), code_ == StatusCode::OK ? "" : details_);
  if (kind() == RpcKind::stream_unary && code_ == StatusCode::OK) {
    grpc::WriteOptions options;
    if (no_compress_next_) options.set_no_compression();
    stream()->WriteAndFinish(SendBuffer{&response_}, options, status, &finish_op_);
  } else if (streaming_request()) {
    stream()->Finish(status, &finish_op_);
  } else if (kind() == RpcKind::unary_stream) {
    writer()->Finish(grpc::Status(static_cast<grpc::StatusCode>(code_), code_ == StatusCode::OK ? "" : details_),
                   &finish_op_);
  } else if (code_ == StatusCode::OK) {
    // A unary responder's Finish takes no write options: the one message goes
    // uncompressed by asking for identity for the call, which the initial
    // metadata (sent with it, unless the handler sent them first) carries.
    if (no_compress_next_ && !initial_md_sent_) ctx_.set_compression_algorithm(GRPC_COMPRESS_NONE);
    responder()->Finish(SendBuffer{&response_}, grpc::Status::OK, &finish_op_);
  } else {
    responder()->FinishWithError(grpc::Status(static_cast<grpc::StatusCode>(code_), details_), &finish_op_);
  }
  start_op();
}

void ServerCall::on_finish(bool) {
  end_op();
  maybe_destroy();
}

void ServerCall::on_done(bool) {
  end_op();
  done_notice_ = true;
  if (ctx_.IsCancelled()) {
    cancelled_ = true;
    cancel_handler();
    if (rec_) {
      // Who: the deadline, the server's own stop (its grace ran out), or else the client.
      bool deadline = time_remaining() && time_remaining()->count() <= 0;
      const char* by = deadline ? "deadline" : sl_->server().cancelling_calls() ? "shutdown" : "peer";
      inspect::finished(*rec_, deadline ? StatusCode::DEADLINE_EXCEEDED : StatusCode::CANCELLED,
                        deadline ? "Deadline Exceeded" : "Cancelled", {}, by);
    }
  }
  run_done_callbacks();
  maybe_destroy();
}

// After the handler and the done notice, whichever comes last: a handler can
// see its requests end (a failed read) before gRPC has said whether the
// client half-closed or cancelled; the callbacks always know (cancelled()).
void ServerCall::run_done_callbacks() {
  if (!handler_finished_ || !done_notice_ || callbacks_ran_) return;
  callbacks_ran_ = true;
  auto callbacks = std::move(done_callbacks_);
  done_callbacks_.clear();
  for (auto& cb : callbacks) {
    try {
      cb(context_);
    } catch (...) {
      // One failing callback must not skip the others (grpc.aio skips them).
    }
  }
}

void ServerCall::on_send_md(bool) {
  end_op();
  send_md_done_.set();
  maybe_destroy();
}

void ServerCall::maybe_destroy() {
  if (pending_ == 0) delete this;
}

const grpc::ByteBuffer& ServerCall::request_buffer() {
  if (!request_observed_ && !request_observers_.empty()) {
    request_observed_ = true;
    observe(request_observers_, request_);
  }
  return request_;
}

void ServerCall::observe(std::vector<std::function<void(Message&)>>& observers, grpc::ByteBuffer& buffer) {
  Message m;
  m.buffer() = buffer;
  for (auto& fn : observers) fn(m);
  buffer = m.buffer();
}

void ServerCall::set_value(const std::type_info& type, std::shared_ptr<void> value) {
  for (auto& [t, v] : values_) {
    if (*t == type) {
      v = std::move(value);
      return;
    }
  }
  values_.emplace_back(&type, std::move(value));
}

void* ServerCall::value(const std::type_info& type) const {
  for (const auto& [t, v] : values_) {
    if (*t == type) return v.get();
  }
  return nullptr;
}

namespace {
using Clock = std::chrono::steady_clock;
const char* kind_name(RpcKind k) {
  switch (k) {
    case RpcKind::unary_stream: return "unary-stream";
    case RpcKind::stream_unary: return "stream-unary";
    case RpcKind::stream_stream: return "stream-stream";
    case RpcKind::unary_unary: break;
  }
  return "unary-unary";
}
}  // namespace

Task<void> ServerCall::run_intercepted() {
  HandlerCallDetails details;
  details.method = method();
  details.invocation_metadata = invocation_metadata();
  details.kind = kind();
  records_.resize(sl_->server().options().interceptors.size());
  auto handler = co_await run_chain(0, std::move(details));
  if (rec_) inspect::interceptors(*rec_, records_);
  if (!handler || !handler->invoke) abort(StatusCode::UNIMPLEMENTED, "Method not found!", std::nullopt, true);
  if (handler->kind != kind()) {
    abort(StatusCode::INTERNAL,
          std::string("A server interceptor gave a ") + kind_name(handler->kind) + " handler for a " +
              kind_name(kind()) + " method",
          std::nullopt, true);
  }
  intercepted_ = std::move(*handler);  // lives as long as the call (wrappers refer to it)
  co_await intercepted_->invoke(context_);
}

Task<std::optional<RpcMethodHandler>> ServerCall::run_chain(std::size_t i, HandlerCallDetails details) {
  const auto& list = sl_->server().options().interceptors;
  if (i == list.size()) {
    const RpcMethodHandler* h = sl_->server().find_handler(details.method);
    if (!h) co_return std::nullopt;
    co_return *h;
  }
  auto& record = records_[i];
  if (record.name.empty()) record.name = list[i]->name();
  ++record.runs;
  HandlerCallDetails received = details;
  ServerContinuation continuation = [self = this, i, received](HandlerCallDetails d) {
    return continue_chain(self, i, received, std::move(d));
  };
  auto start = Clock::now();
  std::optional<RpcMethodHandler> handler;
  try {
    handler = co_await list[i]->intercept_service(std::move(continuation), std::move(details));
  } catch (const AbortError&) {
    record.total += Clock::now() - start;
    record.changes.emplace_back("aborted");
    throw;
  } catch (const std::exception& e) {
    record.total += Clock::now() - start;
    record.changes.emplace_back(std::string("failed: ") + e.what());
    throw;
  }
  record.total += Clock::now() - start;
  if (!handler) {
    record.changes.emplace_back("gave no handler");
  } else if (record.continuation_calls == 0) {
    record.changes.emplace_back("handled without the service's handler");
  }
  co_return handler;
}

Task<std::optional<RpcMethodHandler>> ServerCall::continue_chain(ServerCall* self, std::size_t i,
                                                                 HandlerCallDetails received,
                                                                 HandlerCallDetails details) {
  auto& record = self->records_[i];
  ++record.continuation_calls;
  // What the interceptor changed, as for client interceptors (each change
  // once, however often it continues).
  if (received.method != details.method)
    note_change(record.changes, "method " + received.method + " -> " + details.method);
  note_metadata_changes(received.invocation_metadata, details.invocation_metadata, record.changes);
  auto start = Clock::now();
  auto handler = co_await self->run_chain(i + 1, std::move(details));
  record.in_continuation += Clock::now() - start;
  co_return handler;
}

const Metadata& ServerCall::invocation_metadata() {
  if (rec_) return rec_->invocation_metadata;  // the same, converted once (start_inspection)
  if (!invocation_md_) invocation_md_ = to_metadata(ctx_.client_metadata());
  return *invocation_md_;
}

std::optional<Duration> ServerCall::time_remaining() const {
  gpr_timespec raw = ctx_.raw_deadline();
  if (gpr_time_cmp(raw, gpr_inf_future(raw.clock_type)) == 0) return std::nullopt;
  auto left = ctx_.deadline() - std::chrono::system_clock::now();
  if (left < std::chrono::system_clock::duration::zero() || cancelled_) left = {};
  return std::chrono::duration_cast<Duration>(left);
}

Task<void> ServerCall::send_initial_metadata(Metadata md) {
  if (initial_md_sent_ || status_sent_) throw UsageError("Send initial metadata failed: already sent");
  initial_md_sent_ = true;
  for (const auto& [k, v] : md) ctx_.AddInitialMetadata(k, v);
  if (rec_) inspect::headers(*rec_, md);
  ++pending_;  // keeps this alive until the coroutine is done with it
  if (streaming_request()) {
    stream()->SendInitialMetadata(&send_md_op_);
  } else if (kind() == RpcKind::unary_stream) {
    writer()->SendInitialMetadata(&send_md_op_);
  } else {
    responder()->SendInitialMetadata(&send_md_op_);
  }
  start_op();
  struct Unpin {
    ServerCall* self;
    ~Unpin() { --self->pending_; }
  } unpin{this};
  co_await send_md_done_.wait();
}

Task<void> ServerCall::write(std::unique_ptr<grpc::ByteBuffer> message) {
  if (aborted_) throw AbortError();
  if (status_sent_) throw UsageError("RPC already finished.");
  if (cancelled_) throw CancelledError("the RPC was cancelled");
  if (write_pending_) throw UsageError("only one write at a time: await the previous write()");
  if (kind() != RpcKind::unary_stream && kind() != RpcKind::stream_stream) {
    throw UsageError("write() is for streaming responses");
  }
  initial_md_sent_ = true;
  write_pending_ = true;
  write_done_.clear();
  ++pending_;
  struct Unpin {
    ServerCall* self;
    ~Unpin() { --self->pending_; }
  } unpin{this};
  if (!response_observers_.empty()) observe(response_observers_, *message);
  if (rec_) inspect::message(*rec_, false, *message);
  grpc::WriteOptions options;
  if (std::exchange(no_compress_next_, false)) options.set_no_compression();
  if (kind() == RpcKind::stream_stream) {
    stream()->Write(SendBuffer{message.get()}, options, &write_op_);
  } else {
    writer()->Write(SendBuffer{message.get()}, options, &write_op_);
  }
  start_op();
  co_await write_done_.wait();
  if (!write_ok_) throw CancelledError("the RPC was cancelled");
}

Task<bool> ServerCall::read_next() {
  if (aborted_) throw AbortError();
  if (status_sent_) throw UsageError("RPC already finished.");
  if (!streaming_request() || read_ended_) co_return false;
  if (read_pending_) throw UsageError("only one read at a time: await the previous read()");
  read_pending_ = true;
  read_done_.clear();
  ++pending_;
  struct Unpin {
    ServerCall* self;
    ~Unpin() { --self->pending_; }
  } unpin{this};
  stream()->Read(&read_buf_, &read_op_);
  start_op();
  co_await read_done_.wait();
  if (!read_ok_) read_ended_ = true;
  if (read_ok_ && !request_observers_.empty()) observe(request_observers_, read_buf_);
  if (rec_) {
    if (read_ok_) {
      inspect::message(*rec_, true, read_buf_);
    } else {
      inspect::half_closed(*rec_);
    }
  }
  co_return read_ok_;
}

void ServerCall::on_read(bool ok) {
  end_op();
  read_pending_ = false;
  read_ok_ = ok;
  read_done_.set();
  maybe_destroy();
}

void ServerCall::on_write(bool ok) {
  end_op();
  write_pending_ = false;
  write_ok_ = ok;
  write_done_.set();
  maybe_destroy();
}

void ServerCall::abort(StatusCode code, std::string details, std::optional<Metadata> trailing, bool internal) {
  if (status_sent_) {
    if (internal) throw AbortError();
    throw UsageError("Abort already called!");
  }
  if (code == StatusCode::OK) throw UsageError("abort() needs a non-OK status code");
  code_ = code;
  code_set_ = true;
  if (!details.empty()) details_ = std::move(details);
  if (trailing) trailing_md_ = std::move(*trailing);
  if (!cancelled_) send_status();
  status_sent_ = true;
  aborted_ = true;
  throw AbortError();
}

void ServerCall::add_done_callback(std::function<void(ServicerContext&)> cb) {
  if (callbacks_ran_) {  // already done: now
    cb(context_);
    return;
  }
  done_callbacks_.push_back(std::move(cb));
}

void ServerCall::set_compression(Compression algorithm) {
  if (initial_md_sent_ || status_sent_) {
    throw UsageError("set_compression() after the initial metadata was sent");
  }
  ctx_.set_compression_algorithm(static_cast<grpc_compression_algorithm>(static_cast<int>(algorithm)));
}

caf::actor ServerCall::actor() {
  if (!actor_) {
    actor_ = std::make_unique<LoopActor>(loop(), caf::behavior{[this](cancel_atom) {
                                           if (done()) return false;
                                           ctx_.TryCancel();
                                           return true;
                                         }},
                                         "server call", method());
  }
  return actor_->handle();
}

}  // namespace detail

// -- ServicerContext --------------------------------------------------------------

namespace {
detail::ServerCall& on_loop(detail::ServerCall* call, const char* what) {
  call->loop().check_thread(what);
  return *call;
}
}  // namespace

const Metadata& ServicerContext::invocation_metadata() const {
  return on_loop(call_, "ServicerContext::invocation_metadata").invocation_metadata();
}
std::string ServicerContext::peer() const { return on_loop(call_, "ServicerContext::peer").peer(); }
const std::string& ServicerContext::method() const { return on_loop(call_, "ServicerContext::method").method(); }
std::optional<Duration> ServicerContext::time_remaining() const {
  return on_loop(call_, "ServicerContext::time_remaining").time_remaining();
}
Task<void> ServicerContext::send_initial_metadata(const Metadata& metadata) {
  return on_loop(call_, "ServicerContext::send_initial_metadata").send_initial_metadata(metadata);
}
Task<void> ServicerContext::write_bytes_(grpc::ByteBuffer* message) {
  std::unique_ptr<grpc::ByteBuffer> owned(message);
  return on_loop(call_, "ServicerContext::write").write(std::move(owned));
}
Task<bool> ServicerContext::read_next_() { return on_loop(call_, "ServicerContext::read").read_next(); }
const grpc::ByteBuffer& ServicerContext::read_buffer_() const { return call_->read_buffer(); }
void ServicerContext::set_trailing_metadata(const Metadata& metadata) {
  on_loop(call_, "ServicerContext::set_trailing_metadata").set_trailing_metadata(metadata);
}
void ServicerContext::set_code(StatusCode code) { on_loop(call_, "ServicerContext::set_code").set_code(code); }
void ServicerContext::set_details(std::string details) {
  on_loop(call_, "ServicerContext::set_details").set_details(std::move(details));
}
StatusCode ServicerContext::code() const { return on_loop(call_, "ServicerContext::code").code(); }
const std::string& ServicerContext::details() const {
  return on_loop(call_, "ServicerContext::details").details();
}
const Metadata& ServicerContext::trailing_metadata() const {
  return on_loop(call_, "ServicerContext::trailing_metadata").trailing_metadata();
}
void ServicerContext::abort(StatusCode code, std::string details, std::optional<Metadata> trailing_metadata) {
  on_loop(call_, "ServicerContext::abort").abort(code, std::move(details), std::move(trailing_metadata), false);
}
void ServicerContext::abort_with_status(const Status& status) {
  // As grpc.aio: empty trailing metadata falls back to set_trailing_metadata's.
  std::optional<Metadata> trailing;
  if (!status.trailing_metadata.empty()) trailing = status.trailing_metadata;
  abort(status.code, status.details, std::move(trailing));
}
bool ServicerContext::cancelled() const { return on_loop(call_, "ServicerContext::cancelled").cancelled(); }
bool ServicerContext::done() const { return on_loop(call_, "ServicerContext::done").done(); }
void ServicerContext::add_done_callback(std::function<void(ServicerContext&)> cb) {
  on_loop(call_, "ServicerContext::add_done_callback").add_done_callback(std::move(cb));
}
std::map<std::string, std::vector<std::string>> ServicerContext::auth_context() const {
  auto& call = on_loop(call_, "ServicerContext::auth_context");
  std::map<std::string, std::vector<std::string>> out;
  auto ctx = call.grpc_context().auth_context();
  if (!ctx) return out;
  for (auto it = ctx->begin(); it != ctx->end(); ++it) {
    auto [name, value] = *it;
    out[std::string(name.data(), name.size())].emplace_back(value.data(), value.size());
  }
  return out;
}

std::vector<std::string> ServicerContext::peer_identities() const {
  auto& call = on_loop(call_, "ServicerContext::peer_identities");
  std::vector<std::string> out;
  auto ctx = call.grpc_context().auth_context();
  if (!ctx || !ctx->IsPeerAuthenticated()) return out;
  for (const auto& id : ctx->GetPeerIdentity()) out.emplace_back(id.data(), id.size());
  return out;
}

std::string ServicerContext::peer_identity_key() const {
  auto& call = on_loop(call_, "ServicerContext::peer_identity_key");
  auto ctx = call.grpc_context().auth_context();
  if (!ctx || !ctx->IsPeerAuthenticated()) return {};
  return ctx->GetPeerIdentityPropertyName();
}

void ServicerContext::set_compression(Compression algorithm) {
  on_loop(call_, "ServicerContext::set_compression").set_compression(algorithm);
}
void ServicerContext::disable_next_message_compression() {
  on_loop(call_, "ServicerContext::disable_next_message_compression").disable_next_message_compression();
}
caf::actor ServicerContext::actor() { return on_loop(call_, "ServicerContext::actor").actor(); }
const grpc::ByteBuffer& ServicerContext::request_buffer_() const { return call_->request_buffer(); }
grpc::ByteBuffer& ServicerContext::response_buffer_() { return call_->response_buffer(); }
void ServicerContext::set_value_(const std::type_info& type, std::shared_ptr<void> value) {
  on_loop(call_, "ServicerContext::set_value").set_value(type, std::move(value));
}
void* ServicerContext::value_(const std::type_info& type) const {
  return on_loop(call_, "ServicerContext::value").value(type);
}
void ServicerContext::add_request_observer(std::function<void(Message&)> fn) {
  on_loop(call_, "ServicerContext::add_request_observer").add_request_observer(std::move(fn));
}
void ServicerContext::add_response_observer(std::function<void(Message&)> fn) {
  on_loop(call_, "ServicerContext::add_response_observer").add_response_observer(std::move(fn));
}
std::vector<InterceptorRecord> ServicerContext::interceptors() const {
  return on_loop(call_, "ServicerContext::interceptors").records();
}

namespace {
Task<void> reject(ServicerContext& context, StatusCode code, std::string details) {
  context.abort(code, std::move(details));
  co_return;
}
}  // namespace

RpcMethodHandler rejecting_handler(RpcKind kind, StatusCode code, std::string details) {
  if (code == StatusCode::OK) throw UsageError("rejecting_handler needs a non-OK status code");
  return {kind, [code, details = std::move(details)](ServicerContext& context) {
            return reject(context, code, details);
          }};
}

RpcMethodHandler wrap_handler(RpcMethodHandler handler, HandlerWrapper around) {
  if (!handler.invoke) throw UsageError("wrap_handler: the handler is empty");
  if (!around) throw UsageError("wrap_handler: the wrapper is empty");
  RpcKind kind = handler.kind;
  return {kind, [inner = std::move(handler), around = std::move(around)](ServicerContext& context) {
            return around(context, inner);
          }};
}

void ServicerContext::fail_to_parse_request_() {
  call_->abort(StatusCode::INTERNAL, "Failed to parse request message", std::nullopt, true);
}

}  // namespace actio
