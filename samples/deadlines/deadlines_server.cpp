// The deadlines server (grpc's examples/python/timeout/greeter_server.py):
// a name starting with "[delay]" makes SayHello work for 1 s first. Each call
// prints how much of the client's deadline is left (time_remaining()), and a
// call whose deadline passes mid-work is cancelled there and says so.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>

#include "actio/aio.hpp"
#include "helloworld.actio.h"

using helloworld::HelloReply;
using helloworld::HelloRequest;
using namespace std::chrono_literals;

/// "0.49 s", or "no deadline".
std::string seconds(std::optional<actio::Duration> left) {
  if (!left) return "no deadline";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f s", left->count());
  return buf;
}

class Greeter final : public helloworld::GreeterServicer {
 public:
  actio::Task<HelloReply> SayHello(const HelloRequest& request, actio::ServicerContext& context) override {
    const std::string& name = request.name();
    std::cout << "SayHello('" << name << "'): time_remaining() = " << seconds(context.time_remaining())
              << std::endl;
    if (name.starts_with("[delay]")) {
      // Python: sleep(5) (a blocking sleep in a thread pool). Here the work is
      // an awaitable sleep: when the deadline passes the handler is cancelled
      // right there with CancelledError, so no work goes on for nobody.
      try {
        co_await actio::sleep(1s);
      } catch (const actio::CancelledError&) {
        std::cout << "SayHello('" << name << "'): deadline passed while working; cancelled() = "
                  << std::boolalpha << context.cancelled() << ", time_remaining() = "
                  << seconds(context.time_remaining()) << std::endl;
        throw;
      }
      std::cout << "SayHello('" << name << "'): work done, time_remaining() = " << seconds(context.time_remaining())
                << std::endl;
    }
    HelloReply reply;
    reply.set_message(name);
    co_return reply;
  }
};

actio::Task<int> serve(int port) {
  auto server = actio::server();
  helloworld::add_GreeterServicer_to_server(std::make_shared<Greeter>(), server);
  int bound = server.add_insecure_port("127.0.0.1:" + std::to_string(port));
  co_await server.start();
  std::cout << "deadlines_server: listening on 127.0.0.1:" << bound << std::endl;
  co_await actio::serve_until_signal(server, 1s);
  co_return 0;
}

int main(int argc, char** argv) {
  CLI::App app{"Actio deadlines server"};
  int port = 50051;
  app.add_option("--port", port, "port to listen on (0 picks a free one)");
  CLI11_PARSE(app, argc, argv);
  int rc = actio::run(serve(port));
  std::cout << "deadlines_server: stopped" << std::endl;
  return rc;
}
