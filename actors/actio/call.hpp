#pragma once
/// Client calls: Call (grpc.aio's RpcContext + Call) and UnaryUnaryCall<Resp>.
///
/// A call is a handle to a client-call actor homed on the loop that started
/// it; every method throws UsageError on another thread. Dropping the last
/// handle of a call that is still running cancels it ("Cancelled upon garbage
/// collection!"), as grpc.aio does.

#include <concepts>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "actio/codec.hpp"
#include "actio/errors.hpp"
#include "actio/event.hpp"
#include "actio/interceptor_record.hpp"
#include "actio/metadata.hpp"
#include "actio/options.hpp"
#include "actio/status.hpp"
#include "actio/task.hpp"

namespace caf {
class actor;
}

namespace actio {

namespace detail {
class ClientCall;
void add_ref(ClientCall* call) noexcept;
void release(ClientCall* call) noexcept;
Event& done_event(ClientCall* call);
/// Cancels from an awaiting task; false if the call had already finished.
bool cancel_call(ClientCall* call);
/// Cancels locally with `details` (CancelledError carries them).
bool cancel_call_with(ClientCall* call, const std::string& details);
/// After done: throws CancelledError (local cancel) or AioRpcError (non-OK).
void throw_if_failed(ClientCall* call);
const grpc::ByteBuffer& response_buffer(ClientCall* call);
Task<bool> read_next(ClientCall* call, bool from_iterator);
const grpc::ByteBuffer& read_buffer(ClientCall* call);

/// How read_into() decodes into the caller's message: inside the read's own
/// coroutine, so a read_into() is one coroutine frame, not two.
struct DecodeInto {
  bool (*decode)(const void* codec, const grpc::ByteBuffer& in, void* out) = nullptr;
  const void* codec = nullptr;
  void* out = nullptr;
};
template <class T>
bool decode_thunk(const void* codec, const grpc::ByteBuffer& in, void* out) {
  return decode(*static_cast<const Codec<T>*>(codec), in, *static_cast<T*>(out));
}
/// read_next() that decodes a message into `into.out` (INTERNAL if it does
/// not decode); `codec` keeps `into.codec` alive, the task the call.
Task<bool> read_next_into(ClientCall* call, DecodeInto into, std::shared_ptr<const void> codec);
Task<void> write_request(ClientCall* call, EncodeFn encode, const void* request, const void* codec,
                         bool from_iterator);
Task<void> done_writing(ClientCall* call, bool from_iterator);
Task<void> await_unary_response(ClientCall* call);
void set_iterator_driven(ClientCall* call) noexcept;

/// Decodes the message read_next() read into `out`; INTERNAL if it does not decode.
template <class Resp>
void decode_read(const Codec<Resp>& codec, ClientCall* call, Resp& out) {
  if (!decode(codec, read_buffer(call), out)) {
    throw AioRpcError(StatusCode::INTERNAL, "Failed to deserialize response message");
  }
}

/// Awaits a Task it owns (for `co_await call` on stream-unary calls).
template <class T>
class OwningAwaiter {
 public:
  explicit OwningAwaiter(Task<T> task) : task_(std::move(task)), inner_(task_.handle()) {}
  bool await_ready() const noexcept { return inner_.await_ready(); }
  template <class P>
  std::coroutine_handle<> await_suspend(std::coroutine_handle<P> h) noexcept {
    return inner_.await_suspend(h);
  }
  T await_resume() { return inner_.await_resume(); }

 private:
  Task<T> task_;
  typename Task<T>::Awaiter inner_;
};

/// Waits on one of a call's events; cancelling the waiting task cancels the
/// RPC itself (grpc.aio: cancelling the task that awaits a call cancels it).
class CallWaiter : public Event::Waiter {
 public:
  CallWaiter(Event& ev, ClientCall* call) noexcept : Event::Waiter(ev), call_(call) {}
  void cancel() override {
    if (!cancel_call(call_)) Event::Waiter::cancel();
  }

