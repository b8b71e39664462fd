// The interceptors server (grpc's examples/python/interceptors: the async
// server with a request-header validator, plus a logging interceptor): two
// server interceptors in front of the helloworld Greeter.
//   - logging: wraps every handler, prints the method and the status code
//     the call ended with;
//   - one-time-password: rejects calls without "one-time-password: 42" with
//     UNAUTHENTICATED, and hands the handler who was let in (a typed value on
//     the context: what grpc.aio users emulate with contextvars).
#include <CLI/CLI.hpp>
#include <iostream>

#include "actio/aio.hpp"
#include "helloworld.actio.h"

using helloworld::HelloReply;
using helloworld::HelloRequest;
using namespace std::chrono_literals;

/// What the password interceptor hands the handler.
struct Admission {
  std::string how;
};

class LoggingInterceptor final : public actio::ServerInterceptor {
 public:
  std::string name() const override { return "logging"; }
  actio::Task<std::optional<actio::RpcMethodHandler>> intercept_service(actio::ServerContinuation continuation,
                                                                        actio::HandlerCallDetails details) override {
    auto handler = co_await continuation(std::move(details));
    if (!handler) co_return handler;
    // The wrapper runs in place of the handler: it can act before and after it.
    co_return actio::wrap_handler(std::move(*handler), &log_around);
  }

 private:
  static actio::Task<void> log_around(actio::ServicerContext& context, const actio::RpcMethodHandler& handler) {
    std::cout << "[server] " << context.method() << " started" << std::endl;
    context.add_done_callback([](actio::ServicerContext& c) {
      std::cout << "[server] " << c.method() << " ended: " << actio::to_string(c.code()) << std::endl;
    });
    co_await handler.invoke(context);
  }
};

class PasswordValidator final : public actio::ServerInterceptor {
 public:
  std::string name() const override { return "one-time-password"; }
  actio::Task<std::optional<actio::RpcMethodHandler>> intercept_service(actio::ServerContinuation continuation,
                                                                        actio::HandlerCallDetails details) override {
    if (details.invocation_metadata.get("one-time-password") != "42") {
      // Python: return _unary_unary_rpc_terminator(grpc.StatusCode.UNAUTHENTICATED, "Access denied!")
      co_return actio::rejecting_handler(details.kind, actio::StatusCode::UNAUTHENTICATED, "Access denied!");
    }
    auto handler = co_await continuation(std::move(details));
    if (!handler) co_return handler;
    co_return actio::wrap_handler(std::move(*handler), &admit);
  }

 private:
  static actio::Task<void> admit(actio::ServicerContext& context, const actio::RpcMethodHandler& handler) {
    context.set_value(Admission{"one-time-password"});
    co_await handler.invoke(context);
  }
};

class Greeter final : public helloworld::GreeterServicer {
 public:
  actio::Task<HelloReply> SayHello(const HelloRequest& request, actio::ServicerContext& context) override {
    HelloReply reply;
    const Admission* admission = context.value<Admission>();
    reply.set_message("Hello, " + request.name() + "! (let in by " + (admission ? admission->how : "nobody") + ")");
    co_return reply;
  }
};

actio::Task<int> serve(int port) {
  actio::ServerOptions options;
  // Outermost first: every call is logged, rejected ones too.
  options.interceptors = {std::make_shared<LoggingInterceptor>(), std::make_shared<PasswordValidator>()};
  auto server = actio::server(options);
  helloworld::add_GreeterServicer_to_server(std::make_shared<Greeter>(), server);
  int bound = server.add_insecure_port("127.0.0.1:" + std::to_string(port));
  co_await server.start();
  std::cout << "interceptors_server: listening on 127.0.0.1:" << bound << std::endl;
  co_await actio::serve_until_signal(server, 1s);
  co_return 0;
}

int main(int argc, char** argv) {
  CLI::App app{"Actio interceptors server"};
  int port = 50051;
  app.add_option("--port", port, "port to listen on (0 picks a free one)");
  CLI11_PARSE(app, argc, argv);
  int rc = actio::run(serve(port));
  std::cout << "interceptors_server: stopped" << std::endl;
  return rc;
}
