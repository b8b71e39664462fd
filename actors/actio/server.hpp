#pragma once
/// Server: serves registered methods on N event loops (threads).

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "actio/codec.hpp"
#include "actio/generator.hpp"
#include "actio/metadata.hpp"
#include "actio/options.hpp"
#include "actio/security.hpp"
#include "actio/servicer_context.hpp"
#include "actio/task.hpp"

namespace caf {
class actor;
}

namespace actio {

/// The four call shapes.
enum class RpcKind { unary_unary, unary_stream, stream_unary, stream_stream };

/// One method's handler, type-erased (grpc.RpcMethodHandler).
struct RpcMethodHandler {
  RpcKind kind = RpcKind::unary_unary;
  std::function<Task<void>(ServicerContext&)> invoke;
};

/// A table of method handlers keyed by full path "/pkg.Service/Method"
/// (grpc.GenericRpcHandler, resolved when the server starts).
struct GenericRpcHandler {
  std::map<std::string, RpcMethodHandler> methods;
};

/// grpc.method_handlers_generic_handler: `service` is "pkg.Service",
/// `handlers` maps method names ("SayHello") to handlers.
GenericRpcHandler method_handlers_generic_handler(const std::string& service,
                                                  std::map<std::string, RpcMethodHandler> handlers);

/// The request stream of a stream-request handler (grpc.aio's request
/// iterator): `while (auto req = co_await requests.read()) ...`, or into one
/// reused message: `Req req; while (co_await requests.read_into(req)) ...`.
/// Reading here and through `context.read()` / `context.read_into()` can be
/// mixed freely, as in grpc.aio.
template <class Req>
class RequestStream {
 public:
  RequestStream(ServicerContext& context, const Codec<Req>& codec) : context_(&context), codec_(&codec) {}
  /// The next request; nullopt once the client half-closed.
  Task<std::optional<Req>> read() { return detail::read_request(*context_, *codec_); }
  /// read() into `out`, reusing its storage: true with the next request
  /// decoded into `out` (exactly it: protobuf parsing clears `out` first),
  /// false once the client half-closed, and again after (`out` left as it
  /// was). An undecodable request ends the call with INTERNAL, as read().
  Task<bool> read_into(Req& out) { return detail::read_request_into(*context_, out, *codec_); }

  /// Iteration, as grpc.aio's `async for request in request_iterator`:
  /// `co_await actio::for_each(requests, fn)` or `co_await actio::collect(requests)`
  /// (actio/call.hpp); it mixes freely with read(). A copy reads the same stream.
  using message_type = Req;
  Task<std::optional<Req>> next_() const { return detail::read_request(*context_, *codec_); }

 private:
  ServicerContext* context_;
  const Codec<Req>* codec_;
};

namespace detail {

/// A user handler with its codecs, kept alive by the method table.
template <class F, class Req, class Resp>
struct BoundHandler {
  F fn;
  Codec<Req> req;
  Codec<Resp> resp;

