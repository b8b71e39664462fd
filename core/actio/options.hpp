#pragma once
/// Per-call and per-channel options.

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "actio/metadata.hpp"

namespace actio {

/// Seconds as a floating-point duration: `1s`, `250ms` and `1.5s` all convert.
using Duration = std::chrono::duration<double>;

/// Message compression algorithms (grpc.Compression).
enum class Compression { NoCompression = 0, Deflate = 1, Gzip = 2 };

/// Channel connectivity states (grpc.ChannelConnectivity).
enum class ChannelConnectivity { IDLE, CONNECTING, READY, TRANSIENT_FAILURE, SHUTDOWN };

/// Per-call credentials (e.g. an access token); see actio/security.hpp.
class CallCredentials;
/// A client interceptor; see actio/interceptor.hpp.
class ClientInterceptor;

/// A non-owning reference that binds only to lvalues (a temporary would
/// dangle): `{.metadata = md}` refers to `md`, which the call copies when it
/// starts, inside the call expression.
template <class T>
class LvalueRef {
 public:
  LvalueRef() noexcept = default;
  LvalueRef(const T& value) noexcept : ptr_(&value) {}  // NOLINT: implicit on purpose
  LvalueRef(T&&) = delete;
  const T* get() const noexcept { return ptr_; }
  explicit operator bool() const noexcept { return ptr_ != nullptr; }

 private:
  const T* ptr_ = nullptr;
};

/// Options of one call, as the keyword arguments of a grpc.aio multi-callable:
/// `co_await stub.SayHello(request, {.timeout = 1s, .metadata = md})`.
///
/// Trivially destructible on purpose: GCC 12 destroys an aggregate temporary
/// made inside a `co_await` expression twice (a compiler bug), which is
/// harmless only for such types. So metadata and credentials are referred to,
/// not owned.
struct CallOptions {
  std::optional<Duration> timeout;                          ///< relative; none = no deadline
  LvalueRef<Metadata> metadata;                             ///< sent as initial metadata
  LvalueRef<std::shared_ptr<CallCredentials>> credentials;  ///< secure channels only
  std::optional<bool> wait_for_ready;                       ///< none = grpc default (fail fast)
  std::optional<Compression> compression;                   ///< request compression
};
static_assert(std::is_trivially_destructible_v<CallOptions>);

/// A gRPC channel/server argument value.
using OptionValue = std::variant<int, std::string>;
/// gRPC channel/server arguments, e.g. {"grpc.max_receive_message_length", 1024}.
using ChannelArguments = std::vector<std::pair<std::string, OptionValue>>;

/// Options of insecure_channel().
struct ChannelOptions {
  ChannelArguments args;
  std::optional<Compression> compression;  ///< channel default compression
  /// Client interceptors, outermost first (actio/interceptor.hpp). Each one
  /// intercepts every arity it implements; one that implements none, or a
  /// null pointer, is refused with UsageError when the channel is made.
  std::vector<std::shared_ptr<ClientInterceptor>> interceptors;
};

}  // namespace actio
