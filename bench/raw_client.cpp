// Raw gRPC C++ baseline client: async completion-queue API, ONE thread, ONE
// completion queue, one channel, closed loop with N calls/streams in flight.
//
//   raw_client --target 127.0.0.1:P --mode unary|server_stream|client_stream|bidi
//              --concurrency N --seconds S --size B --warmup W --stream-count K
//              [--server-pid PID]
//
// Latency samples (microseconds):
//   unary          call start -> Finish completion
//   server_stream  gap between consecutive messages of a stream (the first
//                  one measured from the stream start)
//   client_stream  Write issued -> Write completion; each stream writes K
//                  messages, half-closes and checks the server's count == K
//   bidi           ping-pong: Write issued -> echo read back; the next write
//                  starts only after the echo arrived; K messages per stream
// Only completions inside the S measured seconds after W warm-up seconds
// count. Prints one JSON line (see CONTRACT.md); any non-OK status, short
// stream or wrong payload size is reported on stderr with a non-zero exit.

#include <CLI/CLI.hpp>
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "bench.grpc.pb.h"
#include "bench_stats.hpp"

namespace {

using namespace bench_stats;
using Clock = std::chrono::steady_clock;

enum class Mode { unary, server_stream, client_stream, bidi };
const std::vector<std::string> kModes = {"unary", "server_stream",
                                         "client_stream", "bidi"};

class Call;

struct Bench {
  Mode mode = Mode::unary;
  int concurrency = 1;
  int size = 64;
  int stream_count = 100;
  std::unique_ptr<bench::Echo::Stub> stub;
  grpc::CompletionQueue cq;
  bench::Msg msg;        // the B-byte payload every write/call sends
  Clock::time_point now; // time the current event was dequeued
  Clock::time_point window_start, window_end;
  bool measuring = false; // now is inside the measured window
  bool stopping = false;  // past the window (or failed): wind down
  bool failed = false;
  std::vector<Call*> slots; // the call occupying each concurrency slot
  size_t live = 0;          // non-null slots
  std::vector<int64_t> lat_ns;
  int64_t count = 0;

