// Actio bench.Echo client (the Actio counterpart of raw_client).
//
//   echo_client --target 127.0.0.1:P --mode unary|server_stream|client_stream|bidi
//               --concurrency N --seconds S --size B --warmup W --stream-count K
//               [--server-pid PID]
//
// Same flags, JSON keys and measurement as raw_client (bench_stats.hpp), with
// "impl":"actio". Everything runs on ONE Actio event loop (one thread) with
// ONE channel (one HTTP/2 connection).
//
// unary: N worker coroutines, started with actio::gather, each looping
// `co_await echo(msg)` (closed loop: N calls in flight). A call's latency is
// call start -> the worker resumed with the response. Only calls completed OK
// inside the S measured seconds that follow W seconds of warm-up count (the
// window edges are absolute times; a controller coroutine sleeps to them with
// actio::sleep and reads the CPU times there). At the end of the window the
// calls still in flight are cancelled. Any non-OK status or a wrong payload
// size: message on stderr, exit 1. No completion for 10 s: same.
//
// server_stream: N worker coroutines, each opening a ServerStream call for K
// (--stream-count) messages of B bytes and reading it to the end into one
// reused message (as raw_client does) with
// `while (co_await call.read_into(msg))`, then opening the next one. Every
// message counts (inside the window); its latency sample is the time since
// the previous message of the same stream (the first one: since the call was
// started), as in raw_client. A stream that ends OK with a message count other
// than K, a wrong payload size or a non-OK status: message on stderr, exit 1.
//
// client_stream: N worker coroutines, each opening a ClientStream call,
// writing K messages of B bytes with `co_await call.write(msg)` (one at a
// time), then `co_await call.done_writing()` and `co_await call` for the
// server's Count, then opening the next one. Every write counts; its latency
// sample is write issued -> write completed, as in raw_client. A Count other
// than K, or a non-OK status: message on stderr, exit 1.
//
// bidi (ping-pong, "bidi_style":"pingpong" as raw_client): N worker
// coroutines, each opening a Bidi call and, K times, writing a B-byte message
// and reading its echo back (read_into one reused message) before the next
// write; then done_writing() and a last read_into() for the end of the stream
// and its status; then the next call.
// Every echo counts; its latency sample is write issued -> echo read back, as
// in raw_client. A wrong echo size, a stream that ends before its K echoes
// (or brings more), or a non-OK status: message on stderr, exit 1.

#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "actio/aio.hpp"
#include "bench.grpc.pb.h"
#include "bench_stats.hpp"

namespace {

using namespace bench_stats;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

const std::vector<std::string> kModes = {"unary", "server_stream", "client_stream", "bidi"};

struct Bench {
  std::string target;
  std::string mode;
  int concurrency = 1;
  int size = 64;
  int stream_count = 100;
  double seconds = 5, warmup = 1;
  int server_pid = 0;

  bench::Msg msg;         // the B-byte payload every unary call and stream write sends
  bench::StreamReq sreq;  // what every ServerStream call asks for
  Clock::time_point window_start, window_end;
  bool stopping = false;  // past the window (or failed): wind down
  bool failed = false;
  // The call each worker has in flight (empty between calls), to cancel them.
  std::vector<actio::Call> in_flight;
  std::vector<int64_t> lat_ns;
  int64_t count = 0;
  int64_t completions = 0;  // all of them, warm-up included (stall check)
  double client_cpu = 0, server_cpu0 = -1, server_cpu1 = -1;