  /// Decodes the single request (INTERNAL if it does not decode).
  Req request(ServicerContext& context) const {
    Req request;
    if (!decode(req, context.request_buffer_(), request)) context.fail_to_parse_request_();
    return request;
  }
};

/// Type-erases `run(bound, context)` into an RpcMethodHandler of `kind`.
template <class Req, class Resp, class F, class Run>
RpcMethodHandler bind_handler(RpcKind kind, F fn, Codec<Req> req, Codec<Resp> resp, Run run) {
  check_codec(req);
  check_codec(resp);
  using Bound = BoundHandler<F, Req, Resp>;
  auto bound = std::make_shared<const Bound>(Bound{std::move(fn), std::move(req), std::move(resp)});
  return {kind, [bound, run](ServicerContext& ctx) { return run(*bound, ctx); }};
}

template <class Bound>
Task<void> run_unary_unary(const Bound& b, ServicerContext& context) {
  auto request = b.request(context);
  auto response = co_await b.fn(request, context);
  encode(b.resp, response, context.response_buffer_());
}
/// Writes every value a generator handler yields (context.write() inside it mixes freely).
template <class Resp>
Task<void> write_all(Generator<Resp> replies, ServicerContext& context) {
  while (auto r = co_await replies.next()) co_await context.write(*r);
}

template <class Bound>
Task<void> run_unary_stream(const Bound& b, ServicerContext& context) {
  auto request = b.request(context);
  if constexpr (is_generator_v<decltype(b.fn(request, context))>) {
    co_await write_all(b.fn(request, context), context);
  } else {
    co_await b.fn(request, context);
  }
}
template <class Req, class Bound>
Task<void> run_stream_unary(const Bound& b, ServicerContext& context) {
  RequestStream<Req> requests(context, b.req);
  auto response = co_await b.fn(requests, context);
  encode(b.resp, response, context.response_buffer_());
}
template <class Req, class Bound>
Task<void> run_stream_stream(const Bound& b, ServicerContext& context) {
  RequestStream<Req> requests(context, b.req);
  if constexpr (is_generator_v<decltype(b.fn(requests, context))>) {
    co_await write_all(b.fn(requests, context), context);
  } else {
    co_await b.fn(requests, context);
  }
}

}  // namespace detail

/// Wraps `fn`, a callable `Task<Resp>(const Req&, ServicerContext&)`, as a
/// unary-unary handler. Codecs default to protobuf / raw bytes.
template <class Req, class Resp, class F>
RpcMethodHandler unary_unary_rpc_method_handler(F fn, Codec<Req> request_codec = {},
                                                Codec<Resp> response_codec = {}) {
  return detail::bind_handler(RpcKind::unary_unary, std::move(fn), std::move(request_codec),
                              std::move(response_codec),
                              [](const auto& b, ServicerContext& ctx) { return detail::run_unary_unary(b, ctx); });
}

/// Wraps `fn` as a unary-stream (server-streaming) handler: either a callable
/// `Task<void>(const Req&, ServicerContext&)` that sends its responses with
/// `co_await context.write(Resp{...})`, or a generator
/// `Generator<Resp>(const Req&, ServicerContext&)` that co_yields them (and
/// may also call context.write()). The status follows when `fn` ends.
template <class Req, class Resp, class F>
RpcMethodHandler unary_stream_rpc_method_handler(F fn, Codec<Req> request_codec = {}) {
  return detail::bind_handler(RpcKind::unary_stream, std::move(fn), std::move(request_codec), Codec<Resp>{},
                              [](const auto& b, ServicerContext& ctx) { return detail::run_unary_stream(b, ctx); });
}

/// Wraps `fn`, a callable `Task<Resp>(RequestStream<Req>&, ServicerContext&)`,
/// as a stream-unary (client-streaming) handler.
template <class Req, class Resp, class F>
RpcMethodHandler stream_unary_rpc_method_handler(F fn, Codec<Req> request_codec = {},
                                                 Codec<Resp> response_codec = {}) {
  return detail::bind_handler(
      RpcKind::stream_unary, std::move(fn), std::move(request_codec), std::move(response_codec),
      [](const auto& b, ServicerContext& ctx) { return detail::run_stream_unary<Req>(b, ctx); });
}

/// Wraps `fn`, a callable `Task<void>(RequestStream<Req>&, ServicerContext&)`
/// that answers with `co_await context.write(...)`, or a generator
/// `Generator<Resp>(RequestStream<Req>&, ServicerContext&)`, as a bidi handler.
template <class Req, class Resp, class F>
RpcMethodHandler stream_stream_rpc_method_handler(F fn, Codec<Req> request_codec = {}) {
  return detail::bind_handler(
      RpcKind::stream_stream, std::move(fn), std::move(request_codec), Codec<Resp>{},
      [](const auto& b, ServicerContext& ctx) { return detail::run_stream_stream<Req>(b, ctx); });
}

/// What a server interceptor knows about a call before its handler runs
/// (grpc.HandlerCallDetails).
struct HandlerCallDetails {
  std::string method;            ///< "/pkg.Service/Method"
  Metadata invocation_metadata;  ///< the client's metadata
  RpcKind kind = RpcKind::unary_unary;  ///< the method's shape (to build a handler of the right shape)
};

/// Runs the inner interceptors and finds the handler for `details.method`
/// (nullopt if there is none: the call then ends UNIMPLEMENTED). Passing
/// details with another method routes the call to that method's handler.
using ServerContinuation = std::function<Task<std::optional<RpcMethodHandler>>(HandlerCallDetails)>;

/// A server interceptor (grpc.aio.ServerInterceptor): sees each call before
/// its handler runs and gives the handler to run — the continuation's, a
/// wrapped one (wrap_handler), a rejecting one (rejecting_handler), or none
/// (UNIMPLEMENTED "Method not found!"). Interceptors run in list order, the
/// first outermost. Only methods the server registered reach interceptors:
/// gRPC answers an unknown method UNIMPLEMENTED itself.
class ServerInterceptor {
 public:
  virtual ~ServerInterceptor() = default;
  /// The name the call's interceptor record shows.
  virtual std::string name() const { return "interceptor"; }
  virtual Task<std::optional<RpcMethodHandler>> intercept_service(ServerContinuation continuation,
                                                                  HandlerCallDetails details) = 0;
};

/// A handler of `kind` that ends the call with `code` and `details` (an
/// interceptor's way to reject a call, e.g. UNAUTHENTICATED).
RpcMethodHandler rejecting_handler(RpcKind kind, StatusCode code, std::string details);

/// The code a wrapped handler runs around the handler it wraps: it runs the
/// handler by awaiting `handler.invoke(context)` (or does not run it).
using HandlerWrapper = std::function<Task<void>(ServicerContext& context, const RpcMethodHandler& handler)>;

/// Wraps `handler`: `around(context, handler)` runs in its place. Before the
/// handler it can set values and observers on the context (set_value,
/// add_request_observer, add_response_observer); after it, see the outcome.
RpcMethodHandler wrap_handler(RpcMethodHandler handler, HandlerWrapper around);

/// Options of actio::server().
struct ServerOptions {
  /// Event loops (threads) serving calls, each with its own completion queue.
  /// gRPC gives a connection's calls to one loop's queue (the loop that
  /// accepted it) and to another only when that one has no accept pending,
  /// so calls are spread over the loops by connections and bursts, not one
  /// by one.
  int loops = 1;
  /// gRPC server arguments (e.g. "grpc.max_receive_message_length").
  ChannelArguments args;
  /// Calls beyond this many at once are rejected with RESOURCE_EXHAUSTED
  /// (grpc.aio 1.51 queues them instead).
  std::optional<int> maximum_concurrent_rpcs;
  /// Default compression of responses.
  std::optional<Compression> compression;
  /// Accepts kept outstanding per method and loop, at least: a loop keeps as
  /// many as the method has calls running on it, up to 128 (a burst of calls
  /// then finds accepts waiting).
  int accepts_per_method = 8;
  /// Serve grpc.health.v1.Health (grpc++'s default health service): every
  /// service starts SERVING; change it with Server::set_serving_status.
  bool health_checking = false;
  /// Serve grpc.reflection.v1alpha.ServerReflection (grpc++_reflection): the
  /// services and the protobuf descriptors linked into the program.
  bool reflection = false;
  /// For background servers (the inspector): the serving loops look at their
  /// queues at most this often instead of waiting in them, so they never
  /// take I/O from the process's other loops (see EventLoop::set_poll_interval).
  std::optional<Duration> background_poll_interval;
  /// Server interceptors, outermost first; a null one is refused with
  /// UsageError by actio::server().
  std::vector<std::shared_ptr<ServerInterceptor>> interceptors;
};

namespace detail {
class ServerState;
}

/// A gRPC server. The handle and its actor live on the loop that made it;
/// calls are served on `options.loops` loops of their own.
class Server {
 public:
  Server() = default;
  explicit Server(std::shared_ptr<detail::ServerState> state) : state_(std::move(state)) {}

