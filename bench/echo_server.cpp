// Actio bench.Echo server (the Actio counterpart of raw_cq_server).
//
//   echo_server --port P [--loops N]
//
// Listens on 127.0.0.1:P (Actio's server binds without SO_REUSEPORT, so a
// busy port is an error: message on stderr, exit 1), serves calls on N Actio
// server loops (threads, each with its own completion queue; default 1),
// prints nothing but errors, and on SIGTERM/SIGINT stops (in-flight calls
// cancelled at once) and exits 0, in the same process.
// See /work/shared/bench/CONTRACT.md and bench/README.md.
//
// Served, as in raw_cq_server / raw_callback_server:
//   /bench.Echo/Unary         echo.
//   /bench.Echo/ServerStream  `count` messages of `size` bytes, each awaited
//                             with co_await context.write; a negative count or
//                             size, or a size above 64 MiB, is INVALID_ARGUMENT.
//   /bench.Echo/ClientStream  reads the request stream to its end (the
//                             client's half-close) into one reused message
//                             (requests.read_into) and answers the number of
//                             messages read.
//   /bench.Echo/Bidi          echoes each message as it arrives: read one
//                             (read_into one reused message), write it back
//                             (awaited), then read the next; OK once the
//                             client half-closes.

#include <CLI/CLI.hpp>

#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <string>

#include "actio/aio.hpp"
#include "bench.grpc.pb.h"

namespace {

using namespace std::chrono_literals;

// Largest payload a ServerStream request may ask for (as raw_cq_server).
constexpr int kMaxStreamPayload = 64 * 1024 * 1024;

volatile std::sig_atomic_t g_stop_requested = 0;

extern "C" void on_stop_signal(int) { g_stop_requested = 1; }

// The echo: the response is the request.
actio::Task<bench::Msg> unary(const bench::Msg& request, actio::ServicerContext&) {
  co_return request;
}

// Sends request.count() messages of request.size() bytes, awaiting each write.
actio::Task<void> server_stream(const bench::StreamReq& request, actio::ServicerContext& context) {
  if (request.count() < 0 || request.size() < 0 || request.size() > kMaxStreamPayload)
    context.abort(actio::StatusCode::INVALID_ARGUMENT, "bad count or size");
  bench::Msg msg;
  msg.mutable_payload()->assign(static_cast<size_t>(request.size()), 'x');
  for (int i = 0; i < request.count(); ++i) co_await context.write(msg);
}

// Counts the messages until the client half-closes.
actio::Task<bench::Count> client_stream(actio::RequestStream<bench::Msg>& requests, actio::ServicerContext&) {
  int64_t n = 0;
  bench::Msg msg;  // every request is read into this one
  while (co_await requests.read_into(msg)) ++n;
  bench::Count count;
  count.set_count(n);
  co_return count;
}

// Echoes each message; the next read starts once the echo is written.
actio::Task<void> bidi(actio::RequestStream<bench::Msg>& requests, actio::ServicerContext& context) {
  bench::Msg msg;  // every request is read into this one
  while (co_await requests.read_into(msg)) co_await context.write(msg);
}

actio::Task<int> serve(int port, int loops) {
  actio::ServerOptions options;
  options.loops = loops;
  auto server = actio::server(std::move(options));
  server.add_generic_rpc_handlers({actio::method_handlers_generic_handler(
      "bench.Echo",
      {{"Unary", actio::unary_unary_rpc_method_handler<bench::Msg, bench::Msg>(unary)},
       {"ServerStream", actio::unary_stream_rpc_method_handler<bench::StreamReq, bench::Msg>(server_stream)},
       {"ClientStream", actio::stream_unary_rpc_method_handler<bench::Msg, bench::Count>(client_stream)},
       {"Bidi", actio::stream_stream_rpc_method_handler<bench::Msg, bench::Msg>(bidi)}})});
  const std::string address = "127.0.0.1:" + std::to_string(port);
  try {
    server.add_insecure_port(address);
    co_await server.start();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "echo_server: cannot listen on %s: %s\n", address.c_str(), e.what());
    co_return 1;
  }
  // The signal handler only sets a flag; poll it between short waits.
  while (!g_stop_requested) {
    if (!co_await server.wait_for_termination(50ms)) break;  // terminated on its own
  }
  co_await server.stop(0s);
  co_return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::signal(SIGTERM, on_stop_signal);
  std::signal(SIGINT, on_stop_signal);
  CLI::App app{"Actio bench.Echo server"};
  int port = 0;
  int loops = 1;
  app.add_option("--port", port, "TCP port on 127.0.0.1")->required()->check(CLI::Range(1, 65535));
  app.add_option("--loops", loops, "Actio server loops (threads, one CQ each)")->check(CLI::Range(1, 256));
  CLI11_PARSE(app, argc, argv);

  try {
    return actio::run(serve(port, loops));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "echo_server: %s\n", e.what());
    return 1;
  }
}