  bool check_size(const bench::Msg& m) {
    if (m.payload().size() == static_cast<size_t>(size)) return true;
    fail("wrong payload size " + std::to_string(m.payload().size()) + ", expected " + std::to_string(size));
    return false;
  }
  void record(Clock::time_point now, Clock::time_point since) {
    if (now >= window_start && now < window_end) {
      ++count;
      lat_ns.push_back((now - since).count());
    }
  }
  // A call's error; ignored once the run winds down (the calls in flight are
  // cancelled then).
  void rpc_failed(const actio::AioRpcError& e) {
    if (!stopping) fail("RPC failed: code " + std::to_string(static_cast<int>(e.code())) + ": " + e.details());
  }
  void rpc_cancelled() {
    if (!stopping) fail("RPC cancelled");
  }
  void fail(const std::string& what) {
    if (!failed) std::fprintf(stderr, "echo_client: %s\n", what.c_str());
    failed = true;
    stop();
  }
  void stop() {
    stopping = true;
    for (auto& c : in_flight)
      if (c.get()) c.cancel();
  }
};

actio::Task<void> worker(Bench& b, actio::UnaryUnaryMultiCallable<bench::Msg, bench::Msg> echo, size_t slot) {
  while (!b.stopping) {
    auto t0 = Clock::now();
    auto call = echo(b.msg);
    b.in_flight[slot] = call;
    bench::Msg resp;
    try {
      resp = co_await call;
    } catch (const actio::AioRpcError& e) {
      b.in_flight[slot] = {};
      b.rpc_failed(e);
      break;
    } catch (const actio::CancelledError&) {
      b.in_flight[slot] = {};
      b.rpc_cancelled();
      break;
    }
    auto now = Clock::now();
    b.in_flight[slot] = {};
    ++b.completions;
    if (!b.check_size(resp)) break;
    b.record(now, t0);
  }
}

// One server-streaming call after the other, each read to its end.
actio::Task<void> stream_worker(Bench& b, actio::UnaryStreamMultiCallable<bench::StreamReq, bench::Msg> open,
                                size_t slot) {
  bench::Msg msg;  // every message is read into this one (its payload's storage is reused)
  while (!b.stopping) {
    auto t0 = Clock::now();
    auto call = open(b.sreq);
    b.in_flight[slot] = call;
    int64_t got = 0;
    bool bad = false;
    try {
      while (co_await call.read_into(msg)) {
        auto now = Clock::now();
        ++b.completions;
        if (!b.check_size(msg)) {
          bad = true;
          break;
        }
        b.record(now, t0);
        t0 = now;
        ++got;
        if (b.stopping) break;
      }
    } catch (const actio::AioRpcError& e) {
      b.rpc_failed(e);
      bad = true;
    } catch (const actio::CancelledError&) {
      b.rpc_cancelled();
      bad = true;
    }
    b.in_flight[slot] = {};
    if (b.stopping || bad) break;
    if (got != b.stream_count) {
      b.fail("short server stream: got " + std::to_string(got) + " of " + std::to_string(b.stream_count) +
             " messages");
      break;
    }
  }
}

// One client-streaming call after the other: K writes, each awaited, the
// half-close, then the server's count of them.
actio::Task<void> client_stream_worker(Bench& b, actio::StreamUnaryMultiCallable<bench::Msg, bench::Count> open,
                                       size_t slot) {
  while (!b.stopping) {
    auto call = open();
    b.in_flight[slot] = call;
    try {
      for (int i = 0; i < b.stream_count && !b.stopping; ++i) {
        auto t0 = Clock::now();
        co_await call.write(b.msg);
        auto now = Clock::now();
        ++b.completions;
        b.record(now, t0);
      }
      co_await call.done_writing();  // a no-op once the call is done (cancelled)
    } catch (const actio::InvalidStateError&) {
      // The call ended under a write: awaiting it gives the status.
    }
    bool bad = false;
    bench::Count resp;
    try {
      resp = co_await call;
    } catch (const actio::AioRpcError& e) {
      b.rpc_failed(e);
      bad = true;
    } catch (const actio::CancelledError&) {
      b.rpc_cancelled();
      bad = true;
    }
    b.in_flight[slot] = {};
    if (b.stopping || bad) break;
    if (resp.count() != b.stream_count) {
      b.fail("client stream: server counted " + std::to_string(resp.count()) + " of " +
             std::to_string(b.stream_count) + " messages");
      break;
    }
  }
}

// One bidi call after the other, ping-pong: K times write a message and read
// its echo back before the next write; then half-close and read to the end.
actio::Task<void> bidi_worker(Bench& b, actio::StreamStreamMultiCallable<bench::Msg, bench::Msg> open, size_t slot) {
  bench::Msg echo;  // every echo is read into this one
  while (!b.stopping) {
    auto call = open();
    b.in_flight[slot] = call;
    int got = 0;
    bool bad = false;
    try {
      for (; got < b.stream_count && !b.stopping; ++got) {
        auto t0 = Clock::now();
        bool written = true;
        try {
          co_await call.write(b.msg);
        } catch (const actio::InvalidStateError&) {
          written = false;  // the call ended: the reads below give its status
        }
        if (!written) break;
        bool echoed = co_await call.read_into(echo);
        auto now = Clock::now();
        if (!echoed) break;
        ++b.completions;
        if (!b.check_size(echo)) {
          bad = true;
          break;
        }
        b.record(now, t0);
      }
      if (!b.stopping && !bad) {
        if (got == b.stream_count) co_await call.done_writing();
        // The end of the stream (its status: AioRpcError if not OK).
        int extra = 0;
        while (co_await call.read_into(echo)) ++extra;
        if (got != b.stream_count || extra != 0) {
          b.fail("bidi stream: got " + std::to_string(got + extra) + " echoes for " +
                 std::to_string(b.stream_count) + " messages");
          bad = true;
        }
      }
    } catch (const actio::AioRpcError& e) {
      b.rpc_failed(e);
      bad = true;
    } catch (const actio::CancelledError&) {
      b.rpc_cancelled();
      bad = true;
    }
    b.in_flight[slot] = {};
    if (b.stopping || bad) break;
  }
}

// Sleeps to `until` in steps of at most 100 ms, failing the run after 10 s
// without any completion. False once the run is stopping.
actio::Task<bool> sleep_until(Bench& b, Clock::time_point until, int64_t& seen, Clock::time_point& last_progress) {
  for (;;) {
    auto now = Clock::now();
    if (b.completions != seen) {
      seen = b.completions;
      last_progress = now;
    } else if (now - last_progress > 10s) {
      b.fail("no completion for 10 s");
    }
    if (b.stopping) co_return false;
    if (now >= until) co_return true;
    co_await actio::sleep(std::min<Clock::duration>(until - now, 100ms));
  }
}

actio::Task<void> controller(Bench& b) {
  int64_t seen = 0;
  auto last_progress = Clock::now();
  if (!co_await sleep_until(b, b.window_start, seen, last_progress)) co_return;
  double cpu0 = process_cpu_s();
  if (b.server_pid) b.server_cpu0 = pid_cpu_s(b.server_pid);
  if (!co_await sleep_until(b, b.window_end, seen, last_progress)) co_return;
  b.client_cpu = process_cpu_s() - cpu0;
  if (b.server_pid) b.server_cpu1 = pid_cpu_s(b.server_pid);
  b.stop();  // cancels the calls still in flight
}

actio::Task<int> run(Bench& b) {
  actio::ChannelOptions options;
  options.args.emplace_back("grpc.max_receive_message_length", -1);
  auto channel = actio::insecure_channel(b.target, options);
  // Connect first (raw_client: WaitForConnected, 10 s).
  auto give_up = Clock::now() + 10s;
  while (channel.get_state(true) != actio::ChannelConnectivity::READY) {
    if (Clock::now() > give_up) {
      std::fprintf(stderr, "echo_client: cannot connect to %s\n", b.target.c_str());
      co_return 1;
    }
    co_await actio::sleep(5ms);
  }

  auto to_dur = [](double s) {
    return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s));
  };
  b.window_start = Clock::now() + to_dur(b.warmup);
  b.window_end = b.window_start + to_dur(b.seconds);
  b.in_flight.resize(static_cast<size_t>(b.concurrency));
  b.lat_ns.reserve(1 << 20);

  std::vector<actio::Task<void>> tasks;
  tasks.push_back(controller(b));
  if (b.mode == "unary") {
    auto echo = channel.unary_unary<bench::Msg, bench::Msg>("/bench.Echo/Unary");
    for (size_t i = 0; i < static_cast<size_t>(b.concurrency); ++i) tasks.push_back(worker(b, echo, i));
  } else if (b.mode == "server_stream") {
    auto open = channel.unary_stream<bench::StreamReq, bench::Msg>("/bench.Echo/ServerStream");
    for (size_t i = 0; i < static_cast<size_t>(b.concurrency); ++i) tasks.push_back(stream_worker(b, open, i));
  } else if (b.mode == "client_stream") {
    auto open = channel.stream_unary<bench::Msg, bench::Count>("/bench.Echo/ClientStream");
    for (size_t i = 0; i < static_cast<size_t>(b.concurrency); ++i)
      tasks.push_back(client_stream_worker(b, open, i));
  } else {  // bidi
    auto open = channel.stream_stream<bench::Msg, bench::Msg>("/bench.Echo/Bidi");
    for (size_t i = 0; i < static_cast<size_t>(b.concurrency); ++i) tasks.push_back(bidi_worker(b, open, i));
  }
  co_await actio::gather(std::move(tasks));
  co_await channel.close();

  if (b.failed) co_return 1;
  if (b.count == 0) {
    std::fprintf(stderr, "echo_client: no completions in the measured window\n");
    co_return 1;
  }
  if (b.server_pid && (b.server_cpu0 < 0 || b.server_cpu1 < 0)) {
    std::fprintf(stderr, "echo_client: cannot read /proc/%d/stat\n", b.server_pid);
    co_return 1;
  }
  co_return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Actio bench.Echo client (one loop, one channel)"};
  Bench b;
  const std::string& mode_name = b.mode;
  app.add_option("--target", b.target, "host:port")->required();
  app.add_option("--mode", b.mode)->required()->check(CLI::IsMember(kModes));
  app.add_option("--concurrency", b.concurrency)->check(CLI::Range(1, 100000));
  app.add_option("--seconds", b.seconds)->check(CLI::Range(0.001, 1e6));
  app.add_option("--size", b.size)->check(CLI::Range(0, 64 * 1024 * 1024));
  app.add_option("--warmup", b.warmup)->check(CLI::Range(0.0, 1e6));
  app.add_option("--stream-count", b.stream_count, "messages per stream")->check(CLI::Range(1, 1 << 30));
  app.add_option("--server-pid", b.server_pid, "read this PID's CPU time")->check(CLI::PositiveNumber);
  CLI11_PARSE(app, argc, argv);

  b.msg.mutable_payload()->assign(static_cast<size_t>(b.size), 'x');
  b.sreq.set_count(b.stream_count);
  b.sreq.set_size(b.size);

  int rc = 1;
  try {
    rc = actio::run(run(b));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "echo_client: %s\n", e.what());
    return 1;
  }
  if (rc != 0) return rc;

  double p50 = percentile_us(b.lat_ns, 0.50);
  double p99 = percentile_us(b.lat_ns, 0.99);
  std::printf("{\"impl\":\"actio\",\"mode\":\"%s\",\"concurrency\":%d,\"size\":%d,"
              "\"calls_or_msgs_per_s\":%.1f,\"p50_us\":%.1f,\"p99_us\":%.1f,"
              "\"count\":%lld,\"seconds\":%g,\"client_cpu_s\":%.3f",
              mode_name.c_str(), b.concurrency, b.size, static_cast<double>(b.count) / b.seconds, p50, p99,
              static_cast<long long>(b.count), b.seconds, b.client_cpu);
  if (mode_name != "unary") std::printf(",\"stream_count\":%d", b.stream_count);
  if (mode_name == "bidi") std::printf(",\"bidi_style\":\"pingpong\"");
  if (b.server_pid) std::printf(",\"server_cpu_s\":%.3f", b.server_cpu1 - b.server_cpu0);
  std::printf("}\n");
  return 0;
}