  /// Binds `address` ("127.0.0.1:0" picks a free port) and returns the port.
  /// A busy port throws std::runtime_error("Failed to bind to address ...").
  int add_insecure_port(const std::string& address);
  /// Binds `address` with TLS; otherwise as add_insecure_port.
  int add_secure_port(const std::string& address, const ServerCredentials& credentials);
  /// Adds method tables; before start() (later additions throw UsageError).
  void add_generic_rpc_handlers(const std::vector<GenericRpcHandler>& handlers);
  /// Starts serving. A second call is a no-op; after stop() throws UsageError.
  Task<void> start();
  /// Refuses new calls at once; lets calls in flight run for `grace`, then
  /// cancels them (clients see UNAVAILABLE). Returns once everything is shut
  /// down. Concurrent stops: the shortest grace wins.
  Task<void> stop(std::optional<Duration> grace);
  /// Returns true if `timeout` passed with the server still running, false
  /// once it has terminated (as grpc.aio).
  Task<bool> wait_for_termination(std::optional<Duration> timeout = std::nullopt);
  /// Sets a service's health status ("" is the whole server) as reported by
  /// grpc.health.v1.Health. Needs ServerOptions::health_checking and a
  /// started server, else UsageError.
  void set_serving_status(const std::string& service, bool serving);
  /// The server's actor: `(stop_atom, double grace_s)` → true once stopped,
  /// `(port_atom)` → std::vector<int> of bound ports, `(health_atom,
  /// std::string service, bool serving)` → true (set_serving_status).
  caf::actor actor() const;
  /// For the framework.
  const std::shared_ptr<detail::ServerState>& state() const noexcept { return state_; }

 private:
  void check(const char* what) const;
  std::shared_ptr<detail::ServerState> state_;
};

/// Makes a server homed on the calling thread's loop.
Server server(ServerOptions options = {});

/// Serves until SIGINT or SIGTERM arrives (or the server stops by itself),
/// then stops it with `grace`; returns the signal number (0 if none). The
/// previous signal handlers are restored before it returns. The graceful
/// shutdown grpc.aio users hand-roll around wait_for_termination().
Task<int> serve_until_signal(Server server, std::optional<Duration> grace = Duration(1.0));

}  // namespace actio
