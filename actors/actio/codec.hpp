#pragma once
/// Codecs: how messages become bytes on the wire. Protobuf messages and
/// std::string (raw bytes) work by default; any other type, or a custom wire
/// format, takes a serializer/deserializer pair (bytes in, bytes out), as
/// grpc.aio's request_serializer / response_deserializer.

#include <functional>
#include <string>
#include <string_view>
#include <type_traits>

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

namespace detail {

void encode_message(const google::protobuf::MessageLite& msg, grpc::ByteBuffer& out);
bool decode_message(const grpc::ByteBuffer& in, google::protobuf::MessageLite& msg);
void encode_bytes(std::string_view bytes, grpc::ByteBuffer& out);
std::string decode_bytes(const grpc::ByteBuffer& in);

/// True if T has a default codec (protobuf message or raw bytes).
template <class T>
inline constexpr bool has_default_codec =
    std::is_base_of_v<google::protobuf::MessageLite, T> || std::is_same_v<T, std::string>;

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
  } else {
    throw_no_codec("no serializer for this message type");
  }
}

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
    out = decode_bytes(in);
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
}  // namespace actio
