// The helloworld greeter server (grpc's examples/python/helloworld/async_greeter_server.py).
#include <CLI/CLI.hpp>
#include <csignal>
#include <iostream>

#include "actio/aio.hpp"
#include "helloworld.pb.h"

using namespace std::chrono_literals;

using helloworld::HelloReply;
using helloworld::HelloRequest;

// [server-snippet]
actio::Task<HelloReply> say_hello(const HelloRequest& request, actio::ServicerContext& context) {
  HelloReply reply;
  reply.set_message("Hello, " + request.name() + "!");
  std::cout << "greeter_server: SayHello from " << context.peer() << " name=" << request.name() << std::endl;
  co_return reply;
}

actio::Task<int> serve(int port, std::optional<double> run_for) {
  auto server = actio::server();
  server.add_generic_rpc_handlers({actio::method_handlers_generic_handler(
      "helloworld.Greeter",
      {{"SayHello", actio::unary_unary_rpc_method_handler<HelloRequest, HelloReply>(say_hello)}})});
  int bound = server.add_insecure_port("127.0.0.1:" + std::to_string(port));
  co_await server.start();
  std::cout << "greeter_server: listening on 127.0.0.1:" << bound << std::endl;
  // [server-snippet]
  // Serve until SIGINT/SIGTERM (checked every 100 ms) or --run-for seconds.
  static volatile std::sig_atomic_t stop_requested = 0;
  std::signal(SIGINT, [](int) { stop_requested = 1; });
  std::signal(SIGTERM, [](int) { stop_requested = 1; });
  double waited = 0;
  while (!stop_requested && (!run_for || waited < *run_for)) {
    co_await server.wait_for_termination(0.1s);
    waited += 0.1;
  }
  co_await server.stop(1s);
  std::cout << "greeter_server: stopped" << std::endl;
  co_return 0;
}

int main(int argc, char** argv) {
  CLI::App app{"Actio helloworld greeter server"};
  int port = 50051;
  std::optional<double> run_for;
  app.add_option("--port", port, "port to listen on (0 picks a free one)");
  app.add_option("--run-for", run_for, "stop after this many seconds");
  CLI11_PARSE(app, argc, argv);
  return actio::run(serve(port, run_for));
}