 private:
  ClientCall* call_;
};
}  // namespace detail

class Call {
 public:
  // -- constructors ---------------------------------------------------------

  Call() noexcept = default;
  Call(const Call& other) noexcept : call_(other.call_) {
    if (call_) detail::add_ref(call_);
  }
  Call(Call&& other) noexcept : call_(std::exchange(other.call_, nullptr)) {}
  Call& operator=(Call other) noexcept {
    std::swap(call_, other.call_);
    return *this;
  }
  ~Call() {
    if (call_) detail::release(call_);
  }

  // -- RpcContext -----------------------------------------------------------

  /// Cancels a running call: status CANCELLED, "Locally cancelled by
  /// application!". True only the first time, on a call not yet done.
  bool cancel();
  /// True iff the final status is CANCELLED.
  bool cancelled() const;
  /// True once a final status exists (a local cancel counts).
  bool done() const;
  /// Time left before the deadline (never negative); nullopt without one.
  std::optional<Duration> time_remaining() const;
  /// Runs `cb(call)` when the call is done, or now if it already is.
  void add_done_callback(std::function<void(const Call&)> cb);

  // -- Call -----------------------------------------------------------------

  /// Awaits the server's initial metadata (empty if there was none).
  Task<Metadata> initial_metadata() const;
  /// Awaits the final status and returns its trailing metadata.
  Task<Metadata> trailing_metadata() const;
  Task<StatusCode> code() const;
  Task<std::string> details() const;
  Task<std::string> debug_error_string() const;
  /// Unary: awaits the end of the invocation. Throws AioRpcError if it failed.
  Task<void> wait_for_connection() const;

  /// The full method path, e.g. "/helloworld.Greeter/SayHello".
  const std::string& method() const;
  /// `<UnaryUnaryCall /pkg.S/M status=... details="...">`, before and after completion.
  std::string repr() const;
  /// The client interceptors the call went through, outermost first (empty
  /// without interceptors; complete once the chain has answered).
  std::vector<InterceptorRecord> interceptors() const;
  /// The call's actor (spawned on first use): messages `cancel_atom` → bool,
  /// `status_atom` → (int code, std::string details) once done.
  caf::actor actor() const;

  /// For the framework: adopts one reference.
  explicit Call(detail::ClientCall* call) noexcept : call_(call) {}
  detail::ClientCall* get() const noexcept { return call_; }

 protected:
  detail::ClientCall* call_ = nullptr;
};

/// A unary-unary call; `co_await call` gives the response or throws
/// AioRpcError (non-OK) or CancelledError (cancelled locally). Awaiting again
/// gives the same response (or the same error). Cancelling the task that
/// awaits the call cancels the RPC.
template <class Resp>
class UnaryUnaryCall : public Call {
 public:
  UnaryUnaryCall() = default;
  UnaryUnaryCall(detail::ClientCall* call, std::shared_ptr<const Codec<Resp>> codec) noexcept
      : Call(call), codec_(std::move(codec)) {}

  class Awaiter : public detail::CallWaiter {
   public:
    explicit Awaiter(const UnaryUnaryCall& c) : detail::CallWaiter(detail::done_event(c.call_), c.call_), c_(c) {}
    Resp await_resume() {
      detail::CallWaiter::await_resume();
      detail::throw_if_failed(c_.call_);
      Resp out;
      if (!detail::decode(*c_.codec_, detail::response_buffer(c_.call_), out)) {
        throw AioRpcError(StatusCode::INTERNAL, "Failed to deserialize response message");
      }
      return out;
    }

   private:
    const UnaryUnaryCall& c_;
  };
  Awaiter operator co_await() const { return Awaiter(*this); }

