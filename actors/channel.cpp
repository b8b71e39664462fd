#include "actio/channel.hpp"
#include "actio/inspect.hpp"

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/support/channel_arguments.h>

#include <mutex>

#include <caf/all.hpp>

#include "actio/actors.hpp"
#include "detail/channel_state.hpp"
#include "detail/client_call.hpp"
#include "detail/interception.hpp"
#include "detail/loop_actor.hpp"

namespace actio {
namespace detail {

namespace {
constexpr const char* kLocalCancel = "Locally cancelled by application!";
// NotifyOnStateChange re-armed in short slices so a stopped watch (or one
// waiting on a state that never changes) never holds the loop's shutdown for
// long: shutdown waits for every started operation.
constexpr auto kStateSlice = std::chrono::milliseconds(250);
}  // namespace

/// An inspected channel's connectivity, reported to its endpoint record on
/// each change (with the time it happened), not only when a Snapshot looks.
struct ConnectivityWatch final : Op {
  ConnectivityWatch(EventLoop& l, std::shared_ptr<grpc::Channel> ch, std::shared_ptr<inspect::EndpointRecord> e)
      : loop(&l), channel(std::move(ch)), endpoint(std::move(e)), last(channel->GetState(false)) {
    inspect::endpoint_state(*endpoint, inspect::channel_state_name(last));
    arm();
  }
  void arm() {
    loop->op_started();
    channel->NotifyOnStateChange(last, std::chrono::system_clock::now() + kStateSlice, loop->cq(), this);
  }
  void complete(bool) override {
    loop->op_finished();
    if (stopped) {  // (only the channel stops it: it holds a pointer to this op)
      delete this;
      return;
    }
    auto now = channel->GetState(false);
    if (now != last) {
      last = now;
      if (inspect::enabled()) inspect::endpoint_state(*endpoint, inspect::channel_state_name(now));
    }
    arm();
  }
  EventLoop* loop;
  std::shared_ptr<grpc::Channel> channel;
  std::shared_ptr<inspect::EndpointRecord> endpoint;
  grpc_connectivity_state last;
  bool stopped = false;  // set by the channel; the op deletes itself on its next completion
};

ChannelState::ChannelState(EventLoop& loop, std::string target, std::shared_ptr<grpc::Channel> channel,
                           bool secure)
    : loop_(&loop), target_(std::move(target)), channel_(channel), secure_(secure) {
  loop_->add_io_interest();
  io_interest_ = true;
  endpoint_ = inspect::endpoint_added(inspect::EndpointRecord::Kind::channel, target_, loop_->id(), channel_);
  start_connectivity_watch();
  hook_id_ = loop_->add_shutdown_hook([this] {
    hook_id_ = 0;
    closed_ = true;
    stop_connectivity_watch();
    drop_io_interest();
    cancel_all(kLocalCancel);
    actor_.reset();
  });
}

ChannelState::~ChannelState() {
  stop_connectivity_watch();
  inspect::endpoint_removed(endpoint_);
  if (hook_id_) {
    drop_io_interest();
    loop_->remove_shutdown_hook(hook_id_);
  }
}

const RegisteredMethod* ChannelState::registered_method(const std::string& name) {
  auto it = methods_.find(name);
  if (it == methods_.end()) {
    if (methods_.size() >= kMaxRegisteredMethods) return nullptr;
    // An RpcMethod keeps a pointer to its name: the map's key (a node's key
    // does not move). gRPC registers a name once per channel (both kinds share it).
    it = methods_.try_emplace(name).first;
    const char* key = it->first.c_str();
    std::shared_ptr<grpc::ChannelInterface> ch = channel_;
    it->second = std::make_unique<RegisteredMethod>(
        RegisteredMethod{grpc::internal::RpcMethod(key, grpc::internal::RpcMethod::NORMAL_RPC, ch),
                         grpc::internal::RpcMethod(key, grpc::internal::RpcMethod::BIDI_STREAMING, ch), &it->first});
  }
  return it->second.get();
}

void ChannelState::start_connectivity_watch() {
  if (watch_ || closed_ || !endpoint_ || !inspect::enabled()) return;
  watch_ = new ConnectivityWatch(*loop_, channel_, endpoint_);
}

namespace {
/// Every channel made, by loop, as weak references: locked only on their
/// own loop, so a channel is never destroyed on another thread.
struct MadeChannels {
  std::mutex mu;
  std::vector<std::pair<std::uint32_t, std::weak_ptr<ChannelState>>> states;
};
MadeChannels& made_channels() {
  static auto* made = new MadeChannels;  // outlives every loop (never destroyed)
  return *made;
}
}  // namespace

std::shared_ptr<ChannelState> make_channel_state(EventLoop& loop, std::string target,
                                                 std::shared_ptr<grpc::Channel> channel, bool secure) {
  auto state = std::make_shared<ChannelState>(loop, std::move(target), std::move(channel), secure);
  auto& made = made_channels();
  std::lock_guard<std::mutex> lock(made.mu);
  std::erase_if(made.states, [](const auto& s) { return s.second.expired(); });
  made.states.emplace_back(loop.id(), state);
  return state;
}

void start_connectivity_watches() {
  EventLoop::for_each_loop([](EventLoop& l) {
    l.post([id = l.id()] {
      std::vector<std::shared_ptr<ChannelState>> here;
      {
        auto& made = made_channels();
        std::lock_guard<std::mutex> lock(made.mu);
        for (const auto& [loop, weak] : made.states) {
          if (loop != id) continue;
          if (auto s = weak.lock()) here.push_back(std::move(s));
        }
      }
      for (const auto& s : here) s->start_connectivity_watch();
    });
  });
}

void ChannelState::stop_connectivity_watch() noexcept {
  if (watch_) std::exchange(watch_, nullptr)->stopped = true;
}

void ChannelState::drop_io_interest() noexcept {
  if (std::exchange(io_interest_, false)) loop_->remove_io_interest();
}

void ChannelState::link(ClientCall* call) noexcept { live_.push_front(call); }

void ChannelState::unlink(ClientCall* call) noexcept {
  live_.erase(call);
  if (live_.empty()) drained_.set();
}

void ChannelState::check_usable(const char* what) const {
  loop_->check_thread(what);
  if (closed_) throw UsageError("Channel is closed.");
}

void ChannelState::cancel_all(const char* details) {
  // cancel() unlinks the call, so always take the head.
  while (ClientCall* call = live_.front()) call->cancel(details);
}

Task<void> ChannelState::close(std::optional<Duration> grace) {
  auto keep = shared_from_this();
  closed_ = true;
  if (grace && !live_.empty()) {
    drained_.clear();
    co_await drained_.wait_for(*grace);
  }
  cancel_all(kLocalCancel);
  stop_connectivity_watch();
  drop_io_interest();  // a closed channel does no more I/O of its own
  if (endpoint_) {
    {
      std::lock_guard<std::mutex> lock(endpoint_->mu);
      endpoint_->channel.reset();
    }
    inspect::endpoint_state(*endpoint_, "SHUTDOWN");
  }
}

namespace {
/// One NotifyOnStateChange on the loop's queue. Outlives a cancelled waiter:
/// it deletes itself when gRPC hands it back.
struct StateOp final : Op {
  explicit StateOp(EventLoop& l) : loop(&l) { loop->op_started(); }
  void complete(bool) override {
    loop->op_finished();
    if (orphaned) {
      delete this;
      return;
    }
    fired.set();
  }
  EventLoop* loop;
  Event fired;
  bool orphaned = false;
};
}  // namespace

Task<ChannelConnectivity> ChannelState::wait_for_state_change(ChannelConnectivity last) {
  auto keep = shared_from_this();
  for (;;) {
    if (closed_) throw UsageError("Channel is closed.");
    auto now = static_cast<ChannelConnectivity>(channel_->GetState(false));
    if (now != last) co_return now;
    auto* op = new StateOp(*loop_);
    channel_->NotifyOnStateChange(static_cast<grpc_connectivity_state>(last),
                                  std::chrono::system_clock::now() + kStateSlice, loop_->cq(), op);
    try {
      co_await op->fired.wait();
    } catch (const CancelledError&) {
      op->orphaned = true;
      throw;
    }
    delete op;
  }
}

caf::actor ChannelState::actor() {
  if (!actor_) {
    std::weak_ptr<ChannelState> weak = weak_from_this();
    actor_ = std::make_unique<LoopActor>(
        *loop_,
        caf::behavior{
            [this, weak](unary_atom, const std::string& method, const std::string& request,
                         double timeout_s) -> caf::result<std::string> {
              auto self = weak.lock();
              if (!self || closed_) return grpc_error(static_cast<int>(StatusCode::UNAVAILABLE), "Channel is closed.");
              CallOptions opts;
              if (timeout_s > 0) opts.timeout = Duration(timeout_s);
              static const Codec<std::string> raw;
              auto rp = actor_->self()->make_response_promise<std::string>();
              Call call(start_unary_call(self, method, &encode_thunk<std::string>, &request, &raw, opts));
              // The callback holds the call until it is done (then it is dropped).
              call.add_done_callback([rp, keep = call](const Call& c) mutable {
                auto* st = c.get();
                if (st->code() == StatusCode::OK) {
                  rp.deliver(decode_bytes(st->response()));
                } else {
                  rp.deliver(grpc_error(static_cast<int>(st->code()), st->details()));
                }
              });
              return rp;
            },
            [this](state_atom) { return static_cast<int>(channel_->GetState(false)); },
        },
        "channel", target_);
  }
  return actor_->handle();
}

namespace {
ClientCall* start_call(const std::shared_ptr<ChannelState>& channel, const std::string& method,
                       ClientCall::Shape shape, EncodeFn encode, const void* request, const void* codec,
                       const CallOptions& options, const char* what, bool intercept = true) {
  if (!channel) throw UsageError("call on an empty Channel handle");
  channel->check_usable(what);
  if (intercept && intercepts(*channel, shape)) {
    return start_intercepted(channel, method, shape, encode, request, codec, options);
  }
  auto* call = new ClientCall(channel, method, shape, options);
  if (!encode) {  // a stream-request call: no request now
    if (intercept) call->inspect(options);
    call->start_streaming();
    return call;
  }
  try {
    encode(request, codec, call->request());
  } catch (...) {
    call->cancel("Failed to serialize request");
    call->release();
    throw;
  }
  if (intercept) call->inspect(options);
  if (shape == ClientCall::Shape::unary_stream) {
    call->start_unary_stream();
  } else {
    call->start_unary();
  }
  return call;
}
}  // namespace

ClientCall* start_unary_call(const std::shared_ptr<ChannelState>& channel, const std::string& method,
                             EncodeFn encode, const void* request, const void* codec, const CallOptions& options) {
  return start_call(channel, method, ClientCall::Shape::unary_unary, encode, request, codec, options,
                    "UnaryUnaryMultiCallable");
}

ClientCall* start_streaming_call(const std::shared_ptr<ChannelState>& channel, const std::string& method,
                                 bool bidi, const CallOptions& options) {
  return start_call(channel, method, bidi ? ClientCall::Shape::stream_stream : ClientCall::Shape::stream_unary,
                    nullptr, nullptr, nullptr, options, bidi ? "StreamStreamMultiCallable" : "StreamUnaryMultiCallable");
}

ClientCall* start_unary_stream_call(const std::shared_ptr<ChannelState>& channel, const std::string& method,
                                    EncodeFn encode, const void* request, const void* codec,
                                    const CallOptions& options) {
  return start_call(channel, method, ClientCall::Shape::unary_stream, encode, request, codec, options,
                    "UnaryStreamMultiCallable");
}

ClientCall* start_call_direct(const std::shared_ptr<ChannelState>& channel, const std::string& method,
                              ClientCall::Shape shape, EncodeFn encode, const void* request, const void* codec,
                              const CallOptions& options) {
  return start_call(channel, method, shape, encode, request, codec, options, "continuation", false);
}

grpc::ChannelArguments to_channel_args(const ChannelArguments& args, std::optional<Compression> compression) {
  grpc::ChannelArguments out;
  for (const auto& [k, v] : args) {
    if (const int* i = std::get_if<int>(&v)) {
      out.SetInt(k, *i);
    } else {
      out.SetString(k, std::get<std::string>(v));
    }
  }
  if (compression) {
    out.SetCompressionAlgorithm(static_cast<grpc_compression_algorithm>(static_cast<int>(*compression)));
  }
  out.SetString(GRPC_ARG_PRIMARY_USER_AGENT_STRING, "actio/0.1");
  return out;
}

}  // namespace detail

void Channel::check(const char* what) const {
  if (!state_) throw UsageError(std::string(what) + " on an empty Channel handle");
  state_->loop().check_thread(what);
}

Task<void> Channel::close(std::optional<Duration> grace) {
  check("Channel::close");
  return state_->close(grace);
}

ChannelConnectivity Channel::get_state(bool try_to_connect) const {
  check("Channel::get_state");
  if (state_->closed()) return ChannelConnectivity::SHUTDOWN;
  return static_cast<ChannelConnectivity>(state_->channel().GetState(try_to_connect));
}

Task<ChannelConnectivity> Channel::wait_for_state_change(ChannelConnectivity last) const {
  check("Channel::wait_for_state_change");
  return state_->wait_for_state_change(last);
}

Task<void> Channel::channel_ready() const {
  check("Channel::channel_ready");
  auto state = state_;
  for (;;) {
    if (state->closed()) throw UsageError("Channel is closed.");
    auto now = static_cast<ChannelConnectivity>(state->channel().GetState(true));
    if (now == ChannelConnectivity::READY) co_return;
    co_await state->wait_for_state_change(now);
  }
}

const std::string& Channel::target() const {
  check("Channel::target");
  return state_->target();
}

caf::actor Channel::actor() const {
  check("Channel::actor");
  return state_->actor();
}

Channel insecure_channel(const std::string& target, const ChannelOptions& options) {
  auto& loop = EventLoop::require("actio::insecure_channel");
  inspect::start_from_environment();
  auto args = detail::to_channel_args(options.args, options.compression);
  auto interceptors = detail::sort_interceptors(options.interceptors);
  auto ch = grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args);
  auto state = detail::make_channel_state(loop, target, std::move(ch), false);
  state->set_interceptors(std::move(interceptors));
  return Channel(std::move(state));
}

Channel secure_channel(const std::string& target, const ChannelCredentials& credentials,
                       const ChannelOptions& options) {
  auto& loop = EventLoop::require("actio::secure_channel");
  inspect::start_from_environment();
  if (!credentials.creds) throw UsageError("secure_channel needs credentials (ssl_channel_credentials)");
  auto args = detail::to_channel_args(options.args, options.compression);
  auto interceptors = detail::sort_interceptors(options.interceptors);
  auto ch = grpc::CreateCustomChannel(target, credentials.creds, args);
  auto state = detail::make_channel_state(loop, target, std::move(ch), true);
  state->set_interceptors(std::move(interceptors));
  return Channel(std::move(state));
}

ChannelCredentials ssl_channel_credentials(const std::string& root_certificates, const std::string& private_key,
                                           const std::string& certificate_chain) {
  grpc::SslCredentialsOptions opts;
  opts.pem_root_certs = root_certificates;
  opts.pem_private_key = private_key;
  opts.pem_cert_chain = certificate_chain;
  return {grpc::SslCredentials(opts)};
}

std::shared_ptr<CallCredentials> access_token_call_credentials(const std::string& token) {
  return std::make_shared<CallCredentials>(grpc::AccessTokenCredentials(token));
}

}  // namespace actio
