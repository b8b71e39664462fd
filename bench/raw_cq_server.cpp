// Raw gRPC C++ baseline server: async completion-queue API, one CQ per thread.
//
//   raw_cq_server --port P [--loops N]
//
// Listens on 127.0.0.1:P (no SO_REUSEPORT: a busy port is an error), runs N
// threads each draining its own ServerCompletionQueue, serves bench.Echo
// until SIGTERM/SIGINT, then exits 0. Prints nothing but errors.
// See /work/shared/bench/CONTRACT.md and bench/README.md.

#include <CLI/CLI.hpp>
#include <grpcpp/grpcpp.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "bench.grpc.pb.h"

namespace {

// Outstanding Request*() calls kept per method per completion queue. 64
// covers the largest contract cell (unary c=64) without new calls having to
// wait for a request slot.
constexpr int kOutstandingPerMethod = 64;
// Largest payload a ServerStream request may ask for.
constexpr int kMaxStreamPayload = 64 * 1024 * 1024;

// One completion queue plus the lock that orders "post a new Request*()"
// against "shut the queue down" (posting to a shut-down CQ aborts).
struct Loop {
  std::unique_ptr<grpc::ServerCompletionQueue> cq;
  std::mutex mu;
  bool closed = false;
};

// Every tag on the CQ is a CallData; each call has at most one operation
// pending at a time, so a failed operation can simply delete the call.
class CallData {
public:
  virtual ~CallData() = default;
  virtual void proceed(bool ok) = 0;
};

// Starts `op` unless the loop's queue is shut down (false then). A stream
// whose read failed finishes through it: at exit, the failed reads of the
// calls Shutdown() cancelled can come after the queue closed, and starting
// an operation there aborts. Only on that path: once per stream.
template <class Op>
bool unless_closed(Loop* loop, Op op) {
  std::lock_guard<std::mutex> lk(loop->mu);
  if (loop->closed)
    return false;
  op();
  return true;
}

// Posts a fresh request of type T unless the loop is shutting down.
template <class T>
void spawn(bench::Echo::AsyncService* svc, Loop* loop) {
  std::lock_guard<std::mutex> lk(loop->mu);
  if (!loop->closed)
    new T(svc, loop);
}

class UnaryCall final : public CallData {
public:
  UnaryCall(bench::Echo::AsyncService* svc, Loop* loop)
    : svc_(svc), loop_(loop), responder_(&ctx_) {
    svc_->RequestUnary(&ctx_, &req_, &responder_, loop_->cq.get(),
                       loop_->cq.get(), this);
  }
  void proceed(bool ok) override {
    if (!ok || finishing_) {
      delete this;
      return;
    }
    spawn<UnaryCall>(svc_, loop_);
    finishing_ = true;
    responder_.Finish(req_, grpc::Status::OK, this);
  }

private:
  bench::Echo::AsyncService* svc_;
  Loop* loop_;
  grpc::ServerContext ctx_;
  bench::Msg req_;
  grpc::ServerAsyncResponseWriter<bench::Msg> responder_;
  bool finishing_ = false;
};

class ServerStreamCall final : public CallData {
public:
  ServerStreamCall(bench::Echo::AsyncService* svc, Loop* loop)
    : svc_(svc), loop_(loop), writer_(&ctx_) {
    svc_->RequestServerStream(&ctx_, &req_, &writer_, loop_->cq.get(),
                              loop_->cq.get(), this);
  }
  void proceed(bool ok) override {
    if (!ok) {
      delete this;
      return;
    }
    switch (state_) {
      case State::request:
        spawn<ServerStreamCall>(svc_, loop_);
        if (req_.count() < 0 || req_.size() < 0
            || req_.size() > kMaxStreamPayload) {
          state_ = State::finish;
          writer_.Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                      "bad count or size"),
                         this);
          return;
        }
        msg_.mutable_payload()->assign(static_cast<size_t>(req_.size()), 'x');
        state_ = State::write;
        next();
        return;
      case State::write:
        next();
        return;
      case State::finish:
        delete this;
        return;
    }
  }

private:
  enum class State { request, write, finish };
  void next() {
    if (sent_ + 1 < req_.count()) {
      ++sent_;
      writer_.Write(msg_, this);
    } else if (sent_ + 1 == req_.count()) {
      ++sent_;
      state_ = State::finish;
      writer_.WriteAndFinish(msg_, grpc::WriteOptions(), grpc::Status::OK,
                             this);
    } else { // count == 0
      state_ = State::finish;
      writer_.Finish(grpc::Status::OK, this);
    }
  }

  bench::Echo::AsyncService* svc_;
  Loop* loop_;
  grpc::ServerContext ctx_;
  bench::StreamReq req_;
  bench::Msg msg_;
  grpc::ServerAsyncWriter<bench::Msg> writer_;
  State state_ = State::request;
  int sent_ = 0;
};

