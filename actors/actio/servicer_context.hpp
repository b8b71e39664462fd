#pragma once
/// ServicerContext: what a handler knows and can do about its call.

#include <functional>
#include <map>
#include <memory>
#include <typeinfo>
#include <vector>
#include <optional>
#include <string>
#include <utility>

#include "actio/codec.hpp"
#include "actio/errors.hpp"
#include "actio/interceptor_record.hpp"
#include "actio/metadata.hpp"
#include "actio/options.hpp"
#include "actio/status.hpp"
#include "actio/task.hpp"

namespace caf {
class actor;
}
namespace grpc {
class ByteBuffer;
}

namespace actio {

namespace detail {
class ServerCall;
}

/// The per-RPC server context, homed on the server loop that accepted the
/// call; every method throws UsageError on another thread.
class ServicerContext {
 public:
  explicit ServicerContext(detail::ServerCall& call) noexcept : call_(&call) {}
  ServicerContext(const ServicerContext&) = delete;
  ServicerContext& operator=(const ServicerContext&) = delete;

  // -- what the client sent -------------------------------------------------

  /// The client's metadata (user-agent included).
  const Metadata& invocation_metadata() const;
  /// e.g. "ipv4:127.0.0.1:47704".
  std::string peer() const;
  /// The full method path being served.
  const std::string& method() const;
  /// Time left before the client's deadline (never negative); nullopt without one.
  std::optional<Duration> time_remaining() const;

  /// The connection's auth properties, e.g. {"transport_security_type":
  /// ["ssl"], "x509_common_name": [...]} (insecure: transport_security_type
  /// "insecure", security_level "TSI_SECURITY_NONE").
  std::map<std::string, std::vector<std::string>> auth_context() const;
  /// The authenticated peer's identities (e.g. certificate SANs); empty when
  /// the peer is not authenticated (grpc.aio gives None).
  std::vector<std::string> peer_identities() const;
  /// The auth property that names the peer's identities (e.g.
  /// "x509_subject_alternative_name"); empty when the peer is not
  /// authenticated (grpc.aio gives None).
  std::string peer_identity_key() const;

  // -- replying ---------------------------------------------------------------

  /// Sends initial metadata now. A second call, or one after the response
  /// went out, throws UsageError("Send initial metadata failed: already sent").
  Task<void> send_initial_metadata(const Metadata& metadata);
  /// Sends one response message of a streaming-response call (the first
  /// write also sends the initial metadata). Await each write before the
  /// next. After the status went out: UsageError("RPC already finished."); after
  /// abort(): AbortError; once the client cancelled: CancelledError.
  template <class M>
  Task<void> write(const M& message);
  /// A string literal is raw bytes (a std::string message).
  Task<void> write(const char* message) { return write(std::string(message)); }

  /// Reads the next request of a streaming-request call: nullopt once the
  /// client half-closed (and always for a unary request), as grpc.aio's EOF.
  /// One read at a time. An undecodable request ends the call with INTERNAL.
  template <class M>
  Task<std::optional<M>> read(Codec<M> codec = {});
  /// read() into `out`, reusing its storage: true with the next request
  /// decoded into `out` (exactly it: protobuf parsing clears `out` first),
  /// false once the client half-closed (`out` left as it was).
  template <class M>
  Task<bool> read_into(M& out, Codec<M> codec = {});

  /// Metadata sent with the final status.
  void set_trailing_metadata(const Metadata& metadata);
  /// Sets the final code; with a non-OK code the handler's response is dropped.
  void set_code(StatusCode code);
  void set_details(std::string details);
  StatusCode code() const;
  const std::string& details() const;
  /// What set_trailing_metadata() (or abort()'s) stored: the metadata the
  /// status carries.
  const Metadata& trailing_metadata() const;
  /// Sends the status now and throws AbortError. Empty arguments fall back to
  /// what set_details / set_trailing_metadata stored. A second abort throws
  /// UsageError("Abort already called!") and the first status stands; code OK
  /// is refused with UsageError (grpc.aio hangs the client there).
  [[noreturn]] void abort(StatusCode code, std::string details = {},
                          std::optional<Metadata> trailing_metadata = std::nullopt);
  /// abort(status.code, status.details, status.trailing_metadata), as
  /// grpc.aio's (empty fields fall back as for abort()).
  [[noreturn]] void abort_with_status(const Status& status);

  /// Compresses the responses with `algorithm`. Once the initial metadata
  /// went out (first write, send_initial_metadata): UsageError (grpc.aio
  /// raises RuntimeError; UsageError is one).
  void set_compression(Compression algorithm);
  /// Sends the next response message uncompressed. For a unary-response
  /// handler this is its one reply, which then goes out uncompressed by
  /// asking for no compression on the call (gRPC's unary reply takes no
  /// per-message options); after send_initial_metadata() it has no effect there.
  void disable_next_message_compression();

