// Server interceptors end to end (aio_reference §1.10, §2 items 68, 104, 105):
// order, rejecting, routing, wrapping with message observers, and per-request
// data handed to the handler.
#include "test_util.hpp"

namespace {

using namespace actio;
using namespace actio::testing;

/// Logs its name and the metadata value "x-trace", then passes on.
class Log : public ServerInterceptor {
 public:
  Log(std::string name, std::shared_ptr<std::vector<std::string>> log) : name_(std::move(name)), log_(std::move(log)) {}
  std::string name() const override { return name_; }
  Task<std::optional<RpcMethodHandler>> intercept_service(ServerContinuation continuation,
                                                          HandlerCallDetails details) override {
    log_->push_back(name_ + " " + details.method + " " + details.invocation_metadata.get("x-trace").value_or("-"));
    co_return co_await continuation(std::move(details));
  }

 private:
  std::string name_;
  std::shared_ptr<std::vector<std::string>> log_;
};

struct User {
  std::string name;
};

/// Lets calls with "authorization: Bearer good" through and hands the handler
/// the user; rejects the others with UNAUTHENTICATED.
class Auth : public ServerInterceptor {
 public:
  std::string name() const override { return "auth"; }
  Task<std::optional<RpcMethodHandler>> intercept_service(ServerContinuation continuation,
                                                          HandlerCallDetails details) override {
    auto token = details.invocation_metadata.get("authorization");
    if (token != "Bearer good") {
      co_return rejecting_handler(details.kind, StatusCode::UNAUTHENTICATED, "bad token");
    }
    auto handler = co_await continuation(std::move(details));
    if (!handler) co_return handler;
    co_return wrap_handler(std::move(*handler), &with_user);
  }

