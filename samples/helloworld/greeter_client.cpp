// The helloworld greeter client (grpc's examples/python/helloworld/async_greeter_client.py).
#include <CLI/CLI.hpp>
#include <iostream>

#include "actio/aio.hpp"
#include "helloworld.actio.h"

using helloworld::HelloReply;
using helloworld::HelloRequest;
using namespace std::chrono_literals;

// [client]
actio::Task<int> greet(std::string target, std::string name) {
  auto channel = actio::insecure_channel(target);
  helloworld::GreeterStub stub(channel);
  HelloRequest request;
  request.set_name(name);
  try {
    HelloReply reply = co_await stub.SayHello(request, {.timeout = 5s});
    std::cout << "Greeter client received: " << reply.message() << std::endl;
  } catch (const actio::AioRpcError& e) {
    std::cerr << "Greeter client failed: " << actio::to_string(e.code()) << " " << e.details() << std::endl;
    co_return 1;
  }
  co_await channel.close();
  co_return 0;
}

int main(int argc, char** argv) {
  std::string target = "localhost:50051", name = "you";
  CLI::App app{"Actio helloworld greeter client"};
  app.add_option("--target", target, "server address");
  app.add_option("--name", name, "who to greet");
  CLI11_PARSE(app, argc, argv);
  return actio::run(greet(target, name));
}
// [client]
