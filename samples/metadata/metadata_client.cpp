// The metadata client (grpc's examples/python/metadata/metadata_client.py):
// sends invocation metadata, a -bin key with raw bytes among it, then prints
// the initial and trailing metadata the server answered with.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>

#include "actio/aio.hpp"
#include "helloworld.actio.h"

using helloworld::HelloReply;
using helloworld::HelloRequest;
using namespace std::chrono_literals;

/// A value as Python prints it: text as is, -bin bytes as b'...' with \xNN escapes.
std::string show(const std::string& key, const std::string& value) {
  if (!actio::Metadata::is_binary_key(key)) return value;
  std::string out = "b'";
  for (unsigned char c : value) {
    if (c >= 0x20 && c < 0x7f && c != '\\' && c != '\'') {
      out += static_cast<char>(c);
    } else {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\x%02x", c);
      out += hex;
    }
  }
  return out + "'";
}

actio::Task<int> run(std::string target) {
  auto channel = actio::insecure_channel(target);
  helloworld::GreeterStub stub(channel);

  // A -bin value may hold any bytes, NUL and 0xff included.
  const char raw[] = "With -bin suffix, the value can be bytes: \x00\x01\xfe\xff";
  const std::string binary(raw, sizeof raw - 1);
  actio::Metadata metadata;
  metadata.add("initial-metadata-1", "The value should be str");
  metadata.add("binary-metadata-bin", binary);
  metadata.add("accesstoken", "gRPC Python is great");

  HelloRequest request;
  request.set_name("you");
  // Python: response, call = stub.SayHello.with_call(request, metadata=(...)).
  // In Actio the call object is what the stub returns; awaiting it gives the
  // response, and the call keeps its metadata.
  auto call = stub.SayHello(request, {.timeout = 5s, .metadata = metadata});
  try {
    HelloReply reply = co_await call;
    std::cout << "Greeter client received: " << reply.message() << std::endl;
  } catch (const actio::AioRpcError& e) {
    std::cerr << "metadata_client: SayHello failed: " << actio::to_string(e.code()) << " " << e.details()
              << std::endl;
    co_return 1;
  }

  actio::Metadata initial = co_await call.initial_metadata();
  for (const auto& [key, value] : initial) {
    std::cout << "Greeter client received initial metadata: key=" << key << " value=" << show(key, value)
              << std::endl;
  }
  auto echoed = initial.get("echo-binary-metadata-bin");
  if (echoed && *echoed == binary) {
    std::cout << "binary metadata round trip: " << binary.size() << " bytes, unchanged" << std::endl;
  } else {
    std::cout << "binary metadata round trip: the bytes came back changed or not at all" << std::endl;
  }

  actio::Metadata trailing = co_await call.trailing_metadata();
  for (const auto& [key, value] : trailing) {
    std::cout << "Greeter client received trailing metadata: key=" << key << " value=" << show(key, value)
              << std::endl;
  }
  co_await channel.close();
  co_return 0;
}

int main(int argc, char** argv) {
  std::string target = "localhost:50051";
  CLI::App app{"Actio metadata client"};
  app.add_option("--target", target, "server address");
  CLI11_PARSE(app, argc, argv);
  return actio::run(run(target));
}