class ClientStreamCall final : public CallData {
public:
  ClientStreamCall(bench::Echo::AsyncService* svc, Loop* loop)
    : svc_(svc), loop_(loop), reader_(&ctx_) {
    svc_->RequestClientStream(&ctx_, &reader_, loop_->cq.get(),
                              loop_->cq.get(), this);
  }
  void proceed(bool ok) override {
    switch (state_) {
      case State::request:
        if (!ok) {
          delete this;
          return;
        }
        spawn<ClientStreamCall>(svc_, loop_);
        state_ = State::read;
        reader_.Read(&msg_, this);
        return;
      case State::read:
        if (ok) {
          ++count_;
          reader_.Read(&msg_, this);
        } else { // client half-closed (or call died: Finish then fails too)
          resp_.set_count(count_);
          state_ = State::finish;
          if (!unless_closed(loop_, [this] { reader_.Finish(resp_, grpc::Status::OK, this); }))
            delete this;
        }
        return;
      case State::finish:
        delete this;
        return;
    }
  }

private:
  enum class State { request, read, finish };
  bench::Echo::AsyncService* svc_;
  Loop* loop_;
  grpc::ServerContext ctx_;
  bench::Msg msg_;
  bench::Count resp_;
  grpc::ServerAsyncReader<bench::Count, bench::Msg> reader_;
  State state_ = State::request;
  int64_t count_ = 0;
};

class BidiCall final : public CallData {
public:
  BidiCall(bench::Echo::AsyncService* svc, Loop* loop)
    : svc_(svc), loop_(loop), stream_(&ctx_) {
    svc_->RequestBidi(&ctx_, &stream_, loop_->cq.get(), loop_->cq.get(),
                      this);
  }
  void proceed(bool ok) override {
    switch (state_) {
      case State::request:
        if (!ok) {
          delete this;
          return;
        }
        spawn<BidiCall>(svc_, loop_);
        state_ = State::read;
        stream_.Read(&msg_, this);
        return;
      case State::read:
        if (ok) {
          state_ = State::write;
          stream_.Write(msg_, this);
        } else {
          state_ = State::finish;
          if (!unless_closed(loop_, [this] { stream_.Finish(grpc::Status::OK, this); }))
            delete this;
        }
        return;
      case State::write:
        if (!ok) {
          delete this;
          return;
        }
        state_ = State::read;
        stream_.Read(&msg_, this);
        return;
      case State::finish:
        delete this;
        return;
    }
  }

private:
  enum class State { request, read, write, finish };
  bench::Echo::AsyncService* svc_;
  Loop* loop_;
  grpc::ServerContext ctx_;
  bench::Msg msg_;
  grpc::ServerAsyncReaderWriter<bench::Msg, bench::Msg> stream_;
  State state_ = State::request;
};

void drain(Loop* loop) {
  void* tag = nullptr;
  bool ok = false;
  while (loop->cq->Next(&tag, &ok))
    static_cast<CallData*>(tag)->proceed(ok);
}

} // namespace

int main(int argc, char** argv) {
  // Block the stop signals before gRPC starts any thread, so that every
  // thread inherits the mask and only sigwait() below receives them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  CLI::App app{"raw gRPC C++ async (completion queue) bench.Echo server"};
  int port = 0;
  int loops = 1;
  app.add_option("--port", port, "TCP port on 127.0.0.1")
    ->required()
    ->check(CLI::Range(1, 65535));
  app.add_option("--loops", loops, "threads, each with its own CQ")
    ->check(CLI::Range(1, 256));
  CLI11_PARSE(app, argc, argv);

  bench::Echo::AsyncService service;
  grpc::ServerBuilder builder;
  const std::string addr = "127.0.0.1:" + std::to_string(port);
  int bound_port = 0;
  builder.AddListeningPort(addr, grpc::InsecureServerCredentials(),
                           &bound_port);
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.RegisterService(&service);
  std::vector<std::unique_ptr<Loop>> event_loops;
  for (int i = 0; i < loops; ++i) {
    event_loops.push_back(std::make_unique<Loop>());
    event_loops.back()->cq = builder.AddCompletionQueue();
  }
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (!server || bound_port == 0) {
    std::fprintf(stderr, "raw_cq_server: cannot listen on %s\n", addr.c_str());
    return 1;
  }

  for (auto& loop : event_loops) {
    for (int i = 0; i < kOutstandingPerMethod; ++i) {
      new UnaryCall(&service, loop.get());
      new ServerStreamCall(&service, loop.get());
      new ClientStreamCall(&service, loop.get());
      new BidiCall(&service, loop.get());
    }
  }
  std::vector<std::thread> threads;
  for (auto& loop : event_loops)
    threads.emplace_back(drain, loop.get());

  int sig = 0;
  while (sigwait(&stop_signals, &sig) != 0) {
  }

  // Cancel whatever is still running (a client may hold streams open), then
  // close the queues; each thread exits once its queue is drained.
  server->Shutdown(std::chrono::system_clock::now()
                   + std::chrono::milliseconds(500));
  for (auto& loop : event_loops) {
    std::lock_guard<std::mutex> lk(loop->mu);
    loop->closed = true;
    loop->cq->Shutdown();
  }
  for (auto& t : threads)
    t.join();
  server.reset(); // before the completion queues it was built with
  event_loops.clear();
  return 0;
}
