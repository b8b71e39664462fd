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
  // The reader only reads the buffer (a compressed one is inflated into the
  // reader's own), so no copy of it is needed; grpc's GenericDeserialize
  // would also empty it. Parsing clears `msg` first.
  grpc::ProtoBufferReader reader(const_cast<grpc::ByteBuffer*>(&in));
  return reader.status().ok() && msg.ParseFromZeroCopyStream(&reader);
}

void encode_bytes(std::string_view bytes, grpc::ByteBuffer& out) {
  grpc::Slice slice(bytes.data(), bytes.size());
  out = grpc::ByteBuffer(&slice, 1);
}

std::string decode_bytes(const grpc::ByteBuffer& in) {
  std::string out;
  decode_bytes_into(in, out);
  return out;
}

void decode_bytes_into(const grpc::ByteBuffer& in, std::string& out) {
  out.clear();
  if (!in.Valid()) return;
  grpc::Slice single;
  if (in.TrySingleSlice(&single).ok()) {  // the usual case: no slice list
    out.assign(reinterpret_cast<const char*>(single.begin()), single.size());
    return;
  }
  std::vector<grpc::Slice> slices;
  if (!in.Dump(&slices).ok()) return;
  out.reserve(in.Length());
  for (const auto& s : slices) out.append(reinterpret_cast<const char*>(s.begin()), s.size());
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
