#pragma once
/// Client calls: Call (grpc.aio's RpcContext + Call) and UnaryUnaryCall<Resp>.
///
/// A call is a handle to a client-call actor homed on the loop that started
/// it; every method throws UsageError on another thread. Dropping the last
/// handle of a call that is still running cancels it ("Cancelled upon garbage
/// collection!"), as grpc.aio does.

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "actio/codec.hpp"
#include "actio/errors.hpp"
#include "actio/event.hpp"
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
/// After done: throws CancelledError (local cancel) or AioRpcError (non-OK).
void throw_if_failed(ClientCall* call);
const grpc::ByteBuffer& response_buffer(ClientCall* call);
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

  class Awaiter : public Event::Waiter {
   public:
    explicit Awaiter(const UnaryUnaryCall& c) : Event::Waiter(detail::done_event(c.call_)), c_(c) {}
    void cancel() override {
      if (!detail::cancel_call(c_.call_)) Event::Waiter::cancel();
    }
    Resp await_resume() {
      Event::Waiter::await_resume();
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

}  // namespace actio