  void record(Clock::time_point since) {
    if (measuring) {
      ++count;
      lat_ns.push_back((now - since).count());
    }
  }
  void fail(const std::string& what);
  void cancel_all();
  void start(size_t slot);
  void done(size_t slot);
};

// Every tag on the CQ is a Call; each call has at most one operation pending.
class Call {
public:
  Call(Bench* b, size_t slot) : b_(b), slot_(slot) {}
  virtual ~Call() = default;
  virtual void proceed(bool ok) = 0;
  void cancel() { ctx_.TryCancel(); }

protected:
  // Checks the final status (ignored once the run is winding down) and
  // frees the slot.
  void finished() {
    if (!b_->stopping && !status_.ok())
      b_->fail("RPC failed: code " + std::to_string(status_.error_code())
               + ": " + status_.error_message());
    b_->done(slot_);
  }
  bool check_size(const bench::Msg& m) {
    if (m.payload().size() == static_cast<size_t>(b_->size))
      return true;
    b_->fail("wrong payload size " + std::to_string(m.payload().size())
             + ", expected " + std::to_string(b_->size));
    return false;
  }
  Bench* b_;
  size_t slot_;
  grpc::ClientContext ctx_;
  grpc::Status status_;
  Clock::time_point t0_;
};

class UnaryCall final : public Call {
public:
  UnaryCall(Bench* b, size_t slot) : Call(b, slot) {
    t0_ = b->now;
    rpc_ = b->stub->PrepareAsyncUnary(&ctx_, b->msg, &b->cq);
    rpc_->StartCall();
    rpc_->Finish(&resp_, &status_, this);
  }
  void proceed(bool) override {
    if (status_.ok() && check_size(resp_))
      b_->record(t0_);
    finished();
  }

private:
  bench::Msg resp_;
  std::unique_ptr<grpc::ClientAsyncResponseReader<bench::Msg>> rpc_;
};

// Shared shape of the streaming calls: after StartCall, step() issues the
// next operation (false: none left). A failed operation, the end of the run
// or the last step leads to Finish; check() then validates an OK stream.
template <class Rpc>
class StreamCall : public Call {
public:
  using Call::Call;
  void proceed(bool ok) override {
    if (finishing_) {
      if (!b_->stopping && status_.ok())
        check();
      finished();
    } else if (!ok || b_->stopping || !step()) {
      finishing_ = true;
      rpc_->Finish(&status_, this);
    }
  }

protected:
  virtual bool step() = 0;
  virtual void check() {}
  void expect_count(int64_t got, const char* what) {
    if (got != b_->stream_count)
      b_->fail(std::string(what) + " " + std::to_string(got) + " of "
               + std::to_string(b_->stream_count) + " messages");
  }
  std::unique_ptr<Rpc> rpc_;
  bool finishing_ = false;
  bool started_ = false;    // StartCall completed
  bool writes_done_ = false; // WritesDone issued
  int done_msgs_ = 0;
};

class ServerStreamCall final
  : public StreamCall<grpc::ClientAsyncReader<bench::Msg>> {
public:
  ServerStreamCall(Bench* b, size_t slot) : StreamCall(b, slot) {
    t0_ = b->now;
    req_.set_count(b->stream_count);
    req_.set_size(b->size);
    rpc_ = b->stub->PrepareAsyncServerStream(&ctx_, req_, &b->cq);
    rpc_->StartCall(this);
  }

private:
  bool step() override {
    if (started_) { // a message arrived
      if (!check_size(resp_))
        return false;
      b_->record(t0_);
      t0_ = b_->now;
      ++done_msgs_;
    }
    started_ = true;
    rpc_->Read(&resp_, this); // fails (ok=false) at the end of the stream
    return true;
  }
  void check() override { expect_count(done_msgs_, "short server stream: got"); }
  bench::StreamReq req_;
  bench::Msg resp_;
};

class ClientStreamCall final
  : public StreamCall<grpc::ClientAsyncWriter<bench::Msg>> {
public:
  ClientStreamCall(Bench* b, size_t slot) : StreamCall(b, slot) {
    rpc_ = b->stub->PrepareAsyncClientStream(&ctx_, &resp_, &b->cq);
    rpc_->StartCall(this);
  }

private:
  bool step() override {
    if (writes_done_)
      return false;
    if (started_) { // a write completed
      b_->record(t0_);
      ++done_msgs_;
    }
    started_ = true;
    if (done_msgs_ < b_->stream_count) {
      t0_ = b_->now;
      rpc_->Write(b_->msg, this);
    } else {
      writes_done_ = true;
      rpc_->WritesDone(this);
    }
    return true;
  }
  void check() override { expect_count(resp_.count(), "client stream: server counted"); }
  bench::Count resp_;
};

class BidiCall final
  : public StreamCall<grpc::ClientAsyncReaderWriter<bench::Msg, bench::Msg>> {
public:
  BidiCall(Bench* b, size_t slot) : StreamCall(b, slot) {
    rpc_ = b->stub->PrepareAsyncBidi(&ctx_, &b->cq);
    rpc_->StartCall(this);
  }

private:
  // Ping-pong: Write, then Read its echo, then the next Write.
  bool step() override {
    if (writes_done_)
      return false;
    if (reading_) { // the echo arrived
      if (!check_size(resp_))
        return false;
      b_->record(t0_);
      ++done_msgs_;
      reading_ = false;
    } else if (started_) { // the write completed: wait for its echo
      reading_ = true;
      rpc_->Read(&resp_, this);
      return true;
    }
    started_ = true;
    if (done_msgs_ < b_->stream_count) {
      t0_ = b_->now;
      rpc_->Write(b_->msg, this);
    } else {
      writes_done_ = true;
      rpc_->WritesDone(this);
    }
    return true;
  }
  void check() override { expect_count(done_msgs_, "short bidi stream: got"); }
  bool reading_ = false;
  bench::Msg resp_;
};

void Bench::fail(const std::string& what) {
  if (!failed)
    std::fprintf(stderr, "raw_client: %s\n", what.c_str());
  failed = true;
  stopping = true;
  cancel_all();
}

void Bench::cancel_all() {
  for (Call* c : slots)
    if (c) c->cancel();
}

void Bench::start(size_t slot) {
  ++live;
  switch (mode) {
    case Mode::unary: slots[slot] = new UnaryCall(this, slot); break;
    case Mode::server_stream: slots[slot] = new ServerStreamCall(this, slot); break;
    case Mode::client_stream: slots[slot] = new ClientStreamCall(this, slot); break;
    case Mode::bidi: slots[slot] = new BidiCall(this, slot); break;
  }
}

void Bench::done(size_t slot) {
  delete slots[slot];
  slots[slot] = nullptr;
  --live;
  if (!stopping)
    start(slot);
}

} // namespace

