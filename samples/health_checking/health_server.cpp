// Health checking server (grpc's examples/python/health_checking): a Greeter
// with grpc++'s health service turned on. Greeting "maintenance" marks the
// Greeter NOT_SERVING, through the server's actor (a handler runs on a serving
// loop, the Server handle belongs to the home loop).
#include <CLI/CLI.hpp>
#include <caf/all.hpp>
#include <iostream>

#include "actio/actors.hpp"
#include "actio/aio.hpp"
#include "helloworld.actio.h"

using namespace std::chrono_literals;

// [server]
class Greeter final : public helloworld::GreeterServicer {
 public:
  explicit Greeter(caf::actor server) : server_(std::move(server)) {}

  actio::Task<helloworld::HelloReply> SayHello(const helloworld::HelloRequest& request,
                                               actio::ServicerContext&) override {
    helloworld::HelloReply reply;
    if (request.name() == "maintenance") {
      caf::anon_send(server_, actio::health_atom::value, std::string("helloworld.Greeter"), false);
      std::cout << "health_server: helloworld.Greeter is now NOT_SERVING" << std::endl;
      reply.set_message("going into maintenance");
    } else {
      reply.set_message("Hello, " + request.name() + "!");
    }
    co_return reply;
  }

 private:
  caf::actor server_;
};

actio::Task<int> serve(int port) {
  auto server = actio::server({.health_checking = true});  // serves grpc.health.v1.Health
  helloworld::add_GreeterServicer_to_server(std::make_shared<Greeter>(server.actor()), server);
  int bound = server.add_insecure_port("127.0.0.1:" + std::to_string(port));
  co_await server.start();
  server.set_serving_status("helloworld.Greeter", true);
  std::cout << "health_server: listening on 127.0.0.1:" << bound << std::endl;
  co_await actio::serve_until_signal(server, 1s);
  co_return 0;
}
// [server]

int main(int argc, char** argv) {
  CLI::App app{"Actio health checking server"};
  int port = 50054;
  app.add_option("--port", port, "port to listen on (0 picks a free one)");
  CLI11_PARSE(app, argc, argv);
  return actio::run(serve(port));
}
