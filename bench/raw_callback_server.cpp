// Raw gRPC C++ baseline server: callback (reactor) API.
//
//   raw_callback_server --port P [--loops N]
//
// Listens on 127.0.0.1:P (no SO_REUSEPORT: a busy port is an error), serves
// bench.Echo until SIGTERM/SIGINT, then exits 0. Prints nothing but errors.
// --loops is accepted for command compatibility and ignored: the callback
// API runs reactors on gRPC's own thread pool.
// See /work/shared/bench/CONTRACT.md and bench/README.md.

#include <CLI/CLI.hpp>
#include <grpcpp/grpcpp.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <memory>
#include <string>

#include "bench.grpc.pb.h"

namespace {

// Largest payload a ServerStream request may ask for.
constexpr int kMaxStreamPayload = 64 * 1024 * 1024;

// ServerStream: send req.count messages of req.size bytes.
class StreamWriter final : public grpc::ServerWriteReactor<bench::Msg> {
public:
  explicit StreamWriter(const bench::StreamReq& req) : count_(req.count()) {
    if (req.count() < 0 || req.size() < 0 || req.size() > kMaxStreamPayload) {
      Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          "bad count or size"));
      return;
    }
    msg_.mutable_payload()->assign(static_cast<size_t>(req.size()), 'x');
    next();
  }
  void OnWriteDone(bool ok) override {
    if (!ok) {
      Finish(grpc::Status(grpc::StatusCode::UNKNOWN, "write failed"));
      return;
    }
    next();
  }
  void OnDone() override { delete this; }

private:
  void next() {
    if (sent_ + 1 < count_) {
      ++sent_;
      StartWrite(&msg_);
    } else if (sent_ + 1 == count_) {
      ++sent_;
      StartWriteAndFinish(&msg_, grpc::WriteOptions(), grpc::Status::OK);
    } else { // count == 0
      Finish(grpc::Status::OK);
    }
  }
  bench::Msg msg_;
  int count_;
  int sent_ = 0;
};

// ClientStream: count the messages until the client half-closes.
class StreamReader final : public grpc::ServerReadReactor<bench::Msg> {
public:
  explicit StreamReader(bench::Count* resp) : resp_(resp) { StartRead(&msg_); }
  void OnReadDone(bool ok) override {
    if (ok) {
      ++count_;
      StartRead(&msg_);
    } else {
      resp_->set_count(count_);
      Finish(grpc::Status::OK);
    }
  }
  void OnDone() override { delete this; }

private:
  bench::Count* resp_;
  bench::Msg msg_;
  int64_t count_ = 0;
};

// Bidi: echo each message; the next read starts once the echo is written.
class Echoer final : public grpc::ServerBidiReactor<bench::Msg, bench::Msg> {
public:
  Echoer() { StartRead(&msg_); }
  void OnReadDone(bool ok) override {
    if (ok)
      StartWrite(&msg_);
    else
      Finish(grpc::Status::OK);
  }
  void OnWriteDone(bool ok) override {
    if (ok)
      StartRead(&msg_);
    else
      Finish(grpc::Status(grpc::StatusCode::UNKNOWN, "write failed"));
  }
  void OnDone() override { delete this; }

private:
  bench::Msg msg_;
};

class EchoService final : public bench::Echo::CallbackService {
  grpc::ServerUnaryReactor* Unary(grpc::CallbackServerContext* ctx,
                                  const bench::Msg* req,
                                  bench::Msg* resp) override {
    resp->set_payload(req->payload());
    auto* reactor = ctx->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }
  grpc::ServerWriteReactor<bench::Msg>*
  ServerStream(grpc::CallbackServerContext*,
               const bench::StreamReq* req) override {
    return new StreamWriter(*req);
  }
  grpc::ServerReadReactor<bench::Msg>*
  ClientStream(grpc::CallbackServerContext*, bench::Count* resp) override {
    return new StreamReader(resp);
  }
  grpc::ServerBidiReactor<bench::Msg, bench::Msg>*
  Bidi(grpc::CallbackServerContext*) override {
    return new Echoer();
  }
};

} // namespace

int main(int argc, char** argv) {
  // Block the stop signals before gRPC starts any thread, so that every
  // thread inherits the mask and only sigwait() below receives them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  CLI::App app{"raw gRPC C++ callback-API bench.Echo server"};
  int port = 0;
  int loops = 1;
  app.add_option("--port", port, "TCP port on 127.0.0.1")
    ->required()
    ->check(CLI::Range(1, 65535));
  app.add_option("--loops", loops, "accepted and ignored (callback API)");
  CLI11_PARSE(app, argc, argv);

  EchoService service;
  grpc::ServerBuilder builder;
  const std::string addr = "127.0.0.1:" + std::to_string(port);
  int bound_port = 0;
  builder.AddListeningPort(addr, grpc::InsecureServerCredentials(),
                           &bound_port);
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (!server || bound_port == 0) {
    std::fprintf(stderr, "raw_callback_server: cannot listen on %s\n",
                 addr.c_str());
    return 1;
  }

  int sig = 0;
  while (sigwait(&stop_signals, &sig) != 0) {
  }
  server->Shutdown(std::chrono::system_clock::now()
                   + std::chrono::milliseconds(500));
  return 0;
}
