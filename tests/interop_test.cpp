// Interop: the Actio client against a real grpc.aio greeter server (Debian
// python3-grpcio), started here as a child process on 127.0.0.1.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <string>
#include <vector>
#include <thread>

#include "helloworld.pb.h"
#include "test_util.hpp"

namespace {

using namespace actio;
using namespace std::chrono_literals;
using actio::testing::expect_rpc_error;
using helloworld::HelloReply;
using helloworld::HelloRequest;

/// Starts a Python grpc.aio server script (tests/interop/python/) as a child
/// process on a free port, which it writes to a port file.
class PythonServer : public ::testing::Test {
 protected:
  void start(const std::string& script_name, std::vector<std::string> extra = {}) {
    port_file_ = ::testing::TempDir() + "actio_py_port_" + std::to_string(getpid());
    std::remove(port_file_.c_str());
    std::string script = std::string(ACTIO_SOURCE_DIR) + "/tests/interop/python/" + script_name;
    std::vector<std::string> args{"python3", script, "--port", "0", "--port-file", port_file_};
    args.insert(args.end(), extra.begin(), extra.end());
    pid_ = fork();
    if (pid_ == 0) {
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv("/usr/bin/python3", argv.data());
      _exit(127);
    }
    for (int i = 0; i < 300 && port_ == 0; ++i) {
      std::ifstream in(port_file_);
      if (!(in >> port_)) port_ = 0;
      if (port_ == 0) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ASSERT_NE(port_, 0) << "python server " << script_name << " did not start";
  }
  void TearDown() override {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      int status = 0;
      waitpid(pid_, &status, 0);
    }
    std::remove(port_file_.c_str());
  }
  std::string target() const { return "127.0.0.1:" + std::to_string(port_); }

  pid_t pid_ = -1;
  int port_ = 0;
  std::string port_file_;
};

class PythonGreeter : public PythonServer {
 protected:
  void SetUp() override { start("greeter_server.py"); }
};

class PythonRouteGuide : public PythonServer {
 protected:
  void SetUp() override { start("route_guide_server.py", {"--permit-keepalive"}); }
};

/// A RouteNote on the wire: location (0, 1), then the text (raw bytes, so
/// this test needs no generated route guide code).
std::string route_note(const std::string& text) {
  std::string point("\x08\x00\x10\x01", 4);  // latitude 0, longitude 1
  std::string note = "\x0a" + std::string(1, static_cast<char>(point.size())) + point;
  note += "\x12" + std::string(1, static_cast<char>(text.size())) + text;
  return note;
}

TEST_F(PythonRouteGuide, AnIdleClientStreamSurvivesKeepaliveAcrossProcesses) {
  // The server is another process, so only the client loop can read the
  // client's socket. Keepalive pings every ~1 s with a 300 ms timeout; for
  // 2.5 s the client has no operation pending. If its loop stopped polling,
  // the acks would go unread and the transport would be closed.
  actio::run([this]() -> Task<void> {
    ChannelOptions o;
    o.args.emplace_back("grpc.keepalive_time_ms", 500);
    o.args.emplace_back("grpc.keepalive_timeout_ms", 300);
    o.args.emplace_back("grpc.keepalive_permit_without_calls", 1);
    o.args.emplace_back("grpc.http2.max_pings_without_data", 0);
    auto channel = insecure_channel(target(), o);
    auto chat = channel.stream_stream<std::string, std::string>("/routeguide.RouteGuide/RouteChat")({.timeout = 10s});
    co_await chat.write(route_note("first"));  // nothing earlier here: no reply
    co_await sleep(2500ms);                   // idle: no read, no write pending
    co_await chat.write(route_note("second"));  // the server answers with "first"
    auto earlier = co_await chat.read();
    EXPECT_TRUE(earlier && earlier->find("first") != std::string::npos);
    co_await chat.done_writing();
    EXPECT_FALSE((co_await chat.read()).has_value());
    EXPECT_EQ(co_await chat.code(), StatusCode::OK);
    co_await channel.close();
  }());
}

TEST_F(PythonGreeter, ActioClientCallsGrpcAioServer) {
  actio::run([this]() -> Task<void> {
    auto channel = insecure_channel(target());
    auto say_hello = channel.unary_unary<HelloRequest, HelloReply>("/helloworld.Greeter/SayHello");
    HelloRequest req;
    req.set_name("actio");

    // A plain call, with metadata both ways.
    Metadata md{{"x-client", "abc"}};
    auto call = say_hello(req, {.timeout = 5s, .metadata = md});
    HelloReply reply = co_await call;
    EXPECT_EQ(reply.message(), "Hello, actio!");
    auto initial = co_await call.initial_metadata();
    auto trailing = co_await call.trailing_metadata();
    EXPECT_EQ(initial.get("x-server"), "python");
    EXPECT_EQ(trailing.get("x-trailer"), "done");
    EXPECT_EQ(trailing.get("x-client-echo"), "abc");

    // The server aborts: code, details and trailing metadata arrive.
    Metadata fail{{"x-fail", "1"}};
    {
      auto e = co_await expect_rpc_error(say_hello(req, {.timeout = 5s, .metadata = fail}));
      EXPECT_EQ(e.code(), StatusCode::INVALID_ARGUMENT);
      EXPECT_EQ(e.details(), "asked to fail");
      EXPECT_EQ(e.trailing_metadata().get("x-trailer"), "done");
    }

    // Deadline: the python handler sleeps 2 s for "slow".
    HelloRequest slow;
    slow.set_name("slow");
    {
      auto e = co_await expect_rpc_error(say_hello(slow, {.timeout = 200ms}));
      EXPECT_EQ(e.code(), StatusCode::DEADLINE_EXCEEDED);
    }

    // Unknown method.
    auto nope = channel.unary_unary<std::string, std::string>("/helloworld.Greeter/Nope");
    {
      auto e = co_await expect_rpc_error(nope("", {.timeout = 5s}));
      EXPECT_EQ(e.code(), StatusCode::UNIMPLEMENTED);
    }

    // Many concurrent calls.
    std::vector<Task<HelloReply>> calls;
    auto one = [](UnaryUnaryMultiCallable<HelloRequest, HelloReply> m, int i) -> Task<HelloReply> {
      HelloRequest r;
      r.set_name("n" + std::to_string(i));
      co_return co_await m(r, {.timeout = 10s});
    };
    for (int i = 0; i < 50; ++i) calls.push_back(one(say_hello, i));
    auto replies = co_await gather(std::move(calls));
    for (int i = 0; i < 50; ++i) EXPECT_EQ(replies[i].message(), "Hello, n" + std::to_string(i) + "!");
    co_await channel.close();
  }());
}

}  // namespace
