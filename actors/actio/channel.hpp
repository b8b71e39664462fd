#pragma once
/// Channel: the client side of a connection, and its multi-callables.

#include <memory>
#include <optional>
#include <string>

#include "actio/call.hpp"
#include "actio/codec.hpp"
#include "actio/options.hpp"
#include "actio/task.hpp"

namespace caf {
class actor;
}

namespace actio {

namespace detail {
class ChannelState;
/// Starts a unary-unary call on the calling loop; returns it with one reference.
ClientCall* start_unary_call(const std::shared_ptr<ChannelState>& channel, const std::string& method,
                             EncodeFn encode, const void* request, const void* codec, const CallOptions& options);
/// Starts a unary-stream call on the calling loop; returns it with one reference.
ClientCall* start_unary_stream_call(const std::shared_ptr<ChannelState>& channel, const std::string& method,
                                    EncodeFn encode, const void* request, const void* codec,
                                    const CallOptions& options);

/// What the four multi-callables share: the channel, the method, the codecs.
template <class Req, class Resp>
class MultiCallableBase {
 public:
  MultiCallableBase(std::shared_ptr<ChannelState> channel, std::string method, Codec<Req> request_codec,
                    Codec<Resp> response_codec)
      : channel_(std::move(channel)),
        method_(std::move(method)),
        request_codec_(std::make_shared<const Codec<Req>>(std::move(request_codec))),
        response_codec_(std::make_shared<const Codec<Resp>>(std::move(response_codec))) {
    check_codec(*request_codec_);
    check_codec(*response_codec_);
  }
  const std::string& method() const noexcept { return method_; }

 protected:
  template <class CallT, class Start>
  CallT invoke(Start start, const Req& request, const CallOptions& options) const {
    ClientCall* call = start(channel_, method_, &encode_thunk<Req>, &request, request_codec_.get(), options);
    return CallT(call, response_codec_);
  }

 private:
  std::shared_ptr<ChannelState> channel_;
  std::string method_;
  std::shared_ptr<const Codec<Req>> request_codec_;
  std::shared_ptr<const Codec<Resp>> response_codec_;
};
}  // namespace detail

/// Invokes one unary-unary method: `multi(request, {.timeout = 1s})`.
template <class Req, class Resp>
class UnaryUnaryMultiCallable : public detail::MultiCallableBase<Req, Resp> {
 public:
  using detail::MultiCallableBase<Req, Resp>::MultiCallableBase;
  /// Starts the call now and returns its handle; throws UsageError if the
  /// channel is closed, on another thread, or the options are invalid.
  UnaryUnaryCall<Resp> operator()(const Req& request, const CallOptions& options = {}) const {
    return this->template invoke<UnaryUnaryCall<Resp>>(&detail::start_unary_call, request, options);
  }
};

/// Invokes one unary-stream (server-streaming) method.
template <class Req, class Resp>
class UnaryStreamMultiCallable : public detail::MultiCallableBase<Req, Resp> {
 public:
  using detail::MultiCallableBase<Req, Resp>::MultiCallableBase;
  UnaryStreamCall<Resp> operator()(const Req& request, const CallOptions& options = {}) const {
    return this->template invoke<UnaryStreamCall<Resp>>(&detail::start_unary_stream_call, request, options);
  }
};

/// A client channel homed on the loop (thread) that created it. Copies share
/// one channel. The channel closes (cancelling what is in flight) when
/// close() is called, when its last handle goes, or when its loop shuts down.
class Channel {
 public:
  Channel() = default;
  explicit Channel(std::shared_ptr<detail::ChannelState> state) : state_(std::move(state)) {}

  /// A multi-callable for `method` ("/pkg.Service/Method"). Without codecs,
  /// protobuf messages and std::string (raw bytes) are handled.
  template <class Req, class Resp>
  UnaryUnaryMultiCallable<Req, Resp> unary_unary(std::string method, Codec<Req> request_codec = {},
                                                 Codec<Resp> response_codec = {}) const {
    check("Channel::unary_unary");
    return {state_, std::move(method), std::move(request_codec), std::move(response_codec)};
  }

  /// Stops new calls at once (they throw UsageError "Channel is closed.").
  /// With a grace period, waits up to `grace` for calls in flight, then
  /// cancels the rest; without one, cancels them now. Idempotent.
  Task<void> close(std::optional<Duration> grace = std::nullopt);
  /// A multi-callable for a unary-stream (server-streaming) method.
  template <class Req, class Resp>
  UnaryStreamMultiCallable<Req, Resp> unary_stream(std::string method, Codec<Req> request_codec = {},
                                                   Codec<Resp> response_codec = {}) const {
    check("Channel::unary_stream");
    return {state_, std::move(method), std::move(request_codec), std::move(response_codec)};
  }

  /// The connectivity state; `try_to_connect` starts connecting from IDLE.
  ChannelConnectivity get_state(bool try_to_connect = false) const;
  /// The target the channel was made for.
  const std::string& target() const;
  /// The channel's actor. Messages (from any thread or actor):
  /// `(unary_atom, method, request_bytes, timeout_seconds)` → response bytes,
  /// or a caf::error whose code is the gRPC status code and whose context
  /// holds the details; `(state_atom)` → int connectivity state.
  caf::actor actor() const;

  const std::shared_ptr<detail::ChannelState>& state() const noexcept { return state_; }

 private:
  void check(const char* what) const;
  std::shared_ptr<detail::ChannelState> state_;
};

/// A plaintext channel to `target` (e.g. "localhost:50051"), homed on the
/// calling thread's loop. Does not connect until first used.
Channel insecure_channel(const std::string& target, const ChannelOptions& options = {});

}  // namespace actio
