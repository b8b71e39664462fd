#pragma once
/// Channel: the client side of a connection, and its multi-callables.

#include <memory>
#include <optional>
#include <ranges>
#include <vector>
#include <string>

#include "actio/call.hpp"
#include "actio/codec.hpp"
#include "actio/generator.hpp"
#include "actio/options.hpp"
#include "actio/security.hpp"
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

/// Starts a stream-request call (no request yet); returns it with one reference.
ClientCall* start_streaming_call(const std::shared_ptr<ChannelState>& channel, const std::string& method,
                                 bool bidi, const CallOptions& options);

/// Writes every request of an iterator-driven call's range, lazily (one
/// element per write, as flow control allows), then half-closes. The range is
/// the call's own copy (or the moved-in temporary); it stops quietly when the
/// call ends first, and a throwing range cancels the call, as grpc.aio does.
template <class Req, class Range>
Detached feed_requests(Call call, Range requests, std::shared_ptr<const Codec<Req>> codec) {
  bool writing = false;  // an exception while writing means the call ended first
  try {
    for (auto&& element : requests) {
      const Req& r = element;  // (a range of something convertible makes a Req here)
      writing = true;
      co_await write_request(call.get(), &encode_thunk<Req>, &r, codec.get(), true);
      writing = false;
    }
    writing = true;
    co_await done_writing(call.get(), true);
  } catch (const std::exception& e) {
    // The call ended first (cancelled or failed): its status tells the reader.
    // Otherwise the range threw: the call fails with it, as grpc.aio does.
    if (!writing && !call.done()) cancel_call_with(call.get(), std::string("Request range failed: ") + e.what());
  } catch (...) {
    if (!writing && !call.done()) cancel_call_with(call.get(), "Request range failed");
  }
}

/// Writes what an iterator-driven call's generator yields, then half-closes.
/// When the call ends first (cancelled, failed), the generator is cancelled.
template <class Req>
Detached feed_generator(Call call, Generator<Req> requests, std::shared_ptr<const Codec<Req>> codec) {
  auto current = std::make_shared<Generator<Req>*>(&requests);
  call.add_done_callback([current](const Call&) {
    if (*current) (*current)->cancel();
  });
  try {
    while (auto r = co_await requests.next()) {
      co_await write_request(call.get(), &encode_thunk<Req>, &*r, codec.get(), true);
    }
    co_await done_writing(call.get(), true);
  } catch (const CancelledError&) {
    // The call ended first; its status tells the reader.
  } catch (const std::exception& e) {
    // The generator threw: the call fails with it, as grpc.aio does.
    if (!call.done()) cancel_call_with(call.get(), std::string("Request generator failed: ") + e.what());
  } catch (...) {
    if (!call.done()) cancel_call_with(call.get(), "Request generator failed");
  }
  *current = nullptr;
}

