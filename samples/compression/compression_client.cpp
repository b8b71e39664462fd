// The compression client (grpc's examples/python/compression/client.py):
// a channel default compression (insecure_channel(target, compression=...)),
// overridden per call (stub.SayHello(request, compression=...)), and a
// plain channel for comparison. The server accepts identity and gzip only,
// so the per-call deflate call is refused: the per-call setting really
// compressed that request with deflate, not with the channel's gzip.
#include <CLI/CLI.hpp>
#include <iostream>
#include <map>

#include "actio/aio.hpp"
#include "compression.actio.h"

using compression_example::HelloReply;
using compression_example::HelloRequest;
using namespace std::chrono_literals;

const std::map<std::string, actio::Compression> kCompressionOptions = {
    {"none", actio::Compression::NoCompression},
    {"deflate", actio::Compression::Deflate},
    {"gzip", actio::Compression::Gzip},
};

HelloRequest greeting(int count = 0) {
  HelloRequest r;
  r.set_name("you");
  r.set_padding(std::string(10000, 'z'));  // compresses to a few dozen bytes
  r.set_count(count);
  return r;
}

/// One SayHello; prints the reply or the error under `label`.
actio::Task<void> say_hello(const compression_example::GreeterStub& stub, std::string label,
                            std::optional<actio::Compression> compression) {
  HelloRequest request = greeting();
  try {
    HelloReply reply = co_await stub.SayHello(request, {.timeout = 5s, .compression = compression});
    std::cout << label << ": " << reply.message() << " (" << reply.padding().size() << " bytes of padding back)"
              << std::endl;
  } catch (const actio::AioRpcError& e) {
    std::cout << label << ": " << actio::to_string(e.code()) << ", details '" << e.details() << "'" << std::endl;
  }
}

actio::Task<int> run(std::string target, std::string channel_compression) {
  // Python: grpc.insecure_channel(target, compression=channel_compression)
  actio::ChannelOptions options;
  options.compression = kCompressionOptions.at(channel_compression);
  auto channel = actio::insecure_channel(target, options);
  compression_example::GreeterStub stub(channel);

  // The channel default applies to every call that does not say otherwise.
  co_await say_hello(stub, "channel " + channel_compression + ", call 1", std::nullopt);
  co_await say_hello(stub, "channel " + channel_compression + ", call 2", std::nullopt);
  // Python: stub.SayHello(request, compression=call_compression)
  co_await say_hello(stub, "per-call NoCompression", actio::Compression::NoCompression);
  co_await say_hello(stub, "per-call Deflate", actio::Compression::Deflate);

  // A stream whose every second reply the server sends uncompressed.
  HelloRequest request = greeting(4);
  auto call = stub.SayHelloStream(request, {.timeout = 5s});
  int replies = 0;
  std::size_t padding = 0;
  while (auto reply = co_await call.read()) {
    ++replies;
    padding += reply->padding().size();
  }
  std::cout << "stream: " << replies << " replies, " << padding << " bytes of padding back" << std::endl;
  co_await channel.close();

  // A channel without a default: requests go uncompressed (replies still
  // come with the server's default).
  auto plain = actio::insecure_channel(target);
  compression_example::GreeterStub plain_stub(plain);
  co_await say_hello(plain_stub, "default channel", std::nullopt);
  co_await plain.close();
  co_return 0;
}

int main(int argc, char** argv) {
  std::string target = "localhost:50051";
  std::string channel_compression = "gzip";
  CLI::App app{"Actio compression client"};
  app.add_option("--target", target, "server address");
  app.add_option("--channel_compression", channel_compression, "the channel's default compression")
      ->check(CLI::IsMember({"none", "deflate", "gzip"}));
  CLI11_PARSE(app, argc, argv);
  return actio::run(run(target, channel_compression));
}
