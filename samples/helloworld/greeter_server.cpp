// The helloworld greeter server (grpc's examples/python/helloworld/async_greeter_server.py).
#include <CLI/CLI.hpp>
#include <iostream>

#include "actio/aio.hpp"
#include "helloworld.actio.h"

using helloworld::HelloReply;
using helloworld::HelloRequest;
using namespace std::chrono_literals;

// [server]
/// The Greeter service: override the generated servicer's methods.
class Greeter final : public helloworld::GreeterServicer {
 public:
  actio::Task<HelloReply> SayHello(const HelloRequest& request, actio::ServicerContext& context) override {
    std::cout << "SayHello from " << context.peer() << ": name=" << request.name() << std::endl;
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
  std::cout << "greeter_server: listening on 127.0.0.1:" << bound << std::endl;
  // Serve until SIGINT/SIGTERM, then stop with a 1 s grace for calls in flight.
  co_await actio::serve_until_signal(server, 1s);
  co_return 0;
}
// [server]

int main(int argc, char** argv) {
  CLI::App app{"Actio helloworld greeter server"};
  int port = 50051;
  app.add_option("--port", port, "port to listen on (0 picks a free one)");
  CLI11_PARSE(app, argc, argv);
  int rc = actio::run(serve(port));
  std::cout << "greeter_server: stopped" << std::endl;
  return rc;
}
