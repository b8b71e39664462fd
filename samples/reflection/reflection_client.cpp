// A server reflection client: lists the server's services, then describes
// one of them from the FileDescriptorProto the server sends.
#include <CLI/CLI.hpp>
#include <google/protobuf/descriptor.pb.h>

#include <iostream>

#include "actio/aio.hpp"
#include "reflection_wire.pb.h"

using namespace std::chrono_literals;
using reflection_sample::ServerReflectionRequest;
using reflection_sample::ServerReflectionResponse;

// [client]
actio::Task<int> reflect(std::string target, std::string symbol) {
  auto channel = actio::insecure_channel(target);
  // No generated stub: the method is called by its path (see reflection_wire.proto).
  auto info = channel.stream_stream<ServerReflectionRequest, ServerReflectionResponse>(
      "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo");
  auto call = info({.timeout = 10s});

  ServerReflectionRequest list;
  list.set_list_services("*");
  co_await call.write(list);
  auto services = co_await call.read();
  if (!services || !services->has_list_services_response()) throw std::runtime_error("no service list");
  for (const auto& s : services->list_services_response().service()) std::cout << "service " << s.name() << std::endl;

  ServerReflectionRequest describe;
  describe.set_file_containing_symbol(symbol);
  co_await call.write(describe);
  auto files = co_await call.read();
  if (!files || !files->has_file_descriptor_response()) throw std::runtime_error("no descriptor for " + symbol);
  for (const std::string& bytes : files->file_descriptor_response().file_descriptor_proto()) {
    google::protobuf::FileDescriptorProto file;
    file.ParseFromString(bytes);
    for (const auto& svc : file.service()) {
      if (file.package() + "." + svc.name() != symbol) continue;
      std::cout << symbol << " is in " << file.name() << ":" << std::endl;
      for (const auto& m : svc.method()) {
        std::cout << "  rpc " << m.name() << "(" << (m.client_streaming() ? "stream " : "") << m.input_type()
                  << ") returns (" << (m.server_streaming() ? "stream " : "") << m.output_type() << ")" << std::endl;
      }
    }
  }
  co_await call.done_writing();
  co_await channel.close();
  co_return 0;
}
// [client]

int main(int argc, char** argv) {
  std::string target = "localhost:50055", symbol = "routeguide.RouteGuide";
  CLI::App app{"Actio server reflection client"};
  app.add_option("--target", target, "server address");
  app.add_option("--symbol", symbol, "service to describe");
  CLI11_PARSE(app, argc, argv);
  try {
    return actio::run(reflect(target, symbol));
  } catch (const std::exception& e) {
    std::cerr << "reflection_client: " << e.what() << std::endl;
    return 1;
  }
}