 private:
  std::shared_ptr<const Codec<Resp>> codec_;
};

/// A unary-stream (server-streaming) call. Read the responses with
///   while (auto msg = co_await call.read()) { ... }
/// or, reusing one message object (no allocation per message once its
/// fields have grown),
///   Resp msg;
///   while (co_await call.read_into(msg)) { ... }
/// or iterate it with actio::for_each(call, fn) / actio::collect(call).
/// `read()` gives nullopt at the end of the stream (grpc.aio's EOF) and keeps
/// giving it; a non-OK status throws AioRpcError, a local cancel
/// CancelledError. A zero-length message is a message, not the end.
/// Cancelling the task blocked in read() cancels the RPC.
template <class Resp>
class UnaryStreamCall : public Call {
 public:
  UnaryStreamCall() = default;
  UnaryStreamCall(detail::ClientCall* call, std::shared_ptr<const Codec<Resp>> codec) noexcept
      : Call(call), codec_(std::move(codec)) {}

  using response_type = Resp;
  using message_type = Resp;  // for actio::for_each / collect

  Task<std::optional<Resp>> read() const { return read_message(*this, codec_, false); }
  /// read() into `out`: true with the next message decoded into `out`,
  /// reusing its storage; false at the end of the stream, and again after
  /// it. `out` then holds exactly the new message (protobuf parsing clears
  /// it first, raw bytes replace its bytes, a custom deserializer's value is
  /// assigned); the end and a non-OK status leave it as it was. The same
  /// errors as read(), and the same style: it mixes with read(), not with
  /// iteration (UsageError). `out` must outlive the await.
  Task<bool> read_into(Resp& out) const {
    return detail::read_next_into(call_, {&detail::decode_thunk<Resp>, codec_.get(), &out}, codec_);
  }
  /// The next message for iteration (see actio::for_each); not for mixing with read().
  Task<std::optional<Resp>> next_() const { return read_message(*this, codec_, true); }

  /// For the framework: reads one message of `call`'s response stream, for
  /// read() or for iteration (for_each), which must not be mixed on a call.
  static Task<std::optional<Resp>> read_message(Call call, std::shared_ptr<const Codec<Resp>> codec,
                                                bool from_iterator) {
    if (!co_await detail::read_next(call.get(), from_iterator)) co_return std::nullopt;
    Resp out;
    detail::decode_read(*codec, call.get(), out);
    co_return out;
  }

 private:
  std::shared_ptr<const Codec<Resp>> codec_;
};

/// What the stream-request calls share: write() and done_writing().
template <class Req>
class StreamingRequestCall : public Call {
 public:
  StreamingRequestCall() = default;
  StreamingRequestCall(detail::ClientCall* call, std::shared_ptr<const Codec<Req>> codec) noexcept
      : Call(call), req_codec_(std::move(codec)) {}

  /// Sends one request; await it before the next. After done_writing() or
  /// once the call is done (a cancel counts): InvalidStateError. With a
  /// request iterator given at invocation: UsageError.
  Task<void> write(const Req& request) const {
    return detail::write_request(call_, &detail::encode_thunk<Req>, &request, req_codec_.get(), false);
  }
  /// Half-closes the request stream. Idempotent; a no-op once done.
  Task<void> done_writing() const { return detail::done_writing(call_, false); }

 protected:
  std::shared_ptr<const Codec<Req>> req_codec_;
};

/// A stream-unary (client-streaming) call: write() the requests,
/// done_writing(), then `co_await call` for the response.
template <class Req, class Resp>
class StreamUnaryCall : public StreamingRequestCall<Req> {
 public:
  StreamUnaryCall() = default;
  StreamUnaryCall(detail::ClientCall* call, std::shared_ptr<const Codec<Req>> req_codec,
                  std::shared_ptr<const Codec<Resp>> codec) noexcept
      : StreamingRequestCall<Req>(call, std::move(req_codec)), codec_(std::move(codec)) {}

