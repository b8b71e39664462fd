// protoc-gen-actio: protoc --plugin=protoc-gen-actio=PATH --actio_out=DIR file.proto
#include <google/protobuf/compiler/plugin.h>

#include "actio_generator.hpp"

int main(int argc, char* argv[]) {
  actio::protoc::ActioGenerator generator;
  return google::protobuf::compiler::PluginMain(argc, argv, &generator);
}
