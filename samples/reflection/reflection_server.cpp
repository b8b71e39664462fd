// Server reflection (grpc's examples/python/helloworld/greeter_server_with_reflection.py):
// the Greeter and the RouteGuide on one server with ServerOptions::reflection,
// so tools (grpcurl, grpc_cli, Actio's inspector) can list and describe them.
#include <CLI/CLI.hpp>
#include <iostream>

#include "actio/aio.hpp"
#include "helloworld.actio.h"
#include "route_guide.actio.h"

using namespace std::chrono_literals;

class Greeter final : public helloworld::GreeterServicer {
 public:
  actio::Task<helloworld::HelloReply> SayHello(const helloworld::HelloRequest& request,
                                               actio::ServicerContext&) override {
    helloworld::HelloReply reply;
    reply.set_message("Hello, " + request.name() + "!");
    co_return reply;
  }
};

/// A RouteGuide left unimplemented: reflection describes it all the same.
class RouteGuide final : public routeguide::RouteGuideServicer {};

// [server]
actio::Task<int> serve(int port) {
  auto server = actio::server({.reflection = true});  // serves grpc.reflection.v1alpha
  helloworld::add_GreeterServicer_to_server(std::make_shared<Greeter>(), server);
  routeguide::add_RouteGuideServicer_to_server(std::make_shared<RouteGuide>(), server);
  int bound = server.add_insecure_port("127.0.0.1:" + std::to_string(port));
  co_await server.start();
  std::cout << "reflection_server: listening on 127.0.0.1:" << bound << std::endl;
  co_await actio::serve_until_signal(server, 1s);
  co_return 0;
}
// [server]

int main(int argc, char** argv) {
  CLI::App app{"Actio server with reflection"};
  int port = 50055;
  app.add_option("--port", port, "port to listen on (0 picks a free one)");
  CLI11_PARSE(app, argc, argv);
  return actio::run(serve(port));
}