  /// The response, or AioRpcError / CancelledError; the same again later.
  Task<Resp> response() const {
    Call keep = *this;
    auto codec = codec_;
    co_await detail::await_unary_response(keep.get());
    Resp out;
    if (!detail::decode(*codec, detail::response_buffer(keep.get()), out)) {
      throw AioRpcError(StatusCode::INTERNAL, "Failed to deserialize response message");
    }
    co_return out;
  }
  detail::OwningAwaiter<Resp> operator co_await() const { return detail::OwningAwaiter<Resp>(response()); }

 private:
  std::shared_ptr<const Codec<Resp>> codec_;
};

/// A stream-stream (bidi) call: write()/done_writing() and read() (or
/// read_into()), in any order.
template <class Req, class Resp>
class StreamStreamCall : public StreamingRequestCall<Req> {
 public:
  StreamStreamCall() = default;
  StreamStreamCall(detail::ClientCall* call, std::shared_ptr<const Codec<Req>> req_codec,
                   std::shared_ptr<const Codec<Resp>> codec) noexcept
      : StreamingRequestCall<Req>(call, std::move(req_codec)), codec_(std::move(codec)) {}

  using response_type = Resp;
  using message_type = Resp;  // for actio::for_each / collect

  Task<std::optional<Resp>> read() const { return UnaryStreamCall<Resp>::read_message(*this, codec_, false); }
  /// read() into `out`, reusing its storage: see UnaryStreamCall::read_into.
  Task<bool> read_into(Resp& out) const {
    return detail::read_next_into(this->call_, {&detail::decode_thunk<Resp>, codec_.get(), &out}, codec_);
  }
  /// The next message for iteration (see actio::for_each); not for mixing with read().
  Task<std::optional<Resp>> next_() const { return UnaryStreamCall<Resp>::read_message(*this, codec_, true); }

 private:
  std::shared_ptr<const Codec<Resp>> codec_;
};

/// A call with a response stream: UnaryStreamCall or StreamStreamCall.
template <class C>
concept ResponseStreamCall = requires(const C& c) {
  typename C::response_type;
  { c.next_() } -> std::same_as<Task<std::optional<typename C::response_type>>>;
};

/// A stream of messages actio::for_each and collect can iterate: a client
/// call's response stream, or a server handler's RequestStream.
template <class S>
concept MessageStream = requires(const S& s) {
  typename S::message_type;
  { s.next_() } -> std::same_as<Task<std::optional<typename S::message_type>>>;
};

/// Iterates a response stream to its end, grpc.aio's `async for msg in call`:
///
///   co_await actio::for_each(call, [](const Feature& f) { ... });
///
/// In a handler, the same iterates the request stream (`async for request in
/// request_iterator`): `co_await actio::for_each(requests, fn)`; there it
/// mixes freely with read() and context.read(), as in grpc.aio.
///
/// `fn` takes each message and returns void, bool (false stops early; the
/// rest of the stream is not read and the call goes on) or Task<void>
/// (awaited before the next read). A non-OK status throws AioRpcError, a
/// local cancel CancelledError; cancelling the awaiting task cancels the RPC.
/// Iteration and read() cannot be mixed on one call (UsageError), as in
/// grpc.aio. The call and `fn` are kept alive until the iteration ends.
template <MessageStream C, class F>
Task<void> for_each(C call, F fn) {
  using Resp = typename C::message_type;
  using R = std::invoke_result_t<F&, Resp&>;
  while (auto msg = co_await call.next_()) {
    if constexpr (std::is_same_v<R, void>) {
      fn(*msg);
    } else if constexpr (std::is_same_v<R, bool>) {
      if (!fn(*msg)) co_return;
    } else {
      static_assert(std::is_same_v<R, Task<void>>, "for_each: fn must return void, bool or Task<void>");
      co_await fn(*msg);
    }
  }
}

/// Reads a whole response (or request) stream into a vector (iteration style, as for_each).
template <MessageStream C>
Task<std::vector<typename C::message_type>> collect(C call) {
  std::vector<typename C::message_type> out;
  while (auto msg = co_await call.next_()) out.push_back(std::move(*msg));
  co_return out;
}

}  // namespace actio
