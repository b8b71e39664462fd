#include "actio/codec.hpp"

#include <grpcpp/impl/codegen/proto_utils.h>
#include <grpcpp/support/byte_buffer.h>

#include "actio/errors.hpp"

namespace actio::detail {

void throw_no_codec(const char* what) { throw UsageError(what); }

grpc::ByteBuffer* new_byte_buffer() { return new grpc::ByteBuffer(); }
void delete_byte_buffer(grpc::ByteBuffer* bb) noexcept { delete bb; }

void encode_message(const google::protobuf::MessageLite& msg, grpc::ByteBuffer& out) {
  out.Clear();  // GenericSerialize wants an empty buffer (buffers are reused per call)
  bool own = false;
  auto st = grpc::GenericSerialize<grpc::ProtoBufferWriter, google::protobuf::MessageLite>(msg, &out, &own);
  if (!st.ok()) throw InternalError("Failed to serialize message: " + st.error_message());
}

bool decode_message(const grpc::ByteBuffer& in, google::protobuf::MessageLite& msg) {
  grpc::ByteBuffer copy(in);  // slices are ref-counted: no byte copy
  return grpc::GenericDeserialize<grpc::ProtoBufferReader, google::protobuf::MessageLite>(&copy, &msg).ok();
}

void encode_bytes(std::string_view bytes, grpc::ByteBuffer& out) {
  grpc::Slice slice(bytes.data(), bytes.size());
  out = grpc::ByteBuffer(&slice, 1);
}

std::string decode_bytes(const grpc::ByteBuffer& in) {
  std::string out;
  if (!in.Valid()) return out;
  std::vector<grpc::Slice> slices;
  if (!in.Dump(&slices).ok()) return out;
  out.reserve(in.Length());
  for (const auto& s : slices) out.append(reinterpret_cast<const char*>(s.begin()), s.size());
  return out;
}

void copy_buffer(const grpc::ByteBuffer& in, grpc::ByteBuffer& out) { out = in; }

void throw_undecodable(const char* type) {
  throw UsageError(std::string("Message does not decode as ") + type);
}

}  // namespace actio::detail

namespace actio {

Message::Message() : buf_(std::make_shared<grpc::ByteBuffer>()) { detail::encode_bytes({}, *buf_); }

Message Message::from_bytes(std::string_view bytes) {
  Message m;
  detail::encode_bytes(bytes, m.buffer());
  return m;
}

std::size_t Message::size() const { return buf_->Valid() ? buf_->Length() : 0; }

std::string Message::bytes() const { return detail::decode_bytes(*buf_); }

}  // namespace actio
