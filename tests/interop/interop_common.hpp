#pragma once
// What the Actio interop server and client share: payloads, and how a peer
// learns whether a message came compressed.
//
// Neither grpc.aio nor Actio tells an application whether a received message
// had the compressed flag set (grpc C++'s own interop server reads it through
// a test-only inspector). So the peers that must know it (the servers, for
// expect_compressed; the client, for server_compressed_*) turn gRPC's own
// per-message decompression off ("grpc.per_message_decompression" = 0): gRPC
// then hands over each message as it came off the wire, and the peer inflates
// it itself. A message that is a complete gzip/zlib stream came compressed
// (an uncompressed protobuf of these types never is one).
#include <zlib.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "actio/aio.hpp"
#include "grpc/testing/messages.pb.h"

namespace interop {

/// The channel/server argument that makes gRPC hand over messages as sent.
inline constexpr const char kNoDecompressionArg[] = "grpc.per_message_decompression";

/// Metadata keys the server echoes (the spec's "Echo Metadata" feature).
inline constexpr const char kEchoInitialKey[] = "x-grpc-test-echo-initial";
inline constexpr const char kEchoTrailingKey[] = "x-grpc-test-echo-trailing-bin";

/// The message inside `raw` if `raw` is one complete gzip or zlib stream (what
/// gRPC's "gzip" and "deflate" message compression send), else nullopt.
inline std::optional<std::string> inflate_message(std::string_view raw) {
  if (raw.size() < 2) return std::nullopt;
  z_stream zs{};
  if (inflateInit2(&zs, 15 + 32) != Z_OK) return std::nullopt;  // 32: gzip or zlib header
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(raw.data()));
  zs.avail_in = static_cast<uInt>(raw.size());
  std::string out;
  char chunk[16384];
  int rc;
  do {
    zs.next_out = reinterpret_cast<Bytef*>(chunk);
    zs.avail_out = sizeof chunk;
    rc = inflate(&zs, Z_NO_FLUSH);
    out.append(chunk, sizeof chunk - zs.avail_out);
  } while (rc == Z_OK);
  bool complete = rc == Z_STREAM_END && zs.avail_in == 0;
  inflateEnd(&zs);
  if (!complete) return std::nullopt;
  return out;
}

/// True if `raw`, a message as it came off the wire, was compressed.
inline bool arrived_compressed(std::string_view raw) { return inflate_message(raw).has_value(); }

/// A codec for a peer with gRPC's decompression off: decodes `M` from a
/// message that may be compressed. With `log`, records per message whether
/// it was (in arrival order).
template <class M>
actio::Codec<M> inflating_codec(std::shared_ptr<std::vector<bool>> log = nullptr) {
  actio::Codec<M> codec;  // serialize left empty: protobuf's default
  codec.deserialize = [log](std::string_view raw) {
    std::optional<std::string> plain = inflate_message(raw);
    if (log) log->push_back(plain.has_value());
    std::string_view bytes = plain ? std::string_view(*plain) : raw;
    M message;
    if (!message.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
      throw std::runtime_error("undecodable " + message.GetTypeName());
    }
    return message;
  };
  return codec;
}

/// A payload of `size` zero bytes (what every interop request and response carries).
inline grpc::testing::Payload zeros(int size) {
  grpc::testing::Payload p;
  p.set_type(grpc::testing::COMPRESSABLE);
  p.mutable_body()->assign(static_cast<std::size_t>(size), '\0');
  return p;
}

}  // namespace interop