 private:
  static Task<void> with_user(ServicerContext& context, const RpcMethodHandler& handler) {
    context.set_value(User{"ada"});
    co_await handler.invoke(context);
  }
};

/// Says hello to the user the interceptor found (or "nobody").
RpcMethodHandler whoami() {
  return raw([](const std::string&, ServicerContext& ctx) -> Task<std::string> {
    const User* user = ctx.value<User>();
    co_return user ? "hello " + user->name : std::string("nobody");
  });
}

template <class Body>
void with_intercepted_server(std::initializer_list<std::pair<const std::string, RpcMethodHandler>> methods,
                             std::vector<std::shared_ptr<ServerInterceptor>> interceptors, Body body) {
  ServerOptions options;
  options.interceptors = std::move(interceptors);
  with_server(methods, std::move(body), options);
}

TEST(ServerInterceptor, Behaviour_104_ANullInterceptorIsRefusedWhenTheServerIsMade) {
  actio::run([]() -> Task<void> {
    ServerOptions options;
    options.interceptors = {nullptr};
    EXPECT_THROW(server(options), UsageError);
    co_return;
  }());
}

TEST(ServerInterceptor, Behaviour_068_105_RunInOrderAndSeeTheClientMetadata) {
  auto log = std::make_shared<std::vector<std::string>>();
  with_intercepted_server(
      {{"Echo", echo()}}, {std::make_shared<Log>("log1", log), std::make_shared<Log>("log2", log)},
      [log](Fixture& f) -> Task<void> {
        Metadata md{{"x-trace", "t42"}};
        auto reply = co_await f.method("Echo")("hi", {.metadata = md});
        EXPECT_EQ(reply, "hi");
        EXPECT_EQ(*log, (std::vector<std::string>{"log1 /test.Svc/Echo t42", "log2 /test.Svc/Echo t42"}));
      });
}

TEST(ServerInterceptor, AnAuthInterceptorRejectsOrHandsTheUserToTheHandler) {
  with_intercepted_server({{"WhoAmI", whoami()}}, {std::make_shared<Auth>()}, [](Fixture& f) -> Task<void> {
    Metadata good{{"authorization", "Bearer good"}};
    auto reply = co_await f.method("WhoAmI")("", {.metadata = good});
    EXPECT_EQ(reply, "hello ada");
    Metadata bad{{"authorization", "Bearer bad"}};
    auto err = co_await expect_rpc_error(f.method("WhoAmI")("", {.metadata = bad}));
    EXPECT_EQ(err.code(), StatusCode::UNAUTHENTICATED);
    EXPECT_EQ(err.details(), "bad token");
    auto none = co_await expect_rpc_error(f.method("WhoAmI")(""));
    EXPECT_EQ(none.code(), StatusCode::UNAUTHENTICATED);
  });
}

/// Gives no handler for methods named "/test.Svc/Hidden"; routes "Old" to "New".
class Router : public ServerInterceptor {
 public:
  std::string name() const override { return "router"; }
  Task<std::optional<RpcMethodHandler>> intercept_service(ServerContinuation continuation,
                                                          HandlerCallDetails details) override {
    if (details.method == "/test.Svc/Hidden") co_return std::nullopt;
    if (details.method == "/test.Svc/Old") details.method = "/test.Svc/New";
    co_return co_await continuation(std::move(details));
  }
};

/// Records what the handler's context says about the interceptors.
std::shared_ptr<std::vector<InterceptorRecord>> g_records = std::make_shared<std::vector<InterceptorRecord>>();

TEST(ServerInterceptor, NoHandlerIsUnimplementedAndRoutingReachesAnotherMethod) {
  auto old_handler = raw([](const std::string&, ServicerContext&) -> Task<std::string> { co_return "old"; });
  auto new_handler = raw([](const std::string&, ServicerContext& ctx) -> Task<std::string> {
    *g_records = ctx.interceptors();
    co_return "new";
  });
  with_intercepted_server({{"Hidden", echo()}, {"Old", old_handler}, {"New", new_handler}},
                          {std::make_shared<Router>()}, [](Fixture& f) -> Task<void> {
                            auto err = co_await expect_rpc_error(f.method("Hidden")("x"));
                            EXPECT_EQ(err.code(), StatusCode::UNIMPLEMENTED);
                            EXPECT_EQ(err.details(), "Method not found!");
                            auto routed = co_await f.method("Old")("x");
                            EXPECT_EQ(routed, "new");
                            CO_ASSERT_EQ(g_records->size(), 1u);
                            EXPECT_EQ((*g_records)[0].name, "router");
                            EXPECT_EQ((*g_records)[0].changes,
                                      (std::vector<std::string>{"method /test.Svc/Old -> /test.Svc/New"}));
                          });
}

/// Rewrites the metadata: adds x-added, changes x-trace, drops x-secret,
/// and continues twice (a retry), so each change must be noted once.
class Rewriter : public ServerInterceptor {
 public:
  std::string name() const override { return "rewriter"; }
  Task<std::optional<RpcMethodHandler>> intercept_service(ServerContinuation continuation,
                                                          HandlerCallDetails details) override {
    Metadata md;
    for (const auto& [k, v] : details.invocation_metadata) {
      if (k == "x-secret") continue;
      md.add(k, k == "x-trace" ? v + "-rewritten" : v);
    }
    md.add("x-added", "1");
    details.invocation_metadata = md;
    auto first = co_await continuation(details);
    (void)first;
    co_return co_await continuation(std::move(details));
  }
};

TEST(ServerInterceptor, TheRecordSaysWhatAnInterceptorChangedInTheMetadataOnce) {
  auto recorder = raw([](const std::string&, ServicerContext& ctx) -> Task<std::string> {
    *g_records = ctx.interceptors();
    co_return ctx.invocation_metadata().get("x-trace").value_or("-");
  });
  with_intercepted_server({{"Echo", recorder}}, {std::make_shared<Rewriter>()}, [](Fixture& f) -> Task<void> {
    Metadata md{{"x-trace", "t1"}, {"x-secret", "s"}};
    // (As in grpc.aio, the handler's context keeps the client's metadata: the
    // details an interceptor passes on choose the handler, not what it reads.)
    EXPECT_EQ(co_await f.method("Echo")("x", {.metadata = md}), "t1");
    CO_ASSERT_EQ(g_records->size(), 1u);
    EXPECT_EQ((*g_records)[0].continuation_calls, 2);
    auto changes = (*g_records)[0].changes;
    std::sort(changes.begin(), changes.end());
    EXPECT_EQ(changes, (std::vector<std::string>{"metadata +x-added", "metadata -x-secret", "metadata ~x-trace"}));
  });
}

/// Counts every message in and out, and upper-cases the responses.
class Counter : public ServerInterceptor {
 public:
  std::shared_ptr<int> in = std::make_shared<int>(0);
  std::shared_ptr<int> out = std::make_shared<int>(0);
  std::string name() const override { return "counter"; }
  Task<std::optional<RpcMethodHandler>> intercept_service(ServerContinuation continuation,
                                                          HandlerCallDetails details) override {
    auto handler = co_await continuation(std::move(details));
    if (!handler) co_return handler;
    auto counts = std::make_pair(in, out);
    co_return wrap_handler(std::move(*handler), [counts](ServicerContext& ctx, const RpcMethodHandler& h) {
      ctx.add_request_observer([n = counts.first](Message&) { ++*n; });
      ctx.add_response_observer([n = counts.second](Message& m) {
        ++*n;
        std::string s = m.as<std::string>();
        for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        m = Message::of(s);
      });
      return h.invoke(ctx);
    });
  }
};

RpcMethodHandler bidi_echo() {
  return stream_stream_rpc_method_handler<std::string, std::string>(
      [](RequestStream<std::string>& requests, ServicerContext& ctx) -> Task<void> {
        while (auto r = co_await requests.read()) co_await ctx.write(*r);
      });
}

RpcMethodHandler joiner() {
  return stream_unary_rpc_method_handler<std::string, std::string>(
      [](RequestStream<std::string>& requests, ServicerContext&) -> Task<std::string> {
        std::string out;
        while (auto r = co_await requests.read()) out += *r;
        co_return out;
      });
}

TEST(ServerInterceptor, AWrappedHandlerSeesEveryMessageInAndOut) {
  auto counter = std::make_shared<Counter>();
  with_intercepted_server(
      {{"Echo", echo()}, {"Bidi", bidi_echo()}, {"Join", joiner()}}, {counter},
      [counter](Fixture& f) -> Task<void> {
        auto unary = co_await f.method("Echo")("abc");
        EXPECT_EQ(unary, "ABC");
        EXPECT_EQ(*counter->in, 1);
        EXPECT_EQ(*counter->out, 1);
        std::vector<std::string> reqs{"a", "b", "c"};
        auto bidi = co_await collect(f.channel.stream_stream<std::string, std::string>("/test.Svc/Bidi")(reqs));
        EXPECT_EQ(bidi, (std::vector<std::string>{"A", "B", "C"}));
        EXPECT_EQ(*counter->in, 4);
        EXPECT_EQ(*counter->out, 4);
        auto joined = co_await f.channel.stream_unary<std::string, std::string>("/test.Svc/Join")(reqs);
        EXPECT_EQ(joined, "ABC");
        EXPECT_EQ(*counter->in, 7);
        EXPECT_EQ(*counter->out, 5);
      });
}

/// Gives a handler of the wrong shape, or throws.
class Broken : public ServerInterceptor {
 public:
  Task<std::optional<RpcMethodHandler>> intercept_service(ServerContinuation, HandlerCallDetails details) override {
    if (details.method == "/test.Svc/Throw") throw std::runtime_error("interceptor broke");
    co_return rejecting_handler(RpcKind::stream_stream, StatusCode::UNAUTHENTICATED, "never");
  }
};

TEST(ServerInterceptor, AWrongShapeIsInternalAndAThrowIsUnknown) {
  with_intercepted_server({{"Echo", echo()}, {"Throw", echo()}}, {std::make_shared<Broken>()},
                          [](Fixture& f) -> Task<void> {
                            auto shape = co_await expect_rpc_error(f.method("Echo")("x"));
                            EXPECT_EQ(shape.code(), StatusCode::INTERNAL);
                            EXPECT_EQ(shape.details(),
                                      "A server interceptor gave a stream-stream handler for a unary-unary method");
                            auto thrown = co_await expect_rpc_error(f.method("Throw")("x"));
                            EXPECT_EQ(thrown.code(), StatusCode::UNKNOWN);
                            EXPECT_NE(thrown.details().find("interceptor broke"), std::string::npos);
                          });
}

}  // namespace
