// A watcher for the inspection-overhead bench: attaches to a process's
// Inspector (ACTIO_INSPECT=127.0.0.1:P), reads its Watch stream for a while
// and prints how many events came.
//
//   inspect_watch --target 127.0.0.1:P --seconds S [--head-bytes N] [--calls-only]
//                 [--max-calls-per-second N]
//
// Prints one JSON line: {"events": N, "events_per_s": R, "dropped": D, "summarized": C}
// (C: calls the process only counted in CallSummary events, past the rate)
// (D: events the process dropped because this watcher fell behind, read
// from a Snapshot at the end).
#include <CLI/CLI.hpp>

#include <cstdio>

#include "actio/aio.hpp"
#include "inspect.actio.h"

namespace v1 = actio::inspect::v1;

actio::Task<int> watch(std::string target, double seconds, int head_bytes, bool calls_only, unsigned rate) {
  auto channel = actio::insecure_channel(target);
  v1::InspectorStub stub(channel);
  v1::WatchRequest request;
  request.set_message_head_bytes(static_cast<unsigned>(head_bytes));
  request.set_calls_only(calls_only);
  request.set_max_calls_per_second(rate);
  auto call = stub.Watch(request);
  std::uint64_t events = 0, summarized = 0;
  auto reader = [](actio::UnaryStreamCall<v1::EventBatch> c, std::uint64_t* n, std::uint64_t* s) -> actio::Task<void> {
    try {
      while (auto batch = co_await c.read()) {
        *n += static_cast<std::uint64_t>(batch->events_size());
        for (const auto& e : batch->events()) *s += e.has_summary() ? e.summary().calls() : 0;
      }
    } catch (const actio::CancelledError&) {
      // the stopper's cancel: the end of the run
    }
  };
  auto stopper = [](actio::UnaryStreamCall<v1::EventBatch> c, double s) -> actio::Task<void> {
    co_await actio::sleep(actio::Duration(s));
    c.cancel();
  };
  auto start = std::chrono::steady_clock::now();
  try {
    co_await actio::gather(reader(call, &events, &summarized), stopper(call, seconds));
  } catch (const actio::AioRpcError& e) {
    std::fprintf(stderr, "inspect_watch: %s %s\n", std::string(actio::to_string(e.code())).c_str(), e.details().c_str());
    co_return 1;
  }
  double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  v1::SnapshotRequest sreq;
  auto snap = co_await stub.Snapshot(sreq);
  std::printf("{\"events\": %llu, \"events_per_s\": %.0f, \"dropped\": %llu, \"summarized\": %llu}\n",
              static_cast<unsigned long long>(events), events / elapsed,
              static_cast<unsigned long long>(snap.dropped_events()), static_cast<unsigned long long>(summarized));
  co_await channel.close();
  co_return 0;
}

int main(int argc, char** argv) {
  CLI::App app{"Watch an Actio process's Inspector"};
  std::string target;
  double seconds = 5;
  int head_bytes = 0;
  app.add_option("--target", target, "host:port of the Inspector")->required();
  app.add_option("--seconds", seconds);
  bool calls_only = false;
  app.add_option("--head-bytes", head_bytes);
  app.add_flag("--calls-only", calls_only, "call-level events only (WatchRequest.calls_only)");
  unsigned rate = 0;
  app.add_option("--max-calls-per-second", rate,
                 "calls per second and loop sent one by one, the rest counted (WatchRequest.max_calls_per_second); "
                 "0: every call");
  CLI11_PARSE(app, argc, argv);
  return actio::run(watch(target, seconds, head_bytes, calls_only, rate));
}
