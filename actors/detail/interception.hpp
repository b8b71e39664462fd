#pragma once
// How an intercepted call works (loop-local; see actio/interceptor.hpp).
//
// A call made through interceptors is a ClientCall with an Interception: a
// proxy that has no gRPC call of its own. The user's handle refers to the
// outer proxy at once, while the chain of interceptors runs in the
// background; its answer is "bound" to the proxy:
//   - a call (the continuation's, or any): the proxy forwards reads to it and
//     takes its status, metadata and response when it ends;
//   - a response of the interceptor's own: the proxy ends OK with it;
//   - a response generator: reads come from the generator, the status from
//     the last call the continuation made;
//   - an exception: the proxy ends with it (rethrown by await, read, write).
// Writes go through a one-message queue into the request Generator the first
// interceptor receives (as grpc.aio's write() feeds a proxy async generator).
// Each interceptor's answer is itself turned into a call (a proxy when it
// is not one) before the next outer interceptor sees it.

#include <chrono>
#include <exception>
#include <memory>
#include <optional>
#include <vector>

#include "actio/call.hpp"
#include "actio/event.hpp"
#include "actio/generator.hpp"
#include "actio/interceptor.hpp"
#include "detail/client_call.hpp"

namespace actio::detail {

struct Chain;

/// The one-message queue between a proxy's write() and its request generator.
struct RequestQueue {
  std::optional<Message> slot;
  bool closed = false;
  Event data;   // a message or the end is there
  Event taken;  // the generator took the message (or the queue closed)
};

class Interception {
 public:
  enum class Mode { pending, call, response, generator, failed };

  explicit Interception(ClientCall& self) : self_(&self) {}

  // -- binding (the chain's answer) -------------------------------------------

  /// Runs `chain` in the background and binds its answer to the proxy.
  void drive(std::shared_ptr<Chain> chain, Task<Call> task);
  void bind_call(Call inner);
  /// Ends the proxy OK with `response` (no RPC).
  void bind_response(Message response);
  /// Reads come from `responses`; status from `status_call` (may be empty).
  void bind_generator(Generator<Message> responses, Call status_call);
  /// Ends the proxy with `error` (AioRpcError keeps its status).
  void fail(std::exception_ptr error);

  // -- what the proxy's operations do ------------------------------------------

  Task<void> write(Message message);
  void close_requests();
  std::shared_ptr<RequestQueue> requests() const { return queue_; }
  Task<bool> read();
  void fetch_status();
  Task<Metadata> initial_metadata();
  Task<void> wait_for_connection();
  /// The proxy was cancelled: cancel the chain, the inner call, the generator.
  void on_cancel();
  /// The proxy is done: wake writers and the request generator.
  void on_done();
  const std::exception_ptr& error() const noexcept { return error_; }
  std::vector<InterceptorRecord> records() const;

 private:
  Task<void> wait_bound();
  void finish_from_inner();
  void follow();
  static Detached follow_task(ClientCall* self, Call inner);
  static Detached drive_task(ClientCall* self, Task<Call> task);
  void pin() noexcept;
  void unpin() noexcept;

  ClientCall* self_;
  Mode mode_ = Mode::pending;
  Event bound_;
  Call inner_;
  std::optional<Generator<Message>> responses_;
  std::exception_ptr error_;
  Task<Call>* chain_task_ = nullptr;
  std::shared_ptr<Chain> chain_;
  std::shared_ptr<RequestQueue> queue_ = std::make_shared<RequestQueue>();
  bool status_wanted_ = false;
};

/// A request generator reading a proxy's queue.
Generator<Message> drain_requests(std::shared_ptr<RequestQueue> queue);

class ChannelState;
/// True if the channel has interceptors for calls of `shape`.
bool intercepts(const ChannelState& channel, ClientCall::Shape shape);
/// Starts an intercepted call: the proxy, with the chain running (channel.cpp).
ClientCall* start_intercepted(const std::shared_ptr<ChannelState>& channel, const std::string& method, ClientCall::Shape shape,
                              EncodeFn encode, const void* request, const void* codec, const CallOptions& options);
/// Starts a call without interceptors (the end of a chain).
ClientCall* start_call_direct(const std::shared_ptr<ChannelState>& channel, const std::string& method, ClientCall::Shape shape,
                              EncodeFn encode, const void* request, const void* codec, const CallOptions& options);

}  // namespace actio::detail
