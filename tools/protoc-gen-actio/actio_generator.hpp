#pragma once
/// protoc-gen-actio: for each .proto file with services, writes
/// <name>.actio.h / <name>.actio.cc holding, per service S,
///   S + "Stub"      one multi-callable member per method (grpc Python's SStub),
///   S + "Servicer"  one virtual coroutine per method, answering UNIMPLEMENTED
///                   until overridden (grpc Python's SServicer),
///   add_SServicer_to_server(servicer, server).
/// A file without services gets both files with nothing but includes.

#include <google/protobuf/compiler/code_generator.h>

#include <string>

namespace actio::protoc {

class ActioGenerator final : public google::protobuf::compiler::CodeGenerator {
 public:
  bool Generate(const google::protobuf::FileDescriptor* file, const std::string& parameter,
                google::protobuf::compiler::GeneratorContext* context, std::string* error) const override;
  uint64_t GetSupportedFeatures() const override { return FEATURE_PROTO3_OPTIONAL; }
};

/// A C++ identifier for a proto name: C++ keywords get a trailing '_'
/// (as protobuf's own C++ generator does for field names).
std::string safe_identifier(const std::string& name);

}  // namespace actio::protoc
