#pragma once
/// Per-call and per-channel options.

#include <chrono>
#include <memory>
#include <optional>
#include <string>
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

/// Per-call credentials (e.g. an access token); see security (later issue).
class CallCredentials;

/// Options of one call, as the keyword arguments of a grpc.aio multi-callable.
struct CallOptions {
  std::optional<Duration> timeout;              ///< relative; none = no deadline
  Metadata metadata;                            ///< sent as initial metadata
  std::shared_ptr<CallCredentials> credentials; ///< secure channels only
  std::optional<bool> wait_for_ready;           ///< none = grpc default (fail fast)
  std::optional<Compression> compression;       ///< request compression
};

/// A gRPC channel/server argument value.
using OptionValue = std::variant<int, std::string>;
/// gRPC channel/server arguments, e.g. {"grpc.max_receive_message_length", 1024}.
using ChannelArguments = std::vector<std::pair<std::string, OptionValue>>;

/// Options of insecure_channel().
struct ChannelOptions {
  ChannelArguments args;
  std::optional<Compression> compression;  ///< channel default compression
};

}  // namespace actio
