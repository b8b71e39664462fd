// The load-balancing server (backends for grpc's examples/python/lb_policies):
// three Greeter backends, each an actio::Server on a port of its own, in one
// process. Each answers with its own name, so a client can see who served it.
// The first also serves discovery.Discovery/Backends: the three addresses.
#include <CLI/CLI.hpp>
#include <iostream>

#include "actio/aio.hpp"
#include "discovery.actio.h"
#include "helloworld.actio.h"

using namespace std::chrono_literals;
using helloworld::HelloReply;
using helloworld::HelloRequest;

// [servicers]
/// One backend: greets and says which backend it is.
class Greeter final : public helloworld::GreeterServicer {
 public:
  Greeter(std::string name, std::string address) : name_(std::move(name)), address_(std::move(address)) {}

  actio::Task<HelloReply> SayHello(const HelloRequest& request, actio::ServicerContext&) override {
    HelloReply reply;
    reply.set_message("Hello, " + request.name() + "! -- " + name_ + " at " + address_);
    co_return reply;
  }

 private:
  std::string name_, address_;
};

/// Where the backends are (a stand-in for DNS or a service registry).
class Discovery final : public discovery::DiscoveryServicer {
 public:
  explicit Discovery(std::vector<std::string> addresses) : addresses_(std::move(addresses)) {}

  actio::Task<discovery::BackendList> Backends(const discovery::BackendsRequest&, actio::ServicerContext&) override {
    discovery::BackendList list;
    for (const auto& a : addresses_) list.add_addresses(a);
    co_return list;
  }

 private:
  std::vector<std::string> addresses_;
};
// [servicers]

// [serve]
actio::Task<int> serve(int port) {
  constexpr int kBackends = 3;
  // Three servers, three ports: the first on --port, the others on free ports.
  std::vector<actio::Server> servers;
  std::vector<std::string> addresses;
  for (int i = 0; i < kBackends; ++i) {
    servers.push_back(actio::server());
    int bound = servers.back().add_insecure_port("127.0.0.1:" + std::to_string(i == 0 ? port : 0));
    addresses.push_back("127.0.0.1:" + std::to_string(bound));
  }
  // Now that every address is known, give each server its Greeter (and the first the Discovery).
  for (int i = 0; i < kBackends; ++i) {
    std::string name = "backend-" + std::to_string(i + 1);
    helloworld::add_GreeterServicer_to_server(std::make_shared<Greeter>(name, addresses[i]), servers[i]);
    if (i == 0) discovery::add_DiscoveryServicer_to_server(std::make_shared<Discovery>(addresses), servers[i]);
    co_await servers[i].start();
    std::cout << "lb_server: " << name << " serving on " << addresses[i] << std::endl;
  }
  std::cout << "lb_server: listening on " << addresses[0] << " (Discovery and backend-1)" << std::endl;
  // SIGINT/SIGTERM stops the first server; then the other two stop as well.
  co_await actio::serve_until_signal(servers[0], 1s);
  for (int i = 1; i < kBackends; ++i) co_await servers[i].stop(1s);
  co_return 0;
}
// [serve]

int main(int argc, char** argv) {
  CLI::App app{"Actio load-balancing server: three Greeter backends in one process"};
  int port = 50051;
  app.add_option("--port", port, "port of the first backend (0 picks a free one); the others pick free ports");
  CLI11_PARSE(app, argc, argv);
  try {
    int rc = actio::run(serve(port));
    std::cout << "lb_server: stopped" << std::endl;
    return rc;
  } catch (const std::exception& e) {
    std::cerr << "lb_server: " << e.what() << std::endl;
    return 1;
  }
}