/// A range a stream-request call can be fed from (Generator has its own overload).
template <class Range, class Req>
concept RequestRange = std::ranges::input_range<Range> && std::movable<std::remove_cvref_t<Range>> &&
                       std::constructible_from<std::remove_cvref_t<Range>, Range> &&
                       std::convertible_to<std::ranges::range_reference_t<std::remove_cvref_t<Range>&>, const Req&> &&
                       !std::same_as<std::remove_cvref_t<Range>, Generator<Req>>;

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
  /// Starts a stream-request call fed by a generator in the background.
  template <class CallT>
  CallT invoke_generator(bool bidi, Generator<Req> requests, const CallOptions& options) const {
    ClientCall* call = start_streaming_call(channel_, method_, bidi, options);
    CallT handle(call, request_codec_, response_codec_);
    set_iterator_driven(call);
    feed_generator<Req>(handle, std::move(requests), request_codec_);
    return handle;
  }
  /// Starts a stream-request call with nothing to feed: the caller writes.
  template <class CallT>
  CallT invoke_streaming(bool bidi, const CallOptions& options) const {
    return CallT(start_streaming_call(channel_, method_, bidi, options), request_codec_, response_codec_);
  }
  /// Starts a stream-request call fed from a range in the background. The
  /// range is kept by value: an lvalue container is copied, a temporary
  /// moved; a view is copied and iterated lazily.
  template <class CallT, class Range>
  CallT invoke_range(bool bidi, Range&& requests, const CallOptions& options) const {
    ClientCall* call = start_streaming_call(channel_, method_, bidi, options);
    CallT handle(call, request_codec_, response_codec_);
    set_iterator_driven(call);
    feed_requests<Req, std::remove_cvref_t<Range>>(handle, std::forward<Range>(requests), request_codec_);
    return handle;
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

/// Invokes one stream-unary (client-streaming) method: either write() the
/// requests yourself, or pass a range of requests (written in the background,
/// then half-closed; write()/done_writing() are then a UsageError).
template <class Req, class Resp>
class StreamUnaryMultiCallable : public detail::MultiCallableBase<Req, Resp> {
 public:
  using detail::MultiCallableBase<Req, Resp>::MultiCallableBase;
  StreamUnaryCall<Req, Resp> operator()(const CallOptions& options = {}) const {
    return this->template invoke_streaming<StreamUnaryCall<Req, Resp>>(false, options);
  }
  /// Requests from an async generator (see actio::Generator).
  StreamUnaryCall<Req, Resp> operator()(Generator<Req> requests, const CallOptions& options = {}) const {
    return this->template invoke_generator<StreamUnaryCall<Req, Resp>>(false, std::move(requests), options);
  }
  /// Requests from any range of Req (or of what converts to one): a
  /// container (copied, or moved when a temporary), or a view, iterated
  /// lazily — so it may be endless; what a view refers to must outlive the
  /// call's writing.
  template <detail::RequestRange<Req> Range>
  StreamUnaryCall<Req, Resp> operator()(Range&& requests, const CallOptions& options = {}) const {
    return this->template invoke_range<StreamUnaryCall<Req, Resp>>(false, std::forward<Range>(requests), options);
  }
};

/// Invokes one stream-stream (bidi) method; requests as for StreamUnaryMultiCallable.
template <class Req, class Resp>
class StreamStreamMultiCallable : public detail::MultiCallableBase<Req, Resp> {
 public:
  using detail::MultiCallableBase<Req, Resp>::MultiCallableBase;
  StreamStreamCall<Req, Resp> operator()(const CallOptions& options = {}) const {
    return this->template invoke_streaming<StreamStreamCall<Req, Resp>>(true, options);
  }
  /// Requests from an async generator (see actio::Generator).
  StreamStreamCall<Req, Resp> operator()(Generator<Req> requests, const CallOptions& options = {}) const {
    return this->template invoke_generator<StreamStreamCall<Req, Resp>>(true, std::move(requests), options);
  }
  /// Requests from any range of Req (or of what converts to one): a
  /// container (copied, or moved when a temporary), or a view, iterated
  /// lazily — so it may be endless; what a view refers to must outlive the
  /// call's writing.
  template <detail::RequestRange<Req> Range>
  StreamStreamCall<Req, Resp> operator()(Range&& requests, const CallOptions& options = {}) const {
    return this->template invoke_range<StreamStreamCall<Req, Resp>>(true, std::forward<Range>(requests), options);
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

  /// A multi-callable for a stream-unary (client-streaming) method.
  template <class Req, class Resp>
  StreamUnaryMultiCallable<Req, Resp> stream_unary(std::string method, Codec<Req> request_codec = {},
                                                   Codec<Resp> response_codec = {}) const {
    check("Channel::stream_unary");
    return {state_, std::move(method), std::move(request_codec), std::move(response_codec)};
  }
  /// A multi-callable for a stream-stream (bidi) method.
  template <class Req, class Resp>
  StreamStreamMultiCallable<Req, Resp> stream_stream(std::string method, Codec<Req> request_codec = {},
                                                     Codec<Resp> response_codec = {}) const {
    check("Channel::stream_stream");
    return {state_, std::move(method), std::move(request_codec), std::move(response_codec)};
  }

  /// The connectivity state; `try_to_connect` starts connecting from IDLE.
  ChannelConnectivity get_state(bool try_to_connect = false) const;
  /// Returns once the state differs from `last` (at once if it already
  /// does), giving the new state. No timeout: cancel the task (or gather it
  /// with a sleep) to stop waiting. After close(): UsageError.
  Task<ChannelConnectivity> wait_for_state_change(ChannelConnectivity last) const;
  /// Connects and returns once READY. Never fails by itself, as in grpc.aio:
  /// against a dead server it waits, so bound it (cancel the task).
  Task<void> channel_ready() const;
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

/// A TLS channel to `target`. For a test certificate whose name differs from
/// the target, set the "grpc.ssl_target_name_override" argument.
Channel secure_channel(const std::string& target, const ChannelCredentials& credentials,
                       const ChannelOptions& options = {});

/// grpc.aio's `async with channel:` scope. Runs `body(channel)` (a callable
/// returning Task<R>) and then closes the channel however the body ended —
/// value, exception or cancellation — as `close()` does: calls still in
/// flight are cancelled. The body's result or exception is passed on.
///
///   co_await actio::with_channel(actio::insecure_channel(target), [&](actio::Channel& ch) -> actio::Task<void> {
///     ...
///   });
template <class F, class R = typename std::invoke_result_t<F&, Channel&>::value_type>
Task<R> with_channel(Channel channel, F body) {
  std::exception_ptr error;
  std::optional<std::conditional_t<std::is_void_v<R>, int, R>> result;
  try {
    if constexpr (std::is_void_v<R>) {
      co_await body(channel);
    } else {
      result.emplace(co_await body(channel));
    }
  } catch (...) {
    error = std::current_exception();
  }
  co_await channel.close();
  if (error) std::rethrow_exception(error);
  if constexpr (!std::is_void_v<R>) co_return std::move(*result);
}

}  // namespace actio
