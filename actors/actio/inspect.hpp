#pragma once
/// Inspection: a process serves what its calls, channels and servers are
/// doing as actio.inspect.v1.Inspector (proto/actio/inspect/v1/inspect.proto),
/// for `actio-inspector` and for tests.
///
///   auto inspection = actio::inspect::start({.address = "127.0.0.1:7777"});
///
/// or set ACTIO_INSPECT=127.0.0.1:7777 in the environment: the first channel
/// or server the process makes starts it (for the process's lifetime).
/// Inspection runs on a thread of its own and reads what the calls record;
/// with it off, a call pays one pointer test per event.

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace actio::inspect {

struct Options {
  /// Where to serve; "127.0.0.1:0" picks a free port.
  std::string address = "127.0.0.1:0";
  /// Serving on anything but loopback (127.0.0.1, ::1, localhost) must be
  /// asked for: the inspector shows metadata and message bytes.
  bool allow_non_loopback = false;
  /// If set, callers must send "authorization: Bearer <token>".
  std::string token;
  /// How many finished calls each loop keeps, and a Snapshot shows (the
  /// newest of all loops'; those of loops that ended, such as a stopped
  /// server's, are kept together in one more ring of this size).
  std::size_t recent_calls = 256;
  /// Metadata values are redacted for "authorization", "cookie",
  /// "set-cookie", "proxy-authorization" and every "-bin" key; keys listed
  /// here are shown anyway.
  std::vector<std::string> show_keys;
};

/// Inspection being served; stops (and joins its thread) when destroyed.
class Inspection {
 public:
  struct Impl;
  explicit Inspection(std::unique_ptr<Impl> impl);
  ~Inspection();
  Inspection(const Inspection&) = delete;
  Inspection& operator=(const Inspection&) = delete;
  /// The bound port.
  int port() const;
  /// Where to reach it: the address's host with the bound port
  /// ("127.0.0.1:PORT", "[::1]:PORT"; a wildcard host gives 127.0.0.1).
  std::string target() const;
  /// Stops serving and turns recording off. Idempotent.
  void stop();

 private:
  std::unique_ptr<Impl> impl_;
};

/// Turns recording on and serves the Inspector on its own thread. Throws
/// UsageError for a non-loopback address without allow_non_loopback, and
/// std::runtime_error if the address cannot be bound. One at a time.
/// Channels and servers made before it are listed too; their calls and
/// counts start with it.
std::unique_ptr<Inspection> start(Options options = {});

/// The Options the environment asks for, or nullopt without ACTIO_INSPECT:
///   ACTIO_INSPECT=HOST:PORT          address
///   ACTIO_INSPECT_TOKEN=SECRET       token
///   ACTIO_INSPECT_ALLOW_REMOTE=1     allow_non_loopback
///   ACTIO_INSPECT_RECENT=N           recent_calls (a positive number)
///   ACTIO_INSPECT_SHOW_KEYS=k1,k2    show_keys
/// Throws UsageError for a malformed value.
std::optional<Options> options_from_environment();

/// Starts inspection once per process if ACTIO_INSPECT=HOST:PORT is set
/// (called by actio::server() and the channel factories). Errors go to stderr.
void start_from_environment();

/// True for an address (HOST:PORT) on loopback: an IPv4 literal in
/// 127.0.0.0/8, ::1, or "localhost".
bool is_loopback_address(const std::string& address);

/// Redacts `value` of `key` per `options` (what the Inspector sends).
bool redacted(const std::string& key, const Options& options);

}  // namespace actio::inspect
