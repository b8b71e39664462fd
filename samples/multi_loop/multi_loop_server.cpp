// The multi_loop server: one actio::Server serving on N event loops, each a
// thread of its own (actio::server({.loops = N})). Its handler spends a few
// milliseconds of CPU and answers with the loop (and thread) that ran it.
// grpc.aio has no twin: there every handler runs on the one asyncio loop.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <iostream>
#include <sstream>
#include <thread>

#include "actio/aio.hpp"
#include "multi_loop.actio.h"

using namespace std::chrono_literals;
using multiloop::WorkReply;
using multiloop::WorkRequest;

/// Spends about `ms` milliseconds of CPU on the calling thread (a stand-in
/// for real work: parsing, hashing, rendering...). Bounded by time.
unsigned busy_work(int ms) {
  auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  unsigned x = 1;
  while (std::chrono::steady_clock::now() < until)
    for (int i = 0; i < 1000; ++i) x = x * 1664525u + 1013904223u;
  return x;
}

// [servicer]
class LoopReporter final : public multiloop::LoopReporterServicer {
 public:
  explicit LoopReporter(int loops) : loops_(loops) {}

  actio::Task<WorkReply> Work(const WorkRequest& request, actio::ServicerContext&) override {
    // The handler runs on the serving loop that accepted the call; that loop
    // is the calling thread's loop.
    actio::EventLoop* loop = actio::EventLoop::current();
    busy_work(std::clamp(request.work_ms(), 0, 50));
    std::ostringstream thread;
    thread << std::this_thread::get_id();
    std::cout << "multi_loop_server: call " << request.id() << " ran on loop " << loop->id() << " (thread "
              << thread.str() << ")" << std::endl;
    WorkReply reply;
    reply.set_id(request.id());
    reply.set_loop_id(loop->id());
    reply.set_thread(thread.str());
    reply.set_loops(loops_);
    co_return reply;
  }

 private:
  int loops_;
};
// [servicer]

// [serve]
actio::Task<int> serve(int port, int loops) {
  // N serving loops: N threads, each with its own completion queue. Handlers
  // run on them, never on this (the creating) thread.
  auto server = actio::server({.loops = loops});
  multiloop::add_LoopReporterServicer_to_server(std::make_shared<LoopReporter>(loops), server);
  int bound = server.add_insecure_port("127.0.0.1:" + std::to_string(port));
  co_await server.start();
  std::cout << "multi_loop_server: " << loops << " serving loops; this (creating) thread is "
            << std::this_thread::get_id() << std::endl;
  std::cout << "multi_loop_server: listening on 127.0.0.1:" << bound << std::endl;
  co_await actio::serve_until_signal(server, 1s);
  co_return 0;
}
// [serve]

int main(int argc, char** argv) {
  CLI::App app{"Actio multi-loop server: handlers on several event loops (threads)"};
  int port = 50051, loops = 4;
  app.add_option("--port", port, "port to listen on (0 picks a free one)");
  app.add_option("--loops", loops, "serving loops (threads)")->check(CLI::Range(1, 64));
  CLI11_PARSE(app, argc, argv);
  try {
    int rc = actio::run(serve(port, loops));
    std::cout << "multi_loop_server: stopped" << std::endl;
    return rc;
  } catch (const std::exception& e) {
    std::cerr << "multi_loop_server: " << e.what() << std::endl;
    return 1;
  }
}
