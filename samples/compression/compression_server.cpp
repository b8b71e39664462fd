// The compression server (grpc's examples/python/compression/server.py):
//  - a server default compression for every reply (ServerOptions::compression,
//    Python's grpc.server(compression=...)), gzip unless --server_compression
//    says otherwise;
//  - in SayHello, every n-th reply goes out uncompressed through
//    context.set_compression(NoCompression), as the Python server does;
//  - in SayHelloStream, context.disable_next_message_compression() sends every
//    second message of the stream uncompressed.
// The server accepts requests compressed with gzip (or not at all) only:
// "grpc.compression_enabled_algorithms_bitset" leaves deflate out, so a
// deflate request is refused with UNIMPLEMENTED.
#include <CLI/CLI.hpp>
#include <atomic>
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

class Greeter final : public compression_example::GreeterServicer {
 public:
  explicit Greeter(int no_compress_every_n) : no_compress_every_n_(no_compress_every_n) {}

  actio::Task<HelloReply> SayHello(const HelloRequest& request, actio::ServicerContext& context) override {
    int n = request_counter_++;
    if (no_compress_every_n_ > 0 && n % no_compress_every_n_ == 0) {
      // Python: context.set_compression(grpc.Compression.NoCompression)
      context.set_compression(actio::Compression::NoCompression);
      std::cout << "SayHello #" << n + 1 << ": reply sent uncompressed (set_compression(NoCompression))" << std::endl;
    } else {
      std::cout << "SayHello #" << n + 1 << ": reply compressed with the server default" << std::endl;
    }
    HelloReply reply;
    reply.set_message("Hello, " + request.name() + "!");
    reply.set_padding(request.padding());
    co_return reply;
  }

  actio::Task<void> SayHelloStream(const HelloRequest& request, actio::ServicerContext& context) override {
    int count = std::min(request.count(), 100);
    for (int i = 1; i <= count; ++i) {
      HelloReply reply;
      reply.set_message("Hello #" + std::to_string(i) + ", " + request.name() + "!");
      reply.set_padding(request.padding());
      if (i % 2 == 0) context.disable_next_message_compression();  // this one only
      co_await context.write(reply);
    }
    std::cout << "SayHelloStream: " << count << " replies, the even ones uncompressed "
              << "(disable_next_message_compression)" << std::endl;
  }

 private:
  int no_compress_every_n_;
  std::atomic<int> request_counter_{0};
};

actio::Task<int> serve(int port, actio::Compression compression, int no_compress_every_n) {
  actio::ServerOptions options;
  options.compression = compression;  // Python: grpc.server(..., compression=...)
  // Accepted request encodings: identity (bit 0) and gzip (bit 2), not deflate (bit 1).
  options.args.emplace_back("grpc.compression_enabled_algorithms_bitset", 0b101);
  auto server = actio::server(options);
  compression_example::add_GreeterServicer_to_server(std::make_shared<Greeter>(no_compress_every_n), server);
  int bound = server.add_insecure_port("127.0.0.1:" + std::to_string(port));
  co_await server.start();
  std::cout << "compression_server: listening on 127.0.0.1:" << bound << std::endl;
  co_await actio::serve_until_signal(server, 1s);
  co_return 0;
}

int main(int argc, char** argv) {
  CLI::App app{"Actio compression server"};
  int port = 50051;
  std::string server_compression = "gzip";
  int no_compress_every_n = 2;
  app.add_option("--port", port, "port to listen on (0 picks a free one)");
  app.add_option("--server_compression", server_compression, "the server's default compression")
      ->check(CLI::IsMember({"none", "deflate", "gzip"}));
  app.add_option("--no_compress_every_n", no_compress_every_n, "every n-th SayHello reply goes out uncompressed (0: never)");
  CLI11_PARSE(app, argc, argv);
  int rc = actio::run(serve(port, kCompressionOptions.at(server_compression), no_compress_every_n));
  std::cout << "compression_server: stopped" << std::endl;
  return rc;
}
