// The deadlines client (grpc's examples/python/timeout/greeter_client.py):
// three calls, each with a timeout (a deadline relative to the call's start).
// The server works 1 s on names starting with "[delay]", so the call that
// allows only 0.5 s ends DEADLINE_EXCEEDED and the one allowing 3 s succeeds.
#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <iostream>

#include "actio/aio.hpp"
#include "helloworld.actio.h"

using helloworld::HelloReply;
using helloworld::HelloRequest;
using namespace std::chrono_literals;

/// Python: unary_call(stub, request_id, message), with the timeout a parameter.
actio::Task<void> unary_call(const helloworld::GreeterStub& stub, int request_id, std::string message,
                             actio::Duration timeout) {
  char label[64];
  std::snprintf(label, sizeof label, "call %d (timeout %g s): ", request_id, timeout.count());
  HelloRequest request;
  request.set_name(message);
  auto start = std::chrono::steady_clock::now();
  try {
    // Python: stub.SayHello(request, timeout=3)
    HelloReply reply = co_await stub.SayHello(request, {.timeout = timeout});
    std::cout << label << "Greeter client received: " << reply.message() << std::endl;
  } catch (const actio::AioRpcError& e) {
    std::cout << label << "failed with code " << actio::to_string(e.code()) << ", details '" << e.details() << "'"
              << std::endl;
  }
  std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
  char took_text[32];
  std::snprintf(took_text, sizeof took_text, "%.1f s", took.count());
  std::cout << "call " << request_id << " took " << took_text << std::endl;
}

actio::Task<int> run(std::string target) {
  auto channel = actio::insecure_channel(target);
  helloworld::GreeterStub stub(channel);
  co_await unary_call(stub, 1, "you", 3s);           // quick: succeeds
  co_await unary_call(stub, 2, "[delay] you", 0.5s);  // 1 s of work, 0.5 s allowed: DEADLINE_EXCEEDED
  co_await unary_call(stub, 3, "[delay] you", 3s);    // 1 s of work, 3 s allowed: succeeds
  co_await channel.close();
  co_return 0;
}

int main(int argc, char** argv) {
  std::string target = "localhost:50051";
  CLI::App app{"Actio deadlines client"};
  app.add_option("--target", target, "server address");
  CLI11_PARSE(app, argc, argv);
  return actio::run(run(target));
}
