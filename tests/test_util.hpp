#pragma once
// Shared fixtures for the end-to-end tests: a server on 127.0.0.1:0 with the
// given methods, a channel to it, and raw-bytes handler shorthands.

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <string>

#include "actio/aio.hpp"

/// ASSERT_* for coroutines (gtest's ASSERT uses `return`).
#define CO_ASSERT_TRUE(cond)                  \
  do {                                        \
    if (!(cond)) {                            \
      ADD_FAILURE() << "assertion: " #cond;   \
      co_return;                              \
    }                                         \
  } while (0)
#define CO_ASSERT_EQ(a, b)                                                \
  do {                                                                    \
    if (!((a) == (b))) {                                                  \
      ADD_FAILURE() << "assertion: " #a " == " #b;                        \
      co_return;                                                          \
    }                                                                     \
  } while (0)

namespace actio::testing {

using namespace std::chrono_literals;

using Handler = std::function<Task<std::string>(const std::string&, ServicerContext&)>;

/// A unary handler on raw bytes.
inline RpcMethodHandler raw(Handler fn) {
  return unary_unary_rpc_method_handler<std::string, std::string>(std::move(fn));
}

/// An echo handler.
inline RpcMethodHandler echo() {
  return raw([](const std::string& req, ServicerContext&) -> Task<std::string> { co_return req; });
}

/// A handler that sleeps `d` (cancellable) and then echoes.
inline RpcMethodHandler sleepy(Duration d) {
  return raw([d](const std::string& req, ServicerContext&) -> Task<std::string> {
    co_await sleep(d);
    co_return req;
  });
}

/// Awaits `call` and returns the AioRpcError it raised (a test failure if none).
template <class Awaitable>
Task<AioRpcError> expect_rpc_error(Awaitable call) {
  std::optional<AioRpcError> error;
  try {
    co_await call;
  } catch (const AioRpcError& e) {
    error = e;
  }
  if (!error) {
    ADD_FAILURE() << "expected an AioRpcError";
    error.emplace(StatusCode::OK, "no error was raised");
  }
  co_return *error;
}

struct Fixture {
  Server server;
  Channel channel;
  int port = 0;
  std::string target() const { return "127.0.0.1:" + std::to_string(port); }
  /// A raw-bytes multi-callable for "/test.Svc/<name>".
  UnaryUnaryMultiCallable<std::string, std::string> method(const std::string& name) const {
    return channel.unary_unary<std::string, std::string>("/test.Svc/" + name);
  }
};

/// Starts a server with `methods` (names under "/test.Svc/"), opens a channel
/// to it, runs `body(fixture)` on a fresh loop and stops the server.
template <class Body>
void with_server(std::initializer_list<std::pair<const std::string, RpcMethodHandler>> method_list, Body body,
                 ServerOptions options = {}) {
  std::map<std::string, RpcMethodHandler> methods(method_list);
  actio::run([&]() -> Task<void> {
    Fixture f;
    f.server = server(options);
    f.server.add_generic_rpc_handlers({method_handlers_generic_handler("test.Svc", methods)});
    f.port = f.server.add_insecure_port("127.0.0.1:0");
    co_await f.server.start();
    f.channel = insecure_channel(f.target());
    co_await body(f);
    co_await f.server.stop(0s);
  }());
}

}  // namespace actio::testing