int main(int argc, char** argv) {
  CLI::App app{"raw gRPC C++ async bench.Echo client (one thread, one CQ)"};
  std::string target, mode_name;
  double seconds = 5, warmup = 1;
  int server_pid = 0;
  Bench b;
  app.add_option("--target", target, "host:port")->required();
  app.add_option("--mode", mode_name)
    ->required()
    ->check(CLI::IsMember(kModes));
  app.add_option("--concurrency", b.concurrency)->check(CLI::Range(1, 100000));
  app.add_option("--seconds", seconds)->check(CLI::Range(0.001, 1e6));
  app.add_option("--size", b.size)->check(CLI::Range(0, 64 * 1024 * 1024));
  app.add_option("--warmup", warmup)->check(CLI::Range(0.0, 1e6));
  app.add_option("--stream-count", b.stream_count, "messages per stream")
    ->check(CLI::Range(1, 1 << 30));
  app.add_option("--server-pid", server_pid, "read this PID's CPU time")
    ->check(CLI::PositiveNumber);
  CLI11_PARSE(app, argc, argv);

  b.mode = static_cast<Mode>(
    std::find(kModes.begin(), kModes.end(), mode_name) - kModes.begin());
  b.msg.mutable_payload()->assign(static_cast<size_t>(b.size), 'x');

  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(-1);
  auto channel = grpc::CreateCustomChannel(
    target, grpc::InsecureChannelCredentials(), args);
  if (!channel->WaitForConnected(std::chrono::system_clock::now()
                                 + std::chrono::seconds(10))) {
    std::fprintf(stderr, "raw_client: cannot connect to %s\n", target.c_str());
    return 1;
  }
  b.stub = bench::Echo::NewStub(channel);

  auto to_dur = [](double s) {
    return std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double>(s));
  };
  b.now = Clock::now();
  b.window_start = b.now + to_dur(warmup);
  b.window_end = b.window_start + to_dur(seconds);
  b.slots.assign(static_cast<size_t>(b.concurrency), nullptr);
  b.lat_ns.reserve(1 << 20);
  for (size_t i = 0; i < b.slots.size(); ++i)
    b.start(i);

  double client_cpu0 = 0, client_cpu = 0;
  double server_cpu0 = -1, server_cpu1 = -1;
  bool window_open = false, window_closed = false;
  auto last_event = b.now;
  while (b.live) {
    // Wake at least at the window edges and every 100 ms (stall check).
    auto wake = b.now + std::chrono::milliseconds(100);
    if (!window_open) wake = std::min(wake, b.window_start);
    else if (!window_closed) wake = std::min(wake, b.window_end);
    void* tag = nullptr;
    bool ok = false;
    auto st = b.cq.AsyncNext(&tag, &ok,  // gRPC takes system_clock only
                             std::chrono::system_clock::now()
                               + std::max(wake - b.now, Clock::duration{}));
    b.now = Clock::now();
    if (!window_open && b.now >= b.window_start) {
      window_open = b.measuring = true;
      client_cpu0 = process_cpu_s();
      if (server_pid) server_cpu0 = pid_cpu_s(server_pid);
    }
    if (window_open && !window_closed && b.now >= b.window_end) {
      window_closed = true;
      b.measuring = false;
      client_cpu = process_cpu_s() - client_cpu0;
      if (server_pid) server_cpu1 = pid_cpu_s(server_pid);
      b.stopping = true;
      b.cancel_all();
    }
    if (st == grpc::CompletionQueue::GOT_EVENT) {
      last_event = b.now;
      static_cast<Call*>(tag)->proceed(ok);
    } else if (st == grpc::CompletionQueue::SHUTDOWN) {
      break;
    } else if (b.now - last_event > std::chrono::seconds(10)) {
      b.fail("no completion for 10 s");
      last_event = b.now;
    }
  }
  b.cq.Shutdown();
  void* tag = nullptr;
  bool ok = false;
  while (b.cq.Next(&tag, &ok)) continue;

  if (b.failed)
    return 1;
  if (b.count == 0) {
    std::fprintf(stderr, "raw_client: no completions in the measured window\n");
    return 1;
  }
  if (server_pid && (server_cpu0 < 0 || server_cpu1 < 0)) {
    std::fprintf(stderr, "raw_client: cannot read /proc/%d/stat\n", server_pid);
    return 1;
  }
  double p50 = percentile_us(b.lat_ns, 0.50);
  double p99 = percentile_us(b.lat_ns, 0.99);
  std::printf("{\"impl\":\"raw\",\"mode\":\"%s\",\"concurrency\":%d,\"size\":%d,"
              "\"calls_or_msgs_per_s\":%.1f,\"p50_us\":%.1f,\"p99_us\":%.1f,"
              "\"count\":%lld,\"seconds\":%g,\"client_cpu_s\":%.3f",
              mode_name.c_str(), b.concurrency, b.size,
              static_cast<double>(b.count) / seconds, p50, p99,
              static_cast<long long>(b.count), seconds, client_cpu);
  if (b.mode != Mode::unary)
    std::printf(",\"stream_count\":%d", b.stream_count);
  if (b.mode == Mode::bidi)
    std::printf(",\"bidi_style\":\"pingpong\"");
  if (server_pid)
    std::printf(",\"server_cpu_s\":%.3f", server_cpu1 - server_cpu0);
  std::printf("}\n");
  return 0;
}
