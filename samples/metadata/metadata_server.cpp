// The metadata server (grpc's examples/python/metadata/metadata_server.py):
// prints the metadata each call brings, answers with initial metadata of its
// own (echoing the client's -bin bytes back) and sets trailing metadata.
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

class Greeter final : public helloworld::GreeterServicer {
 public:
  actio::Task<HelloReply> SayHello(const HelloRequest& request, actio::ServicerContext& context) override {
    // Python: for key, value in context.invocation_metadata(): print(...)
    for (const auto& [key, value] : context.invocation_metadata()) {
      std::cout << "Received initial metadata: key=" << key << " value=" << show(key, value) << std::endl;
    }

    // Initial metadata goes out before the response (Python:
    // await context.send_initial_metadata(...)). Built in a named variable
    // first: GCC 12 cannot keep a braced list alive across co_await.
    actio::Metadata initial;
    initial.add("server", "actio metadata_server");
    if (auto bin = context.invocation_metadata().get("binary-metadata-bin")) {
      initial.add("echo-binary-metadata-bin", *bin);
    }
    co_await context.send_initial_metadata(initial);

    // Sent with the status (Python: context.set_trailing_metadata(...)).
    actio::Metadata trailing;
    trailing.add("checksum-bin", "I agree");
    trailing.add("retry", "false");
    context.set_trailing_metadata(trailing);

    HelloReply reply;
    reply.set_message("Hello, " + request.name() + "!");
    co_return reply;
  }
};

actio::Task<int> serve(int port) {
  auto server = actio::server();
  helloworld::add_GreeterServicer_to_server(std::make_shared<Greeter>(), server);
  int bound = server.add_insecure_port("127.0.0.1:" + std::to_string(port));
  co_await server.start();
  std::cout << "metadata_server: listening on 127.0.0.1:" << bound << std::endl;
  co_await actio::serve_until_signal(server, 1s);
  co_return 0;
}

int main(int argc, char** argv) {
  CLI::App app{"Actio metadata server"};
  int port = 50051;
  app.add_option("--port", port, "port to listen on (0 picks a free one)");
  CLI11_PARSE(app, argc, argv);
  int rc = actio::run(serve(port));
  std::cout << "metadata_server: stopped" << std::endl;
  return rc;
}
