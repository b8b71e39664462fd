#pragma once
// The channel actor's state (loop-local; see actio/channel.hpp for the handle).

#include <grpcpp/channel.h>
#include <grpcpp/impl/rpc_method.h>

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "actio/event.hpp"
#include "actio/interceptor.hpp"
#include "detail/intrusive_list.hpp"
#include "detail/registry.hpp"
#include "detail/send_buffer.hpp"
#include "actio/event_loop.hpp"
#include "actio/options.hpp"

namespace actio::detail {

class ClientCall;
class LoopActor;

/// A channel's client interceptors sorted by the arities each implements.
struct InterceptorLists {
  std::vector<std::shared_ptr<ClientInterceptor>> all;  // keeps them alive
  std::vector<UnaryUnaryClientInterceptor*> unary_unary;
  std::vector<UnaryStreamClientInterceptor*> unary_stream;
  std::vector<StreamUnaryClientInterceptor*> stream_unary;
  std::vector<StreamStreamClientInterceptor*> stream_stream;
};
/// Sorts `interceptors`; UsageError for a null one or one of no arity.
InterceptorLists sort_interceptors(const std::vector<std::shared_ptr<ClientInterceptor>>& interceptors);

/// A method name registered with a channel (ChannelState::registered_method).
/// Its name is kept there too, for the calls to point at (no copy per call).
struct RegisteredMethod {
  grpc::internal::RpcMethod unary, streaming;  // name_ points into the map's key
  const std::string* name = nullptr;           // the map's key
};

class ChannelState : public std::enable_shared_from_this<ChannelState> {
 public:
  ChannelState(EventLoop& loop, std::string target, std::shared_ptr<grpc::Channel> channel, bool secure);
  ~ChannelState();

  // -- properties -----------------------------------------------------------

  EventLoop& loop() const noexcept { return *loop_; }
  /// `name` registered with this channel, for a unary or a streaming call:
  /// gRPC then starts calls from a handle made once (grpc_channel_create_
  /// registered_call, as a generated stub does) instead of building the path
  /// per call. nullptr past kMaxRegisteredMethods names (a generic proxy's
  /// methods are the callers' to choose): those calls go unregistered.
  const RegisteredMethod* registered_method(const std::string& name);
  static constexpr std::size_t kMaxRegisteredMethods = 1024;
  grpc::Channel& channel() noexcept { return *channel_; }
  const std::string& target() const noexcept { return target_; }
  bool closed() const noexcept { return closed_; }
  bool secure() const noexcept { return secure_; }
  const InterceptorLists& interceptors() const noexcept { return interceptors_; }
  const std::shared_ptr<inspect::EndpointRecord>& endpoint_record() const noexcept { return endpoint_; }
  void set_interceptors(InterceptorLists lists) { interceptors_ = std::move(lists); }
  std::size_t live_calls() const noexcept { return live_.size(); }

  // -- calls ----------------------------------------------------------------

  void link(ClientCall* call) noexcept;
  void unlink(ClientCall* call) noexcept;
  /// Throws UsageError if closed or on another thread.
  void check_usable(const char* what) const;

  // -- lifecycle ------------------------------------------------------------

  Task<void> close(std::optional<Duration> grace);
  /// Cancels every live call with `details` (on close and loop shutdown).
  void cancel_all(const char* details);
  caf::actor actor();
  Task<ChannelConnectivity> wait_for_state_change(ChannelConnectivity last);
  /// While inspection is on, reports each connectivity change as it happens
  /// (a no-op when already watching, closed, or not inspected).
  void start_connectivity_watch();

 private:
  void drop_io_interest() noexcept;
  void stop_connectivity_watch() noexcept;

  EventLoop* loop_;
  std::string target_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unordered_map<std::string, std::unique_ptr<RegisteredMethod>> methods_;
  bool secure_;
  InterceptorLists interceptors_;
  std::shared_ptr<inspect::EndpointRecord> endpoint_;  // null unless inspected
  bool closed_ = false;
  bool io_interest_ = false;  // holds the loop's I/O interest (see EventLoop::add_io_interest)
  IntrusiveList<ClientCall> live_;
  Event drained_;
  std::uint64_t hook_id_ = 0;
  std::unique_ptr<LoopActor> actor_;
  /// While inspected: reports each connectivity change as it happens (see
  /// channel.cpp); it frees itself when gRPC hands it back after a stop.
  struct ConnectivityWatch* watch_ = nullptr;
};

/// Makes a channel's state and remembers it, so that inspection started
/// later can watch its connectivity too.
std::shared_ptr<ChannelState> make_channel_state(EventLoop& loop, std::string target,
                                                 std::shared_ptr<grpc::Channel> channel, bool secure);
/// Inspection has started: every live channel starts its connectivity watch
/// (on its own loop, posted there).
void start_connectivity_watches();

}  // namespace actio::detail
