// Interop: the Actio client against a real grpc.aio greeter server (Debian
// python3-grpcio), started here as a child process on 127.0.0.1.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <thread>

#include "helloworld.pb.h"
#include "test_util.hpp"

namespace {

using namespace actio;
using namespace std::chrono_literals;
using actio::testing::expect_rpc_error;
using helloworld::HelloReply;
using helloworld::HelloRequest;

class PythonGreeter : public ::testing::Test {
 protected:
  void SetUp() override {
    port_file_ = ::testing::TempDir() + "actio_py_port_" + std::to_string(getpid());
    std::remove(port_file_.c_str());
    pid_ = fork();
    if (pid_ == 0) {
      std::string script = std::string(ACTIO_SOURCE_DIR) + "/tests/interop/python/greeter_server.py";
      execl("/usr/bin/python3", "python3", script.c_str(), "--port", "0", "--port-file", port_file_.c_str(),
            static_cast<char*>(nullptr));
      _exit(127);
    }
    for (int i = 0; i < 300 && port_ == 0; ++i) {
      std::ifstream in(port_file_);
      if (!(in >> port_)) port_ = 0;
      if (port_ == 0) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ASSERT_NE(port_, 0) << "python greeter server did not start";
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
