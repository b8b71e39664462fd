// Health checking client: Check on the server, on a service and on an
// unknown one, then Watch a service while it goes NOT_SERVING.
#include <CLI/CLI.hpp>
#include <iostream>

#include "actio/aio.hpp"
#include "health.actio.h"
#include "helloworld.actio.h"

using namespace std::chrono_literals;
using grpc::health::v1::HealthCheckRequest;
using grpc::health::v1::HealthCheckResponse;

std::string status_name(const HealthCheckResponse& r) { return HealthCheckResponse::ServingStatus_Name(r.status()); }

HealthCheckRequest about(const std::string& service) {
  HealthCheckRequest req;
  req.set_service(service);
  return req;
}

// [client]
actio::Task<int> check_health(std::string target) {
  auto channel = actio::insecure_channel(target);
  grpc::health::v1::HealthStub health(channel);
  helloworld::GreeterStub greeter(channel);

  for (std::string service : {"", "helloworld.Greeter"}) {
    auto r = co_await health.Check(about(service), {.timeout = 5s});
    std::cout << "health of " << (service.empty() ? "the server" : service) << ": " << status_name(r) << std::endl;
  }
  try {
    co_await health.Check(about("no.such.Service"), {.timeout = 5s});
  } catch (const actio::AioRpcError& e) {
    std::cout << "health of no.such.Service: " << actio::to_string(e.code()) << std::endl;
  }

  // Watch sends the status now, then each change.
  auto watch = health.Watch(about("helloworld.Greeter"), {.timeout = 10s});
  auto now = co_await watch.read();
  std::cout << "watch helloworld.Greeter: " << (now ? status_name(*now) : "ended") << std::endl;
  helloworld::HelloRequest hello;
  hello.set_name("maintenance");
  std::cout << "greeter says: " << (co_await greeter.SayHello(hello, {.timeout = 5s})).message() << std::endl;
  auto changed = co_await watch.read();
  std::cout << "watch helloworld.Greeter: " << (changed ? status_name(*changed) : "ended") << std::endl;
  watch.cancel();  // a Watch runs until the client ends it
  co_await channel.close();
  co_return 0;
}
// [client]

int main(int argc, char** argv) {
  std::string target = "localhost:50054";
  CLI::App app{"Actio health checking client"};
  app.add_option("--target", target, "server address");
  CLI11_PARSE(app, argc, argv);
  try {
    return actio::run(check_health(target));
  } catch (const std::exception& e) {
    std::cerr << "health_client: " << e.what() << std::endl;
    return 1;
  }
}
