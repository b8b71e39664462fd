#pragma once
/// Codecs: how messages become bytes on the wire. Protobuf messages and
/// std::string (raw bytes) work by default; any other type, or a custom wire
/// format, takes a serializer/deserializer pair (bytes in, bytes out), as
/// grpc.aio's request_serializer / response_deserializer.

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <typeinfo>

namespace google::protobuf {
class MessageLite;
}
namespace grpc {
class ByteBuffer;
}

namespace actio {

template <class T>
struct Codec {
  std::function<std::string(const T&)> serialize;  ///< empty: the default for T
  std::function<T(std::string_view)> deserialize;  ///< may throw on bad input
};

/// A message as it passes through an interceptor: its wire bytes, decoded on
/// demand. Copies share the bytes (they are never copied themselves), so
/// handing a Message along costs nothing. A Message is itself a message type:
/// multi-callables and handlers of Message pass the bytes through unchanged.
///
///   auto req = request.as<helloworld::HelloRequest>();   // decode
///   co_return co_await continuation(details, actio::Message::of(changed));
class Message {
 public:
  /// An empty (zero-length) message.
  Message();
  /// Encodes `value` with `codec` (protobuf / raw bytes by default).
  template <class T>
  static Message of(const T& value, const Codec<T>& codec = {});
  /// The raw bytes as a message.
  static Message from_bytes(std::string_view bytes);
  /// Decodes as T with `codec`; throws UsageError if the bytes do not decode.
  template <class T>
  T as(const Codec<T>& codec = {}) const;
  /// Length in bytes (on the wire, before compression).
  std::size_t size() const;
  /// A copy of the bytes.
  std::string bytes() const;

  /// For the framework: the bytes (a grpc::ByteBuffer shares them).
  const grpc::ByteBuffer& buffer() const noexcept { return *buf_; }
  grpc::ByteBuffer& buffer() noexcept { return *buf_; }

 private:
  std::shared_ptr<grpc::ByteBuffer> buf_;
};

namespace detail {
/// Copies a buffer's slices (not their bytes) into/out of a Message.
void copy_buffer(const grpc::ByteBuffer& in, grpc::ByteBuffer& out);
[[noreturn]] void throw_undecodable(const char* type);

void encode_message(const google::protobuf::MessageLite& msg, grpc::ByteBuffer& out);
bool decode_message(const grpc::ByteBuffer& in, google::protobuf::MessageLite& msg);
void encode_bytes(std::string_view bytes, grpc::ByteBuffer& out);
std::string decode_bytes(const grpc::ByteBuffer& in);
/// Replaces `out`'s bytes with the buffer's (reusing its capacity).
void decode_bytes_into(const grpc::ByteBuffer& in, std::string& out);

/// True if T has a default codec (protobuf message, raw bytes, Message).
template <class T>
inline constexpr bool has_default_codec = std::is_base_of_v<google::protobuf::MessageLite, T> ||
                                          std::is_same_v<T, std::string> || std::is_same_v<T, Message>;

[[noreturn]] void throw_no_codec(const char* what);

/// Throws UsageError unless T has a default codec or `codec` fills the gap.
template <class T>
void check_codec(const Codec<T>& codec) {
  if constexpr (!has_default_codec<T>) {
    if (!codec.serialize || !codec.deserialize) {
      throw_no_codec("this message type has no default codec: pass a Codec with a serializer and a deserializer");
    }
  }
}

template <class T>
void encode(const Codec<T>& codec, const T& value, grpc::ByteBuffer& out) {
  if (codec.serialize) {
    encode_bytes(codec.serialize(value), out);
  } else if constexpr (std::is_base_of_v<google::protobuf::MessageLite, T>) {
    encode_message(value, out);
  } else if constexpr (std::is_same_v<T, std::string>) {
    encode_bytes(value, out);
  } else if constexpr (std::is_same_v<T, Message>) {
    copy_buffer(value.buffer(), out);
  } else {
    throw_no_codec("no serializer for this message type");
  }
}

/// Decodes into `out`, which then holds exactly the decoded message whatever
/// it held before (read_into reuses one object): protobuf parsing clears it
/// first, raw bytes replace its bytes, a deserializer's value is assigned.
/// Returns false if the bytes do not decode (or the deserializer threw).
template <class T>
bool decode(const Codec<T>& codec, const grpc::ByteBuffer& in, T& out) {
  if (codec.deserialize) {
    try {
      out = codec.deserialize(decode_bytes(in));
      return true;
    } catch (...) {
      return false;
    }
  } else if constexpr (std::is_base_of_v<google::protobuf::MessageLite, T>) {
    return decode_message(in, out);
  } else if constexpr (std::is_same_v<T, std::string>) {
    decode_bytes_into(in, out);
    return true;
  } else if constexpr (std::is_same_v<T, Message>) {
    out = Message();  // copies share bytes: never write into another's
    copy_buffer(in, out.buffer());
    return true;
  } else {
    return false;
  }
}

/// Type-erased encoder: (value, codec) -> bytes, so call code needs no templates.
using EncodeFn = void (*)(const void* value, const void* codec, grpc::ByteBuffer& out);
template <class T>
void encode_thunk(const void* value, const void* codec, grpc::ByteBuffer& out) {
  encode(*static_cast<const Codec<T>*>(codec), *static_cast<const T*>(value), out);
}

}  // namespace detail

template <class T>
Message Message::of(const T& value, const Codec<T>& codec) {
  Message m;
  detail::encode(codec, value, m.buffer());
  return m;
}

template <class T>
T Message::as(const Codec<T>& codec) const {
  T out;
  if (!detail::decode(codec, buffer(), out)) detail::throw_undecodable(typeid(T).name());
  return out;
}

}  // namespace actio
