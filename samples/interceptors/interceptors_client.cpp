// The interceptors client (grpc's examples/python/interceptors: header
// manipulation and logging on the client): two client interceptors.
//   - logging: one object for every arity (grpc.aio 1.51 would use it for
//     unary-unary calls only), prints each call's method and outcome;
//   - one-time-password: adds the header the server checks.
// The first call goes through a channel without the password (refused), the
// second through one with it; then the client prints the interceptor chain
// the call went through, as the inspector shows it.
#include <CLI/CLI.hpp>
#include <iostream>

#include "actio/aio.hpp"
#include "helloworld.actio.h"

using helloworld::HelloReply;
using helloworld::HelloRequest;
using namespace std::chrono_literals;

// [logging-interceptor]
class LoggingInterceptor final : public actio::UnaryUnaryClientInterceptor,
                                 public actio::UnaryStreamClientInterceptor {
 public:
  std::string name() const override { return "logging"; }

  actio::Task<actio::UnaryResult> intercept_unary_unary(actio::UnaryUnaryContinuation continuation,
                                                        actio::ClientCallDetails details,
                                                        actio::Message request) override {
    std::cout << "[client] " << details.method << " (" << request.size() << " request bytes)" << std::endl;
    auto call = co_await continuation(std::move(details), std::move(request));
    auto code = co_await call.code();  // waits for the end of the call
    std::cout << "[client] " << call.method() << " ended: " << actio::to_string(code) << std::endl;
    co_return call;
  }

  actio::Task<actio::StreamResult> intercept_unary_stream(actio::UnaryStreamContinuation continuation,
                                                          actio::ClientCallDetails details,
                                                          actio::Message request) override {
    std::cout << "[client] " << details.method << " (stream)" << std::endl;
    co_return co_await continuation(std::move(details), std::move(request));
  }
};
// [logging-interceptor]

class PasswordInterceptor final : public actio::UnaryUnaryClientInterceptor {
 public:
  std::string name() const override { return "one-time-password"; }
  actio::Task<actio::UnaryResult> intercept_unary_unary(actio::UnaryUnaryContinuation continuation,
                                                        actio::ClientCallDetails details,
                                                        actio::Message request) override {
    details.metadata.add("one-time-password", "42");
    co_return co_await continuation(std::move(details), std::move(request));
  }
};

actio::Task<int> run(std::string target) {
  auto logging = std::make_shared<LoggingInterceptor>();
  HelloRequest request;
  request.set_name("you");

  // Without the password: the server's interceptor refuses the call.
  actio::ChannelOptions plain;
  plain.interceptors = {logging};
  co_await actio::with_channel(actio::insecure_channel(target, plain),
                               [&request](actio::Channel& channel) -> actio::Task<void> {
                                 helloworld::GreeterStub stub(channel);
                                 try {
                                   co_await stub.SayHello(request, {.timeout = 5s});
                                   std::cout << "without the password: let in (unexpected)" << std::endl;
                                 } catch (const actio::AioRpcError& e) {
                                   std::cout << "without the password: " << actio::to_string(e.code()) << " "
                                             << e.details() << std::endl;
                                 }
                               });

  // With it.
  actio::ChannelOptions options;
  options.interceptors = {logging, std::make_shared<PasswordInterceptor>()};
  auto channel = actio::insecure_channel(target, options);
  helloworld::GreeterStub stub(channel);
  auto call = stub.SayHello(request, {.timeout = 5s});
  try {
    HelloReply reply = co_await call;
    std::cout << "Greeter client received: " << reply.message() << std::endl;
  } catch (const actio::AioRpcError& e) {
    std::cerr << "interceptors_client: SayHello failed: " << actio::to_string(e.code()) << " " << e.details()
              << std::endl;
    co_return 1;
  }
  // What each interceptor did to the call (times left out: they vary).
  for (const auto& record : call.interceptors()) {
    std::cout << "went through " << record.name << ":";
    if (record.changes.empty()) std::cout << " no change";
    for (const auto& change : record.changes) std::cout << " " << change;
    std::cout << std::endl;
  }
  co_await channel.close();
  co_return 0;
}

int main(int argc, char** argv) {
  CLI::App app{"Actio interceptors client"};
  std::string target = "127.0.0.1:50051";
  app.add_option("--target", target, "server address");
  CLI11_PARSE(app, argc, argv);
  return actio::run(run(target));
}
