// The wait_for_ready sample (grpc's examples/python/wait_for_ready/
// asyncio_wait_for_ready_example.py). On a free port where nothing listens
// yet, two calls start at once: one without wait_for_ready, which fails fast
// with UNAVAILABLE once the channel is in TRANSIENT_FAILURE, and one with
// `.wait_for_ready = true`, which waits. Then this program starts its own
// server on that port, and the waiting call goes through.
// Last, one wait_for_ready call to the already running --target server,
// once the channel to it is READY (channel_ready() under actio::wait_for).
#include <CLI/CLI.hpp>
#include <iostream>

#include "actio/aio.hpp"
#include "helloworld.actio.h"

using helloworld::HelloReply;
using helloworld::HelloRequest;
using namespace std::chrono_literals;

class Greeter final : public helloworld::GreeterServicer {
 public:
  actio::Task<HelloReply> SayHello(const HelloRequest& request, actio::ServicerContext&) override {
    HelloReply reply;
    reply.set_message("Hello, " + request.name() + "!");
    co_return reply;
  }
};

const char* name(actio::ChannelConnectivity state) {
  switch (state) {
    case actio::ChannelConnectivity::IDLE: return "IDLE";
    case actio::ChannelConnectivity::CONNECTING: return "CONNECTING";
    case actio::ChannelConnectivity::READY: return "READY";
    case actio::ChannelConnectivity::TRANSIENT_FAILURE: return "TRANSIENT_FAILURE";
    case actio::ChannelConnectivity::SHUTDOWN: return "SHUTDOWN";
  }
  return "?";
}

/// Python: process(stub, wait_for_ready) — awaits one call and says how it ended.
actio::Task<void> process(actio::UnaryUnaryCall<HelloReply> call, bool wait_for_ready) {
  const char* mode = wait_for_ready ? "enabled" : "disabled";
  try {
    HelloReply reply = co_await call;
    std::cout << "Wait-for-ready " << mode << ", client received: " << reply.message() << std::endl;
  } catch (const actio::AioRpcError& e) {
    std::cout << "Wait-for-ready " << mode << ", client received: " << actio::to_string(e.code()) << " ("
              << e.details() << ")" << std::endl;
  }
}

/// Python: the loop on channel.get_state() / wait_for_state_change() until
/// TRANSIENT_FAILURE, then server.start().
actio::Task<void> start_server_on_failure(actio::Channel channel, actio::Server server, actio::Call waiting) {
  auto state = channel.get_state(true);
  std::cout << "channel state: " << name(state) << std::endl;
  for (int changes = 0; changes < 10 && state != actio::ChannelConnectivity::TRANSIENT_FAILURE; ++changes) {
    state = co_await channel.wait_for_state_change(state);
    std::cout << "channel state: " << name(state) << std::endl;
  }
  if (state == actio::ChannelConnectivity::TRANSIENT_FAILURE) {
    std::cout << "the channel is in TRANSIENT_FAILURE: starting the server" << std::endl;
  } else {
    std::cout << "the channel did not reach TRANSIENT_FAILURE: starting the server anyway" << std::endl;
  }
  bool pending = !waiting.done();
  co_await server.start();
  std::cout << "the wait-for-ready call was still pending when the server started: " << (pending ? "yes" : "no")
            << std::endl;
}

actio::Task<int> run(std::string target) {
  // Python: get_free_loopback_tcp_port() and create_server(address). Here the
  // server binds a free port and lets it go again; it listens only once
  // started.
  auto server = actio::server();
  helloworld::add_GreeterServicer_to_server(std::make_shared<Greeter>(), server);
  int port = server.add_insecure_port("127.0.0.1:0");
  std::string address = "127.0.0.1:" + std::to_string(port);
  std::cout << "nothing listens on " << address << " yet" << std::endl;

  auto channel = actio::insecure_channel(address);
  helloworld::GreeterStub stub(channel);
  HelloRequest request;
  request.set_name("you");
  // Both calls start now (Python: create_task(process(stub, ...))). The
  // timeouts only bound the sample; wait_for_ready alone would wait for ever.
  auto fail_fast = stub.SayHello(request, {.timeout = 10s, .wait_for_ready = false});
  auto waiting = stub.SayHello(request, {.timeout = 10s, .wait_for_ready = true});
  co_await actio::gather(process(fail_fast, false), process(waiting, true),
                         start_server_on_failure(channel, server, waiting));
  co_await server.stop(std::nullopt);  // Python: await server.stop(None)
  co_await channel.close();

  // With the server already there, wait_for_ready changes nothing.
  auto running = actio::insecure_channel(target);
  // [channel_ready]
  // channel_ready() never fails by itself: bound it (asyncio.wait_for).
  try {
    co_await actio::wait_for(running.channel_ready(), 5s);
    std::cout << "the channel to the running server is READY" << std::endl;
  } catch (const actio::TimeoutError& e) {
    std::cout << "the running server is not there: " << e.what() << std::endl;
  }
  // [channel_ready]
  helloworld::GreeterStub running_stub(running);
  try {
    HelloReply reply = co_await running_stub.SayHello(request, {.timeout = 5s, .wait_for_ready = true});
    std::cout << "with a server already there: " << reply.message() << std::endl;
  } catch (const actio::AioRpcError& e) {
    std::cout << "with a server already there: " << actio::to_string(e.code()) << " (" << e.details() << ")"
              << std::endl;
  }
  co_await running.close();
  co_return 0;
}

int main(int argc, char** argv) {
  std::string target = "localhost:50051";
  CLI::App app{"Actio wait_for_ready sample"};
  app.add_option("--target", target, "a running greeter server");
  CLI11_PARSE(app, argc, argv);
  return actio::run(run(target));
}