  // -- lifecycle ------------------------------------------------------------

  /// True once the client cancelled or the deadline passed (unlike grpc.aio,
  /// where a client cancel leaves it false), and after a CANCELLED status.
  bool cancelled() const;
  /// True once the status has been sent.
  bool done() const;
  /// Runs `cb(context)` after the handler ended, whatever the outcome. A
  /// callback that throws does not stop the others.
  void add_done_callback(std::function<void(ServicerContext&)> cb);
  /// The server-call actor (spawned on first use): `cancel_atom` → bool.
  caf::actor actor();

  // -- for server interceptors --------------------------------------------------

  /// Per-request data keyed by its type: a server interceptor sets it, the
  /// handler reads it (what grpc.aio users emulate with contextvars).
  ///   ctx.set_value(User{"ada"});   ...   if (const User* u = ctx.value<User>()) ...
  template <class T>
  void set_value(T value) {
    set_value_(typeid(T), std::make_shared<T>(std::move(value)));
  }
  /// The value of type T set on this call, or nullptr.
  template <class T>
  T* value() const {
    return static_cast<T*>(value_(typeid(T)));
  }
  /// Runs `fn(message)` on every request before the handler gets it (the
  /// single request of a unary-request call too); fn may change it.
  void add_request_observer(std::function<void(Message&)> fn);
  /// Runs `fn(message)` on every response before it is sent; fn may change it.
  void add_response_observer(std::function<void(Message&)> fn);
  /// The server interceptors this call went through, outermost first.
  std::vector<InterceptorRecord> interceptors() const;

  /// For handler adapters: the request bytes and the response to fill.
  const grpc::ByteBuffer& request_buffer_() const;
  grpc::ByteBuffer& response_buffer_();
  /// For read(): the next request's bytes.
  Task<bool> read_next_();
  const grpc::ByteBuffer& read_buffer_() const;
  /// For write(): sends encoded bytes; takes `message` (from
  /// detail::new_byte_buffer) over, whatever happens.
  Task<void> write_bytes_(grpc::ByteBuffer* message);
  /// For handler adapters: ends the call with INTERNAL (undecodable request).
  [[noreturn]] void fail_to_parse_request_();
  void set_value_(const std::type_info& type, std::shared_ptr<void> value);
  void* value_(const std::type_info& type) const;

 private:
  detail::ServerCall* call_;
};

namespace detail {
/// Encodes with the default codec of M into a fresh ByteBuffer (in codec.cpp).
grpc::ByteBuffer* new_byte_buffer();
void delete_byte_buffer(grpc::ByteBuffer* bb) noexcept;
}  // namespace detail

template <class M>
Task<void> ServicerContext::write(const M& message) {
  // grpc::ByteBuffer has no move constructor (a "move" is a copy of its
  // slice list), so the encoded bytes travel by pointer.
  struct Owned {
    grpc::ByteBuffer* bb = detail::new_byte_buffer();
    ~Owned() { detail::delete_byte_buffer(bb); }
  } owned;
  detail::encode(Codec<M>{}, message, *owned.bb);
  return write_bytes_(std::exchange(owned.bb, nullptr));
}

namespace detail {
/// context.read() / read_into() with a codec kept elsewhere (a
/// RequestStream's, in the method table): no copy of it per read.
template <class M>
Task<std::optional<M>> read_request(ServicerContext& context, const Codec<M>& codec) {
  if (!co_await context.read_next_()) co_return std::nullopt;
  M out;
  if (!decode(codec, context.read_buffer_(), out)) context.fail_to_parse_request_();
  co_return out;
}
template <class M>
Task<bool> read_request_into(ServicerContext& context, M& out, const Codec<M>& codec) {
  bool got = co_await context.read_next_();
  if (got && !decode(codec, context.read_buffer_(), out)) context.fail_to_parse_request_();
  co_return got;
}
}  // namespace detail

template <class M>
Task<std::optional<M>> ServicerContext::read(Codec<M> codec) {
  if (!co_await read_next_()) co_return std::nullopt;
  M out;
  if (!detail::decode(codec, read_buffer_(), out)) fail_to_parse_request_();
  co_return out;
}

template <class M>
Task<bool> ServicerContext::read_into(M& out, Codec<M> codec) {
  bool got = co_await read_next_();
  if (got && !detail::decode(codec, read_buffer_(), out)) fail_to_parse_request_();
  co_return got;
}

}  // namespace actio
