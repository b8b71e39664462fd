// Actio bench.Echo server (the Actio counterpart of raw_cq_server).
//
//   echo_server --port P [--loops N] [--accepts K]
//
// Listens on 127.0.0.1:P (Actio's server binds without SO_REUSEPORT, so a
// busy port is an error: message on stderr, exit 1), serves calls on N Actio
// server loops (threads, each with its own completion queue; default 1),
// prints nothing but errors, and on SIGTERM/SIGINT stops (in-flight calls
// cancelled at once) and exits 0, in the same process.
// See /work/shared/bench/CONTRACT.md and bench/README.md.
//
// Only /bench.Echo/Unary is served: Actio has no streaming handlers yet, so
// ServerStream, ClientStream and Bidi are left unregistered and clients get
// UNIMPLEMENTED for them.

#include <CLI/CLI.hpp>
#include <pthread.h>
#include <signal.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <exception>
#include <optional>
#include <string>

#include "actio/aio.hpp"
#include "bench.grpc.pb.h"

namespace {

using namespace std::chrono_literals;

volatile std::sig_atomic_t g_stop_requested = 0;

extern "C" void on_stop_signal(int) { g_stop_requested = 1; }

// The echo: the response is the request.
actio::Task<bench::Msg> unary(const bench::Msg& request, actio::ServicerContext&) {
  co_return request;
}

// --block-home-loop (a diagnostic, not the default): instead of polling the
// stop flag on the home loop, block the home loop's thread in sigwait() until
// SIGTERM/SIGINT. The home loop then never enters its completion queue, so it
// cannot take over the transport work of the server loops (gRPC's epoll1
// engine lets any thread waiting on any polling completion queue do the
// reads/writes of every connection); see bench/README.md "Profile".
bool g_block_home_loop = false;
sigset_t g_stop_signals;

actio::Task<int> serve(int port, int loops, std::optional<int> accepts) {
  actio::ServerOptions options;
  options.loops = loops;
  if (accepts) options.accepts_per_method = *accepts;
  auto server = actio::server(std::move(options));
  // Streaming methods (ServerStream, ClientStream, Bidi) cannot be served by
  // Actio yet: unregistered, they answer UNIMPLEMENTED.
  server.add_generic_rpc_handlers({actio::method_handlers_generic_handler(
      "bench.Echo", {{"Unary", actio::unary_unary_rpc_method_handler<bench::Msg, bench::Msg>(unary)}})});
  const std::string address = "127.0.0.1:" + std::to_string(port);
  try {
    server.add_insecure_port(address);
    co_await server.start();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "echo_server: cannot listen on %s: %s\n", address.c_str(), e.what());
    co_return 1;
  }
  if (g_block_home_loop) {
    int sig = 0;
    while (sigwait(&g_stop_signals, &sig) != 0) {
    }
    g_stop_requested = 1;
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
  std::optional<int> accepts;
  app.add_option("--port", port, "TCP port on 127.0.0.1")->required()->check(CLI::Range(1, 65535));
  app.add_option("--loops", loops, "Actio server loops (threads, one CQ each)")->check(CLI::Range(1, 256));
  app.add_option("--accepts", accepts, "accepts kept outstanding per method and loop (default: Actio's)")
      ->check(CLI::Range(1, 4096));
  app.add_flag("--block-home-loop", g_block_home_loop,
               "diagnostic: block the home loop in sigwait() instead of polling the stop flag");
  CLI11_PARSE(app, argc, argv);
  if (g_block_home_loop) {
    // Before any gRPC thread starts, so that every thread inherits the mask.
    sigemptyset(&g_stop_signals);
    sigaddset(&g_stop_signals, SIGTERM);
    sigaddset(&g_stop_signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &g_stop_signals, nullptr);
  }

  try {
    return actio::run(serve(port, loops, accepts));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "echo_server: %s\n", e.what());
    return 1;
  }
}
