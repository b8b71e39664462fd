// The keepalive server (grpc's examples/python/keep_alive/greeter_server.py):
// a Greeter whose server arguments set its own keepalive pings and, above
// all, how often it lets clients ping it. A client that pings more often
// than grpc.http2.min_ping_interval_without_data_ms allows (while no data
// flows) collects "strikes"; past grpc.http2.max_ping_strikes the server
// hangs up with GOAWAY "too_many_pings". So the client's keepalive_time_ms
// must not be shorter than this server's minimum interval.
#include <CLI/CLI.hpp>
#include <iostream>
#include <variant>

#include "actio/aio.hpp"
#include "keepalive.actio.h"

using namespace std::chrono_literals;
using keepalive::HelloReply;
using keepalive::HelloRequest;

class Greeter final : public keepalive::GreeterServicer {
 public:
  actio::Task<HelloReply> SayHello(const HelloRequest& request, actio::ServicerContext&) override {
    HelloReply reply;
    reply.set_message("Hello, " + request.name() + "!");
    co_return reply;
  }

  actio::Task<void> SayHelloStream(actio::RequestStream<HelloRequest>& requests,
                                   actio::ServicerContext& context) override {
    std::cout << "keepalive_server: stream opened by " << context.peer() << std::endl;
    while (auto request = co_await requests.read()) {
      std::cout << "keepalive_server: stream got '" << request->name() << "'" << std::endl;
      HelloReply reply;
      reply.set_message("Hello, " + request->name() + "!");
      co_await context.write(reply);
    }
    std::cout << "keepalive_server: stream closed by the client" << std::endl;
  }
};

// [options]
/// The server arguments (Python: grpc.aio.server(options=[...])).
actio::ChannelArguments server_arguments(bool default_ping_policy) {
  actio::ChannelArguments args;
  // The server's own pings to its clients: every 10 s, 5 s to answer.
  args.push_back({"grpc.keepalive_time_ms", 10000});
  args.push_back({"grpc.keepalive_timeout_ms", 5000});
  if (!default_ping_policy) {
    // Clients may ping even with no call in flight...
    args.push_back({"grpc.keepalive_permit_without_calls", 1});
    // ...and as often as every 400 ms while no data flows (the default is 5
    // minutes: a client pinging every 500 ms would be cut off).
    args.push_back({"grpc.http2.min_ping_interval_without_data_ms", 400});
    // Pings that come too soon are strikes; more than this many: GOAWAY.
    args.push_back({"grpc.http2.max_ping_strikes", 2});
  }
  // The server's own pings without data in between, at most.
  args.push_back({"grpc.http2.max_pings_without_data", 5});
  // Connection management, as in the Python example (longer than this demo runs).
  args.push_back({"grpc.max_connection_idle_ms", 10000});
  args.push_back({"grpc.max_connection_age_ms", 30000});
  args.push_back({"grpc.max_connection_age_grace_ms", 5000});
  return args;
}
// [options]

void print_arguments(const std::string& who, const actio::ChannelArguments& args) {
  for (const auto& [key, value] : args) {
    std::cout << who << ": " << key << "=";
    if (const int* i = std::get_if<int>(&value)) std::cout << *i;
    else std::cout << std::get<std::string>(value);
    std::cout << std::endl;
  }
}

actio::Task<int> serve(int port, bool default_ping_policy) {
  actio::ServerOptions options;
  options.args = server_arguments(default_ping_policy);
  print_arguments("keepalive_server", options.args);
  auto server = actio::server(options);
  keepalive::add_GreeterServicer_to_server(std::make_shared<Greeter>(), server);
  int bound = server.add_insecure_port("127.0.0.1:" + std::to_string(port));
  co_await server.start();
  std::cout << "keepalive_server: listening on 127.0.0.1:" << bound << std::endl;
  co_await actio::serve_until_signal(server, 1s);
  co_return 0;
}

int main(int argc, char** argv) {
  CLI::App app{"Actio keepalive server: keepalive and ping-policy server arguments"};
  int port = 50051;
  bool default_ping_policy = false;
  app.add_option("--port", port, "port to listen on (0 picks a free one)");
  app.add_flag("--default-ping-policy", default_ping_policy,
               "leave the ping policy at gRPC's defaults (then fast-pinging clients are cut off)");
  CLI11_PARSE(app, argc, argv);
  try {
    int rc = actio::run(serve(port, default_ping_policy));
    std::cout << "keepalive_server: stopped" << std::endl;
    return rc;
  } catch (const std::exception& e) {
    std::cerr << "keepalive_server: " << e.what() << std::endl;
    return 1;
  }
}
