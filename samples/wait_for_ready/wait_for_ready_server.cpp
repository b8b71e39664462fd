// A plain greeter for the wait_for_ready sample. The sample itself lives in
// wait_for_ready_client.cpp, which (as grpc's Python example) starts a server
// of its own on a port nobody listens on yet; this one, already running, only
// shows that wait_for_ready changes nothing when the server is there.
#include <CLI/CLI.hpp>
#include <iostream>

#include "actio/aio.hpp"
#include "helloworld.actio.h"

using helloworld::HelloReply;
using helloworld::HelloRequest;
using namespace std::chrono_literals;

class Greeter final : public helloworld::GreeterServicer {
 public:
  actio::Task<HelloReply> SayHello(const HelloRequest& request, actio::ServicerContext&) override {
    std::cout << "SayHello: name=" << request.name() << std::endl;
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
  std::cout << "wait_for_ready_server: listening on 127.0.0.1:" << bound << std::endl;
  co_await actio::serve_until_signal(server, 1s);
  co_return 0;
}

int main(int argc, char** argv) {
  CLI::App app{"Actio greeter server for the wait_for_ready sample"};
  int port = 50051;
  app.add_option("--port", port, "port to listen on (0 picks a free one)");
  CLI11_PARSE(app, argc, argv);
  int rc = actio::run(serve(port));
  std::cout << "wait_for_ready_server: stopped" << std::endl;
  return rc;
}
