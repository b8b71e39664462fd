#include "detail/client_call.hpp"

#include <caf/all.hpp>

#include "actio/actors.hpp"
#include "actio/security.hpp"
#include "detail/channel_state.hpp"
#include "detail/interception.hpp"
#include "detail/loop_actor.hpp"

namespace actio {
namespace detail {

namespace {
constexpr const char* kLocalCancel = "Locally cancelled by application!";
constexpr const char* kGcCancel = "Cancelled upon garbage collection!";

grpc_compression_algorithm to_grpc(Compression c) {
  switch (c) {
    case Compression::Deflate: return GRPC_COMPRESS_DEFLATE;
    case Compression::Gzip: return GRPC_COMPRESS_GZIP;
    case Compression::NoCompression: break;
  }
  return GRPC_COMPRESS_NONE;
}
}  // namespace

ClientCall::ClientCall(std::shared_ptr<ChannelState> channel, const std::string& method, Shape shape,
                       const CallOptions& options)
    : loop_(&channel->loop()), channel_(std::move(channel)), shape_(shape) {
  registered_ = channel_->registered_method(method);
  if (registered_) {
    method_ = registered_->name;
  } else {
    own_method_ = method;
    method_ = &own_method_;
  }
  finish_op_.self = read_op_.self = write_op_.self = start_op_.self = swrite_op_.self = md_op_.self = this;
  if (options.credentials && *options.credentials.get()) {
    if (!channel_->secure()) throw UsageError("Call credentials are only valid on secure channels");
    ctx_.set_credentials((*options.credentials.get())->get());
  }
  if (options.timeout) {
    auto d = std::chrono::duration_cast<std::chrono::steady_clock::duration>(*options.timeout);
    deadline_ = std::chrono::steady_clock::now() + d;
    ctx_.set_deadline(std::chrono::system_clock::now() +
                      std::chrono::duration_cast<std::chrono::system_clock::duration>(*options.timeout));
  }
  if (const Metadata* md = options.metadata.get()) {
    for (const auto& [k, v] : *md) ctx_.AddMetadata(k, v);
  }
  if (options.wait_for_ready) ctx_.set_wait_for_ready(*options.wait_for_ready);
  if (options.compression) ctx_.set_compression_algorithm(to_grpc(*options.compression));
  channel_->link(this);
  in_live_list_ = true;
}

ClientCall::~ClientCall() {
  if (in_live_list_) channel_->unlink(this);
}

void ClientCall::inspect(const CallOptions& options) {
  if (!inspect::enabled()) return;
  static const Metadata kNone;
  const Metadata& md = options.metadata ? *options.metadata.get() : kNone;
  double deadline = options.timeout ? inspect::now() + options.timeout->count() : 0;
  rec_ = inspect::call_started(inspect::Side::client, static_cast<inspect::Shape>(static_cast<int>(shape_) + 1),
                               *method_, channel_->target(), channel_->endpoint_record(), loop_->id(), deadline, md);
  if (!rec_) return;
  if (shape_ == Shape::unary_unary || shape_ == Shape::unary_stream) {
    if (!icpt_) inspect::message(*rec_, false, request_);
    inspect::half_closed(*rec_);
  }
}

void ClientCall::make_proxy() { icpt_ = std::make_unique<Interception>(*this); }

// Calls start like a generated stub's: from the method registered with the
// channel when there is one (ChannelState::registered_method), else from the
// name (as grpc::GenericStub does).
void ClientCall::start_unary() {
  grpc::internal::RpcMethod by_name(method_->c_str(), grpc::internal::RpcMethod::NORMAL_RPC);
  unary_reader_.reset(grpc::internal::ClientAsyncResponseReaderHelper::Create<grpc::ByteBuffer>(
      &channel_->channel(), loop_->cq(), registered_ ? registered_->unary : by_name, &ctx_, SendBuffer{&request_}));
  unary_reader_->StartCall();
  unary_reader_->Finish(&response_, &grpc_status_, &finish_op_);
  finish_issued_ = true;
  start_op();
}

void ClientCall::start_unary_stream() {
  // Corked: StartCall only buffers the initial metadata (no op, its tag never
  // comes back), and WriteLast sends metadata, request and half-close in one
  // batch, as a typed server-streaming stub does.
  ctx_.set_initial_metadata_corked(true);
  create_stream();
  stream_->StartCall(nullptr);
  stream_->WriteLast(SendBuffer{&request_}, grpc::WriteOptions(), &write_op_);
  start_op();
}

void ClientCall::start_streaming() {
  create_stream();
  stream_->StartCall(&start_op_);
  start_op();
}

void ClientCall::create_stream() {
  grpc::internal::RpcMethod by_name(method_->c_str(), grpc::internal::RpcMethod::BIDI_STREAMING);
  stream_.reset(grpc::internal::ClientAsyncReaderWriterFactory<SendBuffer, grpc::ByteBuffer>::Create(
      &channel_->channel(), loop_->cq(), registered_ ? registered_->streaming : by_name, &ctx_, false, nullptr));
}

void ClientCall::on_start(bool ok) {
  end_op();
  start_ok_ = ok;
  start_ev_.set();
  ++handle_refs_;
  release();
}

Task<void> ClientCall::write_request(EncodeFn encode, const void* request, const void* codec, bool from_iterator) {
  loop_->check_thread("write");
  if (iterator_driven_ && !from_iterator) {
    throw UsageError("The iterator and read/write APIs may not be mixed on a single RPC.");
  }
  if (done_) throw InvalidStateError("RPC already finished.");
  if (half_closed_) throw InvalidStateError("RPC is half closed after calling \"done_writing\".");
  if (write_pending_) throw UsageError("write() called while another write() is pending");
  if (icpt_) {  // into the interceptors' request stream
    Message m;
    encode(request, codec, m.buffer());
    write_pending_ = true;
    if (rec_) inspect::message(*rec_, false, m.buffer());
    return icpt_->write(std::move(m));
  }
  encode(request, codec, write_buf_);
  write_pending_ = true;
  if (rec_) inspect::message(*rec_, false, write_buf_);
  return write_pending_message();
}

Task<void> ClientCall::write_pending_message() {
  Call keep((add_ref(), this));
  struct Clear {
    bool& flag;
    ~Clear() { flag = false; }
  } clear{write_pending_};
  co_await CallWaiter(start_ev_, this);
  if (done_ || !start_ok_) throw InvalidStateError("RPC already finished.");
  write_ev_.clear();
  write_ok_ = false;  // a cancel wakes us before the op completes: not written
  stream_->Write(SendBuffer{&write_buf_}, &swrite_op_);
  start_op();
  co_await CallWaiter(write_ev_, this);
  if (!write_ok_) throw InvalidStateError("RPC already finished.");
}

Task<void> ClientCall::done_writing(bool from_iterator) {
  loop_->check_thread("done_writing");
  if (iterator_driven_ && !from_iterator) {
    throw UsageError("The iterator and read/write APIs may not be mixed on a single RPC.");
  }
  if (write_pending_) throw UsageError("done_writing() called while a write() is pending");
  Call keep((add_ref(), this));
  if (done_ || half_closed_) co_return;
  half_closed_ = true;
  if (rec_) inspect::half_closed(*rec_);
  if (icpt_) {
    icpt_->close_requests();
    co_return;
  }
  co_await CallWaiter(start_ev_, this);
  if (done_ || !start_ok_) co_return;
  write_ev_.clear();
  stream_->WritesDone(&swrite_op_);
  start_op();
  co_await CallWaiter(write_ev_, this);
}

void ClientCall::on_write(bool ok) {
  end_op();
  write_ok_ = ok;
  write_ev_.set();
  ++handle_refs_;
  release();
}

Task<void> ClientCall::await_unary_response() {
  Call keep((add_ref(), this));
  // (The status may have come first: code() read the response ahead.)
  if (!icpt_ && !response_ready_ && (!done_ || !pumped_.empty())) {
    if (co_await read_next(false)) {
      response_ = read_buf_;
      response_ready_ = true;
      while (co_await read_next(false)) {
      }
    }
  } else if (!done_) {
    co_await CallWaiter(done_ev_, this);
  }
  throw_if_failed(this);
  if (!response_ready_) throw AioRpcError(StatusCode::INTERNAL, "No message returned for unary request");
}

void ClientCall::on_stream_op(bool ok) {
  end_op();
  // Unary-stream: metadata, request and half-close went out in one batch.
  start_ok_ = ok;
  start_ev_.set();
  ++handle_refs_;
  release();
}

void ClientCall::issue_finish() {
  if (finish_issued_) return;
  finish_issued_ = true;
  stream_->Finish(&grpc_status_, &finish_op_);
  start_op();
}

void ClientCall::on_read(bool ok) {
  end_op();
  read_pending_ = false;
  if (ok) {
    read_got_message_ = true;
    if (!initial_ev_.is_set()) {
      initial_md_ = to_metadata(ctx_.GetServerInitialMetadata());
      initial_md_converted_ = true;
      initial_ev_.set();
      if (rec_ && !std::exchange(headers_reported_, true)) inspect::headers(*rec_, initial_md_);
    }
  } else {
    issue_finish();  // the stream ended (or the call failed): fetch the status
  }
  read_ev_.set();
  ++handle_refs_;
  release();
}

Task<bool> ClientCall::read_next(bool from_iterator, DecodeInto into, std::shared_ptr<const void> /*codec*/,
                                 Call /*keep*/) {
  ReadStyle style = from_iterator ? ReadStyle::iterate : ReadStyle::read;
  if (read_style_ == ReadStyle::none) read_style_ = style;
  if (read_style_ != style) throw UsageError("The iterator and read/write APIs may not be mixed on a single RPC.");
  if (read_pending_ && !pumping_) throw UsageError("read() called while another read() is pending");
  if (icpt_) {
    bool got = co_await icpt_->read();
    if (got && into.decode) decode_read(into);
    co_return got;
  }
  for (;;) {
    if (!pumped_.empty()) {  // read ahead while someone awaited the status
      read_buf_.Swap(&pumped_.front());  // (a ByteBuffer "move" would copy)
      pumped_.pop_front();
      if (into.decode) decode_read(into);
      co_return true;
    }
    if (done_ || finish_issued_) break;
    if (pumping_) {
      pump_ev_.clear();
      co_await CallWaiter(pump_ev_, this);
      continue;
    }
    if (md_pending_) {  // one metadata receiver at a time
      co_await CallWaiter(initial_ev_, this);
      continue;
    }
    start_read(read_buf_);
    co_await CallWaiter(read_ev_, this);
    if (finish_read(read_buf_)) {
      if (into.decode) decode_read(into);
      co_return true;
    }
  }
  // The stream ended, failed or was cancelled: the final status decides.
  co_await CallWaiter(done_ev_, this);
  throw_if_failed(this);
  co_return false;
}

void ClientCall::decode_read(const DecodeInto& into) const {
  if (!into.decode(into.codec, read_buf_, into.out)) {
    throw AioRpcError(StatusCode::INTERNAL, "Failed to deserialize response message");
  }
}

void ClientCall::request_initial_metadata() {
  if (!stream_ || icpt_ || done_ || md_pending_ || read_pending_ || finish_issued_ || initial_ev_.is_set()) return;
  md_pending_ = true;
  stream_->ReadInitialMetadata(&md_op_);
  start_op();
}

void ClientCall::on_initial_md(bool ok) {
  end_op();
  md_pending_ = false;
  if (ok && !initial_ev_.is_set()) {
    initial_md_ = to_metadata(ctx_.GetServerInitialMetadata());
    initial_md_converted_ = true;
    if (rec_ && !std::exchange(headers_reported_, true)) inspect::headers(*rec_, initial_md_);
  }
  initial_ev_.set();  // failed: the status will tell; waiters see no headers
  ++handle_refs_;
  release();
}

// A read is two halves around the wait, so that read() and the pump await
// the op directly (no coroutine frame of its own per message).
void ClientCall::start_read(grpc::ByteBuffer& into) {
  read_ev_.clear();
  read_got_message_ = false;
  read_pending_ = true;
  stream_->Read(&into, &read_op_);
  start_op();
}

bool ClientCall::finish_read(const grpc::ByteBuffer& got_into) {
  bool got = std::exchange(read_got_message_, false);
  if (got && rec_) inspect::message(*rec_, true, got_into);
  return got;
}

void ClientCall::fetch_status() {
  // The status of a stream comes after its messages: if nobody is reading,
  // read ahead into a queue that read() serves first, so code(), details()
  // and the metadata never wait on a reader (the queue holds what the
  // server sent and nobody read yet).
  if (icpt_) {
    icpt_->fetch_status();
    return;
  }
  if (!stream_ || done_ || finish_issued_ || pumping_) return;
  pumping_ = true;
  pump(Call((add_ref(), this)));
}

Detached ClientCall::pump(Call /*keep: holds the call while pumping*/) {
  try {
    while (!done_ && !finish_issued_) {
      if (read_pending_) {  // a reader's op is in flight: let it land first
        co_await read_ev_.wait();
        continue;
      }
      if (md_pending_) {  // one metadata receiver at a time
        co_await CallWaiter(initial_ev_, this);
        continue;
      }
      start_read(pump_buf_);
      co_await CallWaiter(read_ev_, this);
      if (finish_read(pump_buf_)) pumped_.emplace_back().Swap(&pump_buf_);
      pump_ev_.set();
    }
  } catch (...) {
    // Cancelled: the call's status says so.
  }
  pumping_ = false;
  pump_ev_.set();
}

void ClientCall::release() noexcept {
  if (--handle_refs_ == 0) {
    if (!done_) cancel(kGcCancel);
    maybe_destroy();
  }
}

void ClientCall::maybe_destroy() noexcept {
  if (handle_refs_ == 0 && ops_pending_ == 0) delete this;
}

bool ClientCall::cancel(const char* details) {
  if (done_) return false;
  local_cancel_ = true;
  code_ = StatusCode::CANCELLED;
  details_ = details;
  ctx_.TryCancel();
  set_done();
  if (icpt_) icpt_->on_cancel();
  return true;
}

void ClientCall::on_finish(bool /*ok*/) {
  end_op();
  if (!done_) {
    code_ = status_code_from_int(grpc_status_.error_code());
    if (!grpc_status_.error_message().empty()) details_ = grpc_status_.error_message();
    debug_ = ctx_.debug_error_string();
    // The metadata stays in ctx_ until somebody asks (initial_metadata()).
    initial_md_from_ctx_ = !initial_md_converted_;
    trailing_md_from_ctx_ = true;
    if (rec_ && shape_ == Shape::unary_unary && code_ == StatusCode::OK) inspect::message(*rec_, true, response_);
    set_done();
  }
  ++handle_refs_;  // keep alive across maybe_destroy while callbacks are queued
  release();
}

const Metadata& ClientCall::initial_metadata() const {
  if (initial_md_from_ctx_) {
    initial_md_from_ctx_ = false;
    initial_md_ = to_metadata(ctx_.GetServerInitialMetadata());
  }
  return initial_md_;
}

const Metadata& ClientCall::trailing_metadata() const {
  if (trailing_md_from_ctx_) {
    trailing_md_from_ctx_ = false;
    trailing_md_ = to_metadata(ctx_.GetServerTrailingMetadata());
  }
  return trailing_md_;
}

void ClientCall::set_done() {
  done_ = true;
  if (rec_) {
    if (!std::exchange(headers_reported_, true)) inspect::headers(*rec_, initial_metadata());
    const char* by = local_cancel_                              ? "local"
                     : code_ == StatusCode::DEADLINE_EXCEEDED ? "deadline"
                     : code_ == StatusCode::CANCELLED         ? "peer"
                                                                : nullptr;
    inspect::finished(*rec_, code_, details_, trailing_metadata(), by);
  }
  if (in_live_list_) {
    in_live_list_ = false;
    channel_->unlink(this);
  }
  if (icpt_) icpt_->on_done();
  initial_ev_.set();
  done_ev_.set();
  read_ev_.set();
  start_ev_.set();
  write_ev_.set();
  if (!callbacks_.empty()) {
    auto cbs = std::move(callbacks_);
    callbacks_.clear();
    add_ref();
    Call handle(this);
    loop_->call_soon([cbs = std::move(cbs), handle = std::move(handle)] {
      for (const auto& cb : cbs) cb(handle);
    });
  }
}

void ClientCall::add_done_callback(std::function<void(const Call&)> cb) {
  if (done_) {
    add_ref();
    Call handle(this);
    cb(handle);
    return;
  }
  callbacks_.push_back(std::move(cb));
}

std::optional<Duration> ClientCall::time_remaining() const {
  if (!deadline_) return std::nullopt;
  auto left = *deadline_ - std::chrono::steady_clock::now();
  if (left < std::chrono::steady_clock::duration::zero()) left = {};
  return std::chrono::duration_cast<Duration>(left);
}

const char* ClientCall::shape_name() const noexcept {
  switch (shape_) {
    case Shape::unary_stream: return "UnaryStreamCall";
    case Shape::stream_unary: return "StreamUnaryCall";
    case Shape::stream_stream: return "StreamStreamCall";
    case Shape::unary_unary: break;
  }
  return "UnaryUnaryCall";
}

caf::actor ClientCall::actor() {
  if (!actor_) {
    actor_ = std::make_unique<LoopActor>(
        *loop_, caf::behavior{
                    [this](cancel_atom) { return cancel(kLocalCancel); },
                    [this](status_atom) -> caf::result<int, std::string> {
                      auto rp = actor_->self()->make_response_promise<int, std::string>();
                      add_done_callback([rp](const Call& c) mutable {
                        auto* self = c.get();
                        rp.deliver(static_cast<int>(self->code()), self->details());
                      });
                      return rp;
                    },
                },
        "client call", *method_);
  }
  return actor_->handle();
}

// -- free functions used by the public templates ------------------------------

void add_ref(ClientCall* call) noexcept { call->add_ref(); }
void release(ClientCall* call) noexcept { call->release(); }

Task<void> write_request(ClientCall* call, EncodeFn encode, const void* request, const void* codec,
                         bool from_iterator) {
  return call->write_request(encode, request, codec, from_iterator);
}
Task<void> done_writing(ClientCall* call, bool from_iterator) { return call->done_writing(from_iterator); }
Task<void> await_unary_response(ClientCall* call) {
  call->loop().check_thread("StreamUnaryCall");
  return call->await_unary_response();
}
void set_iterator_driven(ClientCall* call) noexcept { call->set_iterator_driven(); }

Task<bool> read_next(ClientCall* call, bool from_iterator) {
  call->loop().check_thread("read");
  return call->read_next(from_iterator);
}

const grpc::ByteBuffer& read_buffer(ClientCall* call) { return call->read_buffer(); }

Task<bool> read_next_into(ClientCall* call, DecodeInto into, std::shared_ptr<const void> codec) {
  call->loop().check_thread("read");
  return call->read_next(false, into, std::move(codec), Call((call->add_ref(), call)));
}

Event& done_event(ClientCall* call) {
  call->loop().check_thread("UnaryUnaryCall");
  return call->done_event();
}

bool cancel_call(ClientCall* call) { return call->cancel(kLocalCancel); }
bool cancel_call_with(ClientCall* call, const std::string& details) { return call->cancel(details.c_str()); }

void throw_if_failed(ClientCall* call) {
  if (auto* ic = call->interception(); ic && ic->error()) std::rethrow_exception(ic->error());
  if (call->locally_cancelled()) throw CancelledError(call->details());
  if (call->code() != StatusCode::OK) {
    throw AioRpcError(call->code(), call->details(), call->initial_metadata(), call->trailing_metadata(),
                      call->debug_error_string());
  }
}

const grpc::ByteBuffer& response_buffer(ClientCall* call) { return call->response(); }

}  // namespace detail

// -- Call -----------------------------------------------------------------------

namespace {
detail::ClientCall& checked(detail::ClientCall* call, const char* what) {
  if (!call) throw UsageError(std::string(what) + " on an empty call handle");
  call->loop().check_thread(what);
  return *call;
}
}  // namespace

bool Call::cancel() { return checked(call_, "Call::cancel").cancel(detail::kLocalCancel); }

bool Call::cancelled() const {
  auto& c = checked(call_, "Call::cancelled");
  return c.done() && c.code() == StatusCode::CANCELLED;
}

bool Call::done() const { return checked(call_, "Call::done").done(); }

std::optional<Duration> Call::time_remaining() const {
  return checked(call_, "Call::time_remaining").time_remaining();
}

void Call::add_done_callback(std::function<void(const Call&)> cb) {
  checked(call_, "Call::add_done_callback").add_done_callback(std::move(cb));
}

Task<Metadata> Call::initial_metadata() const {
  Call keep = *this;
  auto& c = checked(call_, "Call::initial_metadata");
  if (auto* ic = c.interception()) co_return co_await ic->initial_metadata();
  c.request_initial_metadata();
  co_await c.initial_metadata_event().wait();
  co_return c.initial_metadata();
}

Task<Metadata> Call::trailing_metadata() const {
  Call keep = *this;
  auto& c = checked(call_, "Call::trailing_metadata");
  c.fetch_status();
  co_await c.done_event().wait();
  co_return c.trailing_metadata();
}

Task<StatusCode> Call::code() const {
  Call keep = *this;
  auto& c = checked(call_, "Call::code");
  c.fetch_status();
  co_await c.done_event().wait();
  co_return c.code();
}

Task<std::string> Call::details() const {
  Call keep = *this;
  auto& c = checked(call_, "Call::details");
  c.fetch_status();
  co_await c.done_event().wait();
  co_return c.details();
}

Task<std::string> Call::debug_error_string() const {
  Call keep = *this;
  auto& c = checked(call_, "Call::debug_error_string");
  c.fetch_status();
  co_await c.done_event().wait();
  co_return c.debug_error_string();
}

Task<void> Call::wait_for_connection() const {
  Call keep = *this;
  auto& c = checked(call_, "Call::wait_for_connection");
  if (auto* ic = c.interception()) {
    co_await ic->wait_for_connection();
    co_return;
  }
  // Returns once the call's metadata went out (the connection is up); a
  // call that failed first throws its status, as grpc.aio.
  co_await c.start_event().wait();
  if (c.done() || !c.started()) {
    c.fetch_status();
    co_await c.done_event().wait();
    detail::throw_if_failed(call_);
  }
}

const std::string& Call::method() const { return checked(call_, "Call::method").method(); }

std::string Call::repr() const {
  auto& c = checked(call_, "Call::repr");
  std::string s = "<";
  s += c.shape_name();
  s += " " + c.method();
  if (c.done()) {
    s += " status=";
    s += to_string(c.code());
    s += " details=\"" + c.details() + "\"";
  } else {
    s += " running";
  }
  return s + ">";
}

caf::actor Call::actor() const { return checked(call_, "Call::actor").actor(); }

}  // namespace actio
