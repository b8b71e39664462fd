// The load-balancing client (grpc's examples/python/lb_policies/greeter_client.py):
// one channel to a list of three backends, first with the round_robin policy
// (the calls spread over every backend), then with the default pick_first
// (every call goes to the first backend that connected).
#include <CLI/CLI.hpp>
#include <iostream>
#include <map>

#include "actio/aio.hpp"
#include "discovery.actio.h"
#include "helloworld.actio.h"

using namespace std::chrono_literals;

/// Asks the server at `target` where the three backends are.
actio::Task<std::vector<std::string>> discover(std::string target) {
  auto channel = actio::insecure_channel(target);
  discovery::DiscoveryStub stub(channel);
  discovery::BackendList list = co_await stub.Backends(discovery::BackendsRequest{}, {.timeout = 5s});
  co_await channel.close();
  co_return std::vector<std::string>(list.addresses().begin(), list.addresses().end());
}

/// The backend's name in a reply "Hello, call N! -- backend-K at ADDRESS".
std::string backend_of(const std::string& message) {
  auto from = message.find("-- ");
  if (from == std::string::npos) return "?";
  from += 3;
  return message.substr(from, message.find(' ', from) - from);
}

// [calls]
/// Makes `calls` calls one after another on a channel with `options`; returns
/// how many each backend answered.
actio::Task<std::map<std::string, int>> greet_many(std::string target, actio::ChannelOptions options, int calls) {
  auto channel = actio::insecure_channel(target, options);
  helloworld::GreeterStub stub(channel);
  std::map<std::string, int> answered;
  for (int i = 1; i <= calls; ++i) {
    helloworld::HelloRequest request;
    request.set_name("call " + std::to_string(i));
    helloworld::HelloReply reply = co_await stub.SayHello(request, {.timeout = 5s});
    std::cout << "  " << reply.message() << "\n";
    ++answered[backend_of(reply.message())];
  }
  co_await channel.close();
  co_return answered;
}
// [calls]

void print_counts(const std::string& policy, const std::map<std::string, int>& answered) {
  std::cout << policy << ":";
  for (const auto& [backend, n] : answered) std::cout << " " << backend << " answered " << n << ";";
  std::cout << "\n";
}

// [client]
actio::Task<int> run_client(std::string target, int calls) {
  std::vector<std::string> backends = co_await discover(target);
  std::cout << "backends: " << backends.size() << "\n";
  // One target naming every backend: the "ipv4:" scheme takes a comma-separated address list.
  std::string all = "ipv4:";
  for (std::size_t i = 0; i < backends.size(); ++i) all += (i ? "," : "") + backends[i];
  std::cout << "channel target: " << all << "\n";

  // Python: grpc.aio.insecure_channel(target, options=(("grpc.lb_policy_name", "round_robin"),))
  actio::ChannelOptions round_robin;
  round_robin.args.push_back({"grpc.lb_policy_name", std::string("round_robin")});
  std::cout << "-------------- round_robin --------------\n";
  auto spread = co_await greet_many(all, round_robin, calls);
  print_counts("round_robin", spread);
  bool every_backend = spread.size() == backends.size();
  if (every_backend) std::cout << "round_robin: all " << backends.size() << " backends answered\n";
  else std::cout << "round_robin: only " << spread.size() << " of " << backends.size() << " backends answered\n";

  // No policy named: gRPC's default, pick_first, sticks to the first address that connects.
  std::cout << "-------------- pick_first (the default) --------------\n";
  actio::ChannelOptions defaults;
  auto first = co_await greet_many(all, defaults, calls);
  print_counts("pick_first", first);
  bool one_backend = first.size() == 1;
  if (one_backend) std::cout << "pick_first: " << first.begin()->first << " answered all " << calls << " calls\n";
  co_return every_backend && one_backend ? 0 : 1;
}
// [client]

int main(int argc, char** argv) {
  std::string target = "localhost:50051";
  int calls = 12;
  CLI::App app{"Actio load-balancing client: round_robin vs pick_first over three backends"};
  app.add_option("--target", target, "the server's address (it tells where the backends are)");
  app.add_option("--calls", calls, "calls per policy")->check(CLI::Range(3, 1000));
  CLI11_PARSE(app, argc, argv);
  try {
    return actio::run(run_client(target, calls));
  } catch (const actio::AioRpcError& e) {
    std::cerr << "lb_client: " << actio::to_string(e.code()) << " " << e.details() << std::endl;
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "lb_client: " << e.what() << std::endl;
    return 1;
  }
}
