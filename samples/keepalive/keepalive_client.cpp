// The keepalive client (grpc's examples/python/keep_alive/greeter_client.py):
// a channel with keepalive arguments; one unary call, then a bidi stream kept
// open and idle for a while (keepalive pings go out underneath) that still
// works afterwards. To show that pings really went out and were answered,
// the client counts them in gRPC's own keepalive trace (see below).
#include <CLI/CLI.hpp>
#include <grpc/grpc.h>
#include <grpc/support/log.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <variant>

#include "actio/aio.hpp"
#include "keepalive.actio.h"

using namespace std::chrono_literals;
using keepalive::HelloReply;
using keepalive::HelloRequest;

HelloRequest named(const std::string& name) {
  HelloRequest request;
  request.set_name(name);
  return request;
}

// [pings]
/// Keepalive pings the server answered, counted from gRPC's "http_keepalive"
/// trace ("Finish keepalive ping" is logged when a ping's answer arrives).
/// gRPC calls the log function from its own threads, hence the atomic.
std::atomic<int> pings_answered{0};

void count_keepalive_pings(gpr_log_func_args* args) {
  if (std::strstr(args->message, "Finish keepalive ping")) ++pings_answered;
  // Pass on errors (and everything when GRPC_VERBOSITY asks for it).
  static const bool verbose = std::getenv("GRPC_VERBOSITY") != nullptr;
  if (verbose || args->severity == GPR_LOG_SEVERITY_ERROR)
    std::fprintf(stderr, "%s %s:%d] %s\n", gpr_log_severity_string(args->severity), args->file, args->line,
                 args->message);
}

/// Routes gRPC's log through count_keepalive_pings and turns the keepalive trace on.
void watch_keepalive_pings() {
  if (!std::getenv("GRPC_VERBOSITY")) gpr_set_log_verbosity(GPR_LOG_SEVERITY_INFO);  // trace lines are INFO
  gpr_set_log_function(count_keepalive_pings);
  grpc_tracer_set_enabled("http_keepalive", 1);
}
// [pings]

// [options]
/// The channel arguments (Python: grpc.aio.insecure_channel(target, options=[...])).
actio::ChannelArguments channel_arguments(int keepalive_ms) {
  actio::ChannelArguments args;
  // Ping the server after `keepalive_ms` without activity...
  args.push_back({"grpc.keepalive_time_ms", keepalive_ms});
  // ...and give up on the connection if a ping is not answered within 1 s.
  args.push_back({"grpc.keepalive_timeout_ms", 1000});
  // Ping even when no call is in flight.
  args.push_back({"grpc.keepalive_permit_without_calls", 1});
  // Up to 5 pings while no data is sent (the default, 2, would stop the pings sooner).
  args.push_back({"grpc.http2.max_pings_without_data", 5});
  return args;
}
// [options]

using Stream = actio::StreamStreamCall<HelloRequest, HelloReply>;

/// Waits for the server's next message on the stream.
actio::Task<std::optional<HelloReply>> next_reply(Stream stream) {
  co_return co_await stream.read();
}

/// Keeps quiet for `idle_ms` (saying so every 500 ms), then sends `request`.
actio::Task<void> pause_then_send(Stream stream, int idle_ms, HelloRequest request) {
  const int ticks = std::max(1, idle_ms / 500);
  for (int i = 1; i <= ticks; ++i) {
    co_await actio::sleep(std::chrono::milliseconds(idle_ms / ticks));
    std::cout << "  idle " << i * idle_ms / ticks << " ms, stream open, nothing sent\n" << std::flush;
  }
  co_await stream.write(request);
}

// [client]
actio::Task<int> run_client(std::string target, int keepalive_ms, int idle_ms) {
  actio::ChannelOptions options;
  options.args = channel_arguments(keepalive_ms);
  for (const auto& arg : options.args) std::cout << "client: " << arg.first << "=" << std::get<int>(arg.second) << "\n";
  auto channel = actio::insecure_channel(target, options);
  keepalive::GreeterStub stub(channel);

  // A unary call first, as the Python example.
  HelloRequest you = named("you");
  HelloReply reply = co_await stub.SayHello(you, {.timeout = 5s});
  std::cout << "Greeter client received: " << reply.message() << "\n";

  // A bidi stream: one exchange, a pause with the stream open and nothing
  // sent, then another exchange on the same stream. During the pause the
  // client waits for the server's next message (a read is pending), as a
  // client on an idle stream does.
  auto stream = stub.SayHelloStream({.timeout = 30s});
  HelloRequest before = named("before the pause"), after = named("after the pause");
  co_await stream.write(before);
  auto first = co_await stream.read();
  std::cout << "stream: " << (first ? first->message() : std::string("(ended)")) << "\n";
  int pings_before = pings_answered.load();
  auto [second, sent] = co_await actio::gather(next_reply(stream), pause_then_send(stream, idle_ms, after));
  int pings = pings_answered.load() - pings_before;
  if (!second) {
    std::cout << "the stream ended during the pause\n";
    co_return 1;
  }
  std::cout << "keepalive pings answered during the pause: " << pings << "\n";
  std::cout << "pings kept the idle connection checked: " << (pings > 0 ? "yes" : "no") << "\n";
  std::cout << "after " << idle_ms / 1000.0 << " s idle the stream still works: " << second->message() << "\n";
  co_await stream.done_writing();
  auto rest = co_await stream.read();  // nullopt: the server ended the stream
  actio::StatusCode code = co_await stream.code();
  std::cout << "stream closed: " << actio::to_string(code) << (rest ? " (with an extra reply)" : "") << "\n";
  co_await channel.close();
  co_return code == actio::StatusCode::OK && pings > 0 ? 0 : 1;
}
// [client]

int main(int argc, char** argv) {
  std::string target = "localhost:50051";
  int keepalive_ms = 500, idle_ms = 2000;
  CLI::App app{"Actio keepalive client: an idle stream kept alive by keepalive pings"};
  app.add_option("--target", target, "server address");
  app.add_option("--keepalive-ms", keepalive_ms, "grpc.keepalive_time_ms")->check(CLI::Range(100, 60000));
  app.add_option("--idle-ms", idle_ms, "how long the stream stays idle")->check(CLI::Range(0, 20000));
  CLI11_PARSE(app, argc, argv);
  watch_keepalive_pings();  // before gRPC starts up
  try {
    return actio::run(run_client(target, keepalive_ms, idle_ms));
  } catch (const actio::AioRpcError& e) {
    std::cerr << "keepalive_client: " << actio::to_string(e.code()) << " " << e.details() << std::endl;
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "keepalive_client: " << e.what() << std::endl;
    return 1;
  }
}
