#pragma once
/// Client interceptors (grpc.aio's four *ClientInterceptor ABCs).
///
/// An interceptor sees every call of the arities it implements: the call's
/// details (method, timeout, metadata, credentials, wait_for_ready,
/// compression), the request (or the request stream) as Message, and a
/// continuation that runs the rest of the chain and starts the RPC. It may
/// change the details, wrap the streams, answer without an RPC, retry (call
/// the continuation again: the inner interceptors run again), or fail the
/// call by throwing. Interceptors run in list order, the first outermost.
///
///   class Auth : public actio::UnaryUnaryClientInterceptor {
///    public:
///     std::string name() const override { return "auth"; }
///     actio::Task<actio::UnaryResult> intercept_unary_unary(actio::UnaryUnaryContinuation continuation,
///                                                           actio::ClientCallDetails details,
///                                                           actio::Message request) override {
///       details.metadata.add("authorization", "Bearer t0k3n");
///       co_return co_await continuation(std::move(details), std::move(request));
///     }
///   };
///   auto channel = actio::insecure_channel(target, {.interceptors = {std::make_shared<Auth>()}});
///
/// One object may implement several interfaces; it then intercepts every
/// arity it implements (grpc.aio 1.51 registers it for unary-unary only).

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <variant>

#include "actio/call.hpp"
#include "actio/codec.hpp"
#include "actio/generator.hpp"
#include "actio/metadata.hpp"
#include "actio/options.hpp"
#include "actio/task.hpp"

namespace actio {

class CallCredentials;

/// What an interceptor may see and change about a call (grpc.aio's
/// ClientCallDetails); it owns its values, so change them freely.
struct ClientCallDetails {
  std::string method;                            ///< "/pkg.Service/Method"
  std::optional<Duration> timeout;               ///< relative; none = no deadline
  Metadata metadata;                             ///< the invocation metadata
  std::shared_ptr<CallCredentials> credentials;  ///< per-call credentials (secure channels)
  std::optional<bool> wait_for_ready;
  std::optional<Compression> compression;
};

/// A unary-response interceptor's answer: the call its continuation gave
/// (or any call), or a response of its own, which the caller then gets
/// with status OK and no RPC (grpc.aio's UnaryUnaryCallResponse).
class UnaryResult {
 public:
  UnaryResult(Call call) : value_(std::move(call)) {}          // NOLINT: implicit on purpose
  UnaryResult(Message response) : value_(std::move(response)) {}  // NOLINT
  std::variant<Call, Message>& get() noexcept { return value_; }

 private:
  std::variant<Call, Message> value_;
};

/// A streaming-response interceptor's answer: the call its continuation gave,
/// or a generator of responses that replaces the call's messages (the status,
/// code and metadata still come from the last call the continuation made,
/// or OK if it made none). A generator that throws fails the call with that
/// exception.
class StreamResult {
 public:
  StreamResult(Call call) : value_(std::move(call)) {}                        // NOLINT
  StreamResult(Generator<Message> responses) : value_(std::move(responses)) {}  // NOLINT
  std::variant<Call, Generator<Message>>& get() noexcept { return value_; }

 private:
  std::variant<Call, Generator<Message>> value_;
};

/// Runs the rest of the chain with `details` and the request and gives its call.
using UnaryUnaryContinuation = std::function<Task<UnaryUnaryCall<Message>>(ClientCallDetails, Message)>;
using UnaryStreamContinuation = std::function<Task<UnaryStreamCall<Message>>(ClientCallDetails, Message)>;
/// Stream-request continuations take the request stream to send (the one the
/// interceptor got, or a generator wrapping it).
using StreamUnaryContinuation =
    std::function<Task<StreamUnaryCall<Message, Message>>(ClientCallDetails, Generator<Message>)>;
using StreamStreamContinuation =
    std::function<Task<StreamStreamCall<Message, Message>>(ClientCallDetails, Generator<Message>)>;

/// Base of the four client interceptor interfaces.
class ClientInterceptor {
 public:
  virtual ~ClientInterceptor() = default;
  /// The name the call's interceptor record (and the inspector) shows.
  virtual std::string name() const { return "interceptor"; }
};

class UnaryUnaryClientInterceptor : public virtual ClientInterceptor {
 public:
  virtual Task<UnaryResult> intercept_unary_unary(UnaryUnaryContinuation continuation, ClientCallDetails details,
                                                  Message request) = 0;
};

class UnaryStreamClientInterceptor : public virtual ClientInterceptor {
 public:
  virtual Task<StreamResult> intercept_unary_stream(UnaryStreamContinuation continuation, ClientCallDetails details,
                                                    Message request) = 0;
};

class StreamUnaryClientInterceptor : public virtual ClientInterceptor {
 public:
  virtual Task<UnaryResult> intercept_stream_unary(StreamUnaryContinuation continuation, ClientCallDetails details,
                                                   Generator<Message> requests) = 0;
};

class StreamStreamClientInterceptor : public virtual ClientInterceptor {
 public:
  virtual Task<StreamResult> intercept_stream_stream(StreamStreamContinuation continuation,
                                                     ClientCallDetails details, Generator<Message> requests) = 0;
};

/// Forwards every message of `requests`, calling `fn(message)` on each first
/// (fn may change it): the usual way to see a request stream.
///
///   co_return co_await continuation(details, actio::tap(std::move(requests), [n](auto&) { ++*n; }));
template <class F>
Generator<Message> tap(Generator<Message> messages, F fn) {
  while (auto m = co_await messages.next()) {
    fn(*m);
    co_yield std::move(*m);
  }
}

/// Reads `call`'s response stream, calling `fn(message)` on each before
/// passing it on: the usual way to see a response stream. The call keeps
/// giving the status.
template <ResponseStreamCall C, class F>
Generator<Message> tap_responses(C call, F fn) {
  while (auto m = co_await call.read()) {
    fn(*m);
    co_yield std::move(*m);
  }
}

}  // namespace actio
