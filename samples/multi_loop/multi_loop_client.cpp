// The multi_loop client: 40 calls at once (actio::gather) to a server that
// serves on several event loops, then how many calls each loop ran.
#include <CLI/CLI.hpp>
#include <chrono>
#include <iostream>
#include <map>

#include "actio/aio.hpp"
#include "multi_loop.actio.h"

using namespace std::chrono_literals;
using multiloop::WorkReply;

/// One call: `work_ms` of work on the server, numbered `id`.
actio::Task<WorkReply> one_call(const multiloop::LoopReporterStub& stub, int id, int work_ms) {
  multiloop::WorkRequest request;
  request.set_id(id);
  request.set_work_ms(work_ms);
  co_return co_await stub.Work(request, {.timeout = 10s});
}

// [client]
actio::Task<int> run_client(std::string target, int calls, int work_ms) {
  auto channel = actio::insecure_channel(target);
  multiloop::LoopReporterStub stub(channel);
  // Start every call, then await them all together (asyncio.gather).
  std::vector<actio::Task<WorkReply>> tasks;
  for (int i = 1; i <= calls; ++i) tasks.push_back(one_call(stub, i, work_ms));
  auto start = std::chrono::steady_clock::now();
  std::vector<WorkReply> replies = co_await actio::gather(std::move(tasks));
  auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
  co_await channel.close();

  std::map<unsigned, std::pair<int, std::string>> per_loop;  // loop id -> (calls, thread)
  for (const WorkReply& r : replies) {
    auto& entry = per_loop[r.loop_id()];
    ++entry.first;
    entry.second = r.thread();
  }
  std::cout << "the server runs " << (replies.empty() ? 0 : replies[0].loops()) << " loops\n";
  std::cout << replies.size() << " calls answered in " << elapsed.count() << " ms (" << work_ms
            << " ms of work each, " << calls * work_ms << " ms in all)\n";
  for (const auto& entry : per_loop)
    std::cout << "  loop " << entry.first << " (thread " << entry.second.second << "): " << entry.second.first
              << " calls\n";
  std::cout << "distinct serving loops: " << per_loop.size() << "\n";
  std::cout << "served on more than one loop: " << (per_loop.size() > 1 ? "yes" : "no") << "\n";
  co_return per_loop.size() > 1 ? 0 : 1;
}
// [client]

int main(int argc, char** argv) {
  std::string target = "localhost:50051";
  int calls = 40, work_ms = 5;
  CLI::App app{"Actio multi-loop client: concurrent calls, and which loops served them"};
  app.add_option("--target", target, "server address");
  app.add_option("--calls", calls, "calls made at once")->check(CLI::Range(1, 1000));
  app.add_option("--work-ms", work_ms, "CPU milliseconds each call costs the server")->check(CLI::Range(0, 50));
  CLI11_PARSE(app, argc, argv);
  try {
    return actio::run(run_client(target, calls, work_ms));
  } catch (const actio::AioRpcError& e) {
    std::cerr << "multi_loop_client: " << actio::to_string(e.code()) << " " << e.details() << std::endl;
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "multi_loop_client: " << e.what() << std::endl;
    return 1;
  }
}
