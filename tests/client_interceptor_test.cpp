// Client interceptors end to end (aio_reference §1.10, §2 items 73, 81–103),
// and the grpc.aio 1.51 flaws Actio does not have (multi-arity objects,
// retry through the continuation, read() past the end).
#include "test_util.hpp"

namespace {

using namespace actio;
using namespace actio::testing;

// -- handlers ------------------------------------------------------------------

/// Echoes the request, prefixed with the value of "x-tag" if the client sent one.
RpcMethodHandler tag_echo() {
  return raw([](const std::string& req, ServicerContext& ctx) -> Task<std::string> {
    auto tag = ctx.invocation_metadata().get("x-tag");
    co_return tag ? *tag + ":" + req : req;
  });
}

/// Writes "0".."n-1" (n = the request as a number).
RpcMethodHandler counter() {
  return unary_stream_rpc_method_handler<std::string, std::string>(
      [](const std::string& req, ServicerContext& ctx) -> Task<void> {
        int n = std::stoi(req);
        for (int i = 0; i < n; ++i) co_await ctx.write(std::to_string(i));
      });
}

/// Joins every request with "+".
RpcMethodHandler joiner() {
  return stream_unary_rpc_method_handler<std::string, std::string>(
      [](RequestStream<std::string>& requests, ServicerContext&) -> Task<std::string> {
        std::string out;
        while (auto r = co_await requests.read()) out += (out.empty() ? "" : "+") + *r;
        co_return out;
      });
}

/// Echoes every request.
RpcMethodHandler bidi_echo() {
  return stream_stream_rpc_method_handler<std::string, std::string>(
      [](RequestStream<std::string>& requests, ServicerContext& ctx) -> Task<void> {
        while (auto r = co_await requests.read()) co_await ctx.write(*r);
      });
}

/// Writes one message, then waits (for cancel tests).
RpcMethodHandler slow_stream() {
  return unary_stream_rpc_method_handler<std::string, std::string>(
      [](const std::string&, ServicerContext& ctx) -> Task<void> {
        co_await ctx.write(std::string("first"));
        co_await sleep(10s);
      });
}

// -- interceptors ------------------------------------------------------------

/// Logs its name, then passes on (unary-unary).
class Logger : public UnaryUnaryClientInterceptor {
 public:
  Logger(std::string name, std::vector<std::string>* log) : name_(std::move(name)), log_(log) {}
  std::string name() const override { return name_; }
  Task<UnaryResult> intercept_unary_unary(UnaryUnaryContinuation continuation, ClientCallDetails details,
                                          Message request) override {
    log_->push_back(name_);
    co_return co_await continuation(std::move(details), std::move(request));
  }

 private:
  std::string name_;
  std::vector<std::string>* log_;
};

/// Adds "x-tag: <tag>" to every call of every arity (one object, four interfaces).
class Tagger : public UnaryUnaryClientInterceptor,
               public UnaryStreamClientInterceptor,
               public StreamUnaryClientInterceptor,
               public StreamStreamClientInterceptor {
 public:
  explicit Tagger(std::string tag) : tag_(std::move(tag)) {}
  std::string name() const override { return "tagger"; }
  int calls = 0;

  Task<UnaryResult> intercept_unary_unary(UnaryUnaryContinuation continuation, ClientCallDetails details,
                                          Message request) override {
    ++calls;
    details.metadata.add("x-tag", tag_);
    co_return co_await continuation(std::move(details), std::move(request));
  }
  Task<StreamResult> intercept_unary_stream(UnaryStreamContinuation continuation, ClientCallDetails details,
                                            Message request) override {
    ++calls;
    details.metadata.add("x-tag", tag_);
    co_return co_await continuation(std::move(details), std::move(request));
  }
  Task<UnaryResult> intercept_stream_unary(StreamUnaryContinuation continuation, ClientCallDetails details,
                                           Generator<Message> requests) override {
    ++calls;
    details.metadata.add("x-tag", tag_);
    co_return co_await continuation(std::move(details), std::move(requests));
  }
  Task<StreamResult> intercept_stream_stream(StreamStreamContinuation continuation, ClientCallDetails details,
                                             Generator<Message> requests) override {
    ++calls;
    details.metadata.add("x-tag", tag_);
    co_return co_await continuation(std::move(details), std::move(requests));
  }

 private:
  std::string tag_;
};

/// A class that is a ClientInterceptor but implements no arity.
class NotAnInterceptor : public ClientInterceptor {};

Channel channel_with(const Fixture& f, std::vector<std::shared_ptr<ClientInterceptor>> interceptors) {
  ChannelOptions options;
  options.interceptors = std::move(interceptors);
  return insecure_channel(f.target(), options);
}

// -- unary-unary ---------------------------------------------------------------

TEST(ClientInterceptor, Behaviour_081_NotAnInterceptorIsRefusedAtChannelCreation) {
  actio::run([]() -> Task<void> {
    ChannelOptions options;
    options.interceptors = {std::make_shared<NotAnInterceptor>()};
    EXPECT_THROW(insecure_channel("127.0.0.1:1", options), UsageError);
    options.interceptors = {nullptr};
    EXPECT_THROW(insecure_channel("127.0.0.1:1", options), UsageError);
    co_return;
  }());
}

TEST(ClientInterceptor, Behaviour_082_RunInListOrderAndAreRecordedOnTheCall) {
  with_server({{"Echo", tag_echo()}}, [](Fixture& f) -> Task<void> {
    std::vector<std::string> log;
    auto ch = channel_with(f, {std::make_shared<Logger>("first", &log), std::make_shared<Logger>("second", &log)});
    auto call = ch.unary_unary<std::string, std::string>("/test.Svc/Echo")("hi");
    EXPECT_EQ(co_await call, "hi");
    EXPECT_EQ(log, (std::vector<std::string>{"first", "second"}));
    auto records = call.interceptors();
    CO_ASSERT_EQ(records.size(), 2u);
    EXPECT_EQ(records[0].name, "first");
    EXPECT_EQ(records[1].name, "second");
    EXPECT_EQ(records[0].runs, 1);
    EXPECT_EQ(records[0].continuation_calls, 1);
    EXPECT_GE(records[0].total.count(), records[0].in_continuation.count());
    EXPECT_TRUE(records[0].changes.empty());
    co_await ch.close();
  });
}

/// Awaits the call's code inside the interceptor, then returns the call.
class CodeChecker : public UnaryUnaryClientInterceptor {
 public:
  std::optional<StatusCode> seen;
  Task<UnaryResult> intercept_unary_unary(UnaryUnaryContinuation continuation, ClientCallDetails details,
                                          Message request) override {
    auto call = co_await continuation(std::move(details), std::move(request));
    seen = co_await call.code();
    co_return call;
  }
};

TEST(ClientInterceptor, Behaviour_083_087_AwaitsTheCodeAndPassesTheCallOn) {
  with_server({{"Echo", tag_echo()}}, [](Fixture& f) -> Task<void> {
    auto checker = std::make_shared<CodeChecker>();
    auto ch = channel_with(f, {checker});
    auto call = ch.unary_unary<std::string, std::string>("/test.Svc/Echo")("x");
    EXPECT_EQ(co_await call, "x");
    EXPECT_EQ(checker->seen, StatusCode::OK);
    EXPECT_EQ(co_await call.code(), StatusCode::OK);
    EXPECT_EQ(co_await call.details(), "");
    EXPECT_TRUE((co_await call.initial_metadata()).empty());  // behaviour 87: empty Metadata
    EXPECT_TRUE((co_await call.trailing_metadata()).empty());
    EXPECT_TRUE(call.done());
    EXPECT_FALSE(call.cancelled());
    co_await ch.close();
  });
}

/// Shortens the timeout to 50 ms.
class Hurry : public UnaryUnaryClientInterceptor {
 public:
  std::string name() const override { return "hurry"; }
  Task<UnaryResult> intercept_unary_unary(UnaryUnaryContinuation continuation, ClientCallDetails details,
                                          Message request) override {
    details.timeout = Duration(0.05);
    co_return co_await continuation(std::move(details), std::move(request));
  }
};

TEST(ClientInterceptor, Behaviour_084_087_AShorterTimeoutGivesDeadlineExceeded) {
  with_server({{"Slow", sleepy(5s)}}, [](Fixture& f) -> Task<void> {
    auto ch = channel_with(f, {std::make_shared<Hurry>()});
    auto call = ch.unary_unary<std::string, std::string>("/test.Svc/Slow")("x", {.timeout = 10s});
    auto err = co_await expect_rpc_error(call);
    EXPECT_EQ(err.code(), StatusCode::DEADLINE_EXCEEDED);
    EXPECT_EQ(err.details(), "Deadline Exceeded");
    EXPECT_TRUE(call.done());
    EXPECT_EQ(co_await call.code(), StatusCode::DEADLINE_EXCEEDED);
    EXPECT_TRUE((co_await call.initial_metadata()).empty());  // behaviour 87: empty Metadata
    EXPECT_TRUE((co_await call.trailing_metadata()).empty());
    auto records = call.interceptors();
    CO_ASSERT_EQ(records.size(), 1u);
    EXPECT_EQ(records[0].changes, (std::vector<std::string>{"timeout 10s -> 0.05s"}));
    co_await ch.close();
  });
}

/// Answers "cached" without an RPC.
class Cache : public UnaryUnaryClientInterceptor {
 public:
  Task<UnaryResult> intercept_unary_unary(UnaryUnaryContinuation, ClientCallDetails, Message) override {
    co_return Message::of(std::string("cached"));
  }
};

TEST(ClientInterceptor, Behaviour_086_AResponseOfItsOwnIsTheResult) {
  with_server({{"Echo", tag_echo()}}, [](Fixture& f) -> Task<void> {
    auto ch = channel_with(f, {std::make_shared<Cache>()});
    auto call = ch.unary_unary<std::string, std::string>("/test.Svc/Echo")("x");
    EXPECT_EQ(co_await call, "cached");
    EXPECT_TRUE(call.done());
    EXPECT_FALSE(call.cancelled());
    EXPECT_FALSE(call.cancel());
    EXPECT_EQ(co_await call.code(), StatusCode::OK);
    EXPECT_EQ(co_await call.details(), "");
    EXPECT_TRUE((co_await call.initial_metadata()).empty());
    EXPECT_TRUE((co_await call.trailing_metadata()).empty());
    EXPECT_EQ(co_await call.debug_error_string(), "");
    CO_ASSERT_EQ(call.interceptors().size(), 1u);
    EXPECT_EQ(call.interceptors()[0].changes, (std::vector<std::string>{"answered without an RPC"}));
    co_await ch.close();
  });
}

/// Cancels its inner call, then returns it.
class Canceller : public UnaryUnaryClientInterceptor {
 public:
  Task<UnaryResult> intercept_unary_unary(UnaryUnaryContinuation continuation, ClientCallDetails details,
                                          Message request) override {
    auto call = co_await continuation(std::move(details), std::move(request));
    call.cancel();
    co_return call;
  }
};

TEST(ClientInterceptor, Behaviour_089_AnInnerCancelIsCancelledErrorOutside) {
  with_server({{"Slow", sleepy(5s)}}, [](Fixture& f) -> Task<void> {
    auto ch = channel_with(f, {std::make_shared<Canceller>()});
    auto call = ch.unary_unary<std::string, std::string>("/test.Svc/Slow")("x");
    EXPECT_THROW(co_await call, CancelledError);
    EXPECT_TRUE(call.cancelled());
    EXPECT_EQ(co_await call.code(), StatusCode::CANCELLED);
    EXPECT_TRUE((co_await call.trailing_metadata()).empty());
    co_await ch.close();
  });
}

TEST(ClientInterceptor, Behaviour_073_090_InjectedMetadataReachesTheServer) {
  with_server({{"Echo", tag_echo()}}, [](Fixture& f) -> Task<void> {
    auto ch = channel_with(f, {std::make_shared<Tagger>("t1")});
    Metadata md{{"x-user", "u"}};
    auto call = ch.unary_unary<std::string, std::string>("/test.Svc/Echo")("x", {.metadata = md});
    EXPECT_EQ(co_await call, "t1:x");
    CO_ASSERT_EQ(call.interceptors().size(), 1u);
    EXPECT_EQ(call.interceptors()[0].changes, (std::vector<std::string>{"metadata +x-tag"}));
    auto plain = ch.unary_unary<std::string, std::string>("/test.Svc/Echo")("y");
    EXPECT_EQ(co_await plain, "t1:y");
    co_await ch.close();
  });
}

/// Retries once on UNAVAILABLE: calls the continuation twice.
class Retry : public UnaryUnaryClientInterceptor {
 public:
  std::string name() const override { return "retry"; }
  Task<UnaryResult> intercept_unary_unary(UnaryUnaryContinuation continuation, ClientCallDetails details,
                                          Message request) override {
    auto first = co_await continuation(details, request);
    auto code = co_await first.code();
    if (code != StatusCode::UNAVAILABLE) co_return first;
    co_return co_await continuation(std::move(details), std::move(request));
  }
};

TEST(ClientInterceptor, RetryRunsTheInnerInterceptorsAgain) {
  int attempts = 0;
  auto flaky = raw([&attempts](const std::string& req, ServicerContext& ctx) -> Task<std::string> {
    if (++attempts == 1) ctx.abort(StatusCode::UNAVAILABLE, "try again");
    co_return req;
  });
  with_server({{"Flaky", flaky}}, [&attempts](Fixture& f) -> Task<void> {
    auto tagger = std::make_shared<Tagger>("t");
    auto ch = channel_with(f, {std::make_shared<Retry>(), tagger});
    auto call = ch.unary_unary<std::string, std::string>("/test.Svc/Flaky")("ok");
    EXPECT_EQ(co_await call, "ok");
    EXPECT_EQ(attempts, 2);
    EXPECT_EQ(tagger->calls, 2);  // grpc.aio 1.51 runs it once (the retry skips it)
    auto records = call.interceptors();
    CO_ASSERT_EQ(records.size(), 2u);
    EXPECT_EQ(records[0].continuation_calls, 2);
    EXPECT_EQ(records[1].runs, 2);
    co_await ch.close();
  });
}

/// Throws before calling the continuation.
class Thrower : public UnaryUnaryClientInterceptor, public StreamUnaryClientInterceptor,
                public UnaryStreamClientInterceptor {
 public:
  Task<UnaryResult> intercept_unary_unary(UnaryUnaryContinuation, ClientCallDetails, Message) override {
    throw std::runtime_error("no entry");
    co_return Message();
  }
  Task<UnaryResult> intercept_stream_unary(StreamUnaryContinuation, ClientCallDetails, Generator<Message>) override {
    co_await sleep(1ms);
    throw std::runtime_error("no entry");
  }
  Task<StreamResult> intercept_unary_stream(UnaryStreamContinuation, ClientCallDetails, Message) override {
    co_await sleep(1ms);
    throw std::runtime_error("no entry");
  }
};

TEST(ClientInterceptor, AnInterceptorExceptionComesOutOfAwait) {
  with_server({{"Echo", tag_echo()}}, [](Fixture& f) -> Task<void> {
    auto ch = channel_with(f, {std::make_shared<Thrower>()});
    auto call = ch.unary_unary<std::string, std::string>("/test.Svc/Echo")("x");
    int fired = 0;
    call.add_done_callback([&fired](const Call&) { ++fired; });
    try {
      co_await call;
      ADD_FAILURE() << "no exception";
    } catch (const std::runtime_error& e) {
      EXPECT_STREQ(e.what(), "no entry");
    }
    EXPECT_TRUE(call.done());
    EXPECT_FALSE(call.cancelled());
    EXPECT_FALSE(call.cancel());
    EXPECT_EQ(co_await call.code(), StatusCode::UNKNOWN);
    EXPECT_EQ(co_await call.details(), "no entry");
    co_await sleep(1ms);
    EXPECT_EQ(fired, 1);
    CO_ASSERT_EQ(call.interceptors().size(), 1u);
    EXPECT_EQ(call.interceptors()[0].changes, (std::vector<std::string>{"failed: no entry"}));
    co_await ch.close();
  });
}

/// Waits before passing on (so the caller can act while the chain runs).
class Dawdle : public UnaryUnaryClientInterceptor, public UnaryStreamClientInterceptor {
 public:
  Task<UnaryResult> intercept_unary_unary(UnaryUnaryContinuation continuation, ClientCallDetails details,
                                          Message request) override {
    co_await sleep(50ms);
    co_return co_await continuation(std::move(details), std::move(request));
  }
  Task<StreamResult> intercept_unary_stream(UnaryStreamContinuation continuation, ClientCallDetails details,
                                            Message request) override {
    co_await sleep(50ms);
    co_return co_await continuation(std::move(details), std::move(request));
  }
};

TEST(ClientInterceptor, CancelWhileTheChainRunsAndDoneCallbacksBeforeTheAnswer) {
  with_server({{"Echo", tag_echo()}}, [](Fixture& f) -> Task<void> {
    auto ch = channel_with(f, {std::make_shared<Dawdle>()});
    auto method = ch.unary_unary<std::string, std::string>("/test.Svc/Echo");
    auto call = method("x");
    int fired = 0;
    call.add_done_callback([&fired](const Call&) { ++fired; });
    EXPECT_FALSE(call.done());
    EXPECT_TRUE(call.cancel());
    EXPECT_THROW(co_await call, CancelledError);
    EXPECT_EQ(co_await call.code(), StatusCode::CANCELLED);
    EXPECT_TRUE((co_await call.initial_metadata()).empty());
    // A callback added before the chain answered fires; one added after, at once.
    auto ok = method("y");
    ok.add_done_callback([&fired](const Call&) { ++fired; });
    EXPECT_EQ(co_await ok, "y");
    ok.add_done_callback([&fired](const Call&) { ++fired; });
    co_await sleep(1ms);
    EXPECT_EQ(fired, 3);
    co_await ch.close();
  });
}

TEST(ClientInterceptor, Behaviour_095_UnreachableTargetIsUnavailableThroughInterceptors) {
  actio::run([]() -> Task<void> {
    std::vector<std::string> log;
    ChannelOptions options;
    options.interceptors = {std::make_shared<Logger>("a", &log), std::make_shared<Logger>("b", &log)};
    auto ch = insecure_channel("127.0.0.1:1", options);
    auto err = co_await expect_rpc_error(ch.unary_unary<std::string, std::string>("/test.Svc/Echo")("x"));
    EXPECT_EQ(err.code(), StatusCode::UNAVAILABLE);
    EXPECT_EQ(log.size(), 2u);
    co_await ch.close();
  }());
}

// -- unary-stream ---------------------------------------------------------------

/// Counts the responses by wrapping the response stream.
class ResponseCounter : public UnaryStreamClientInterceptor, public StreamStreamClientInterceptor {
 public:
  std::string name() const override { return "counter"; }
  std::shared_ptr<int> in = std::make_shared<int>(0);
  std::shared_ptr<int> out = std::make_shared<int>(0);
  Task<StreamResult> intercept_unary_stream(UnaryStreamContinuation continuation, ClientCallDetails details,
                                            Message request) override {
    auto call = co_await continuation(std::move(details), std::move(request));
    co_return tap_responses(call, [n = out](const Message&) { ++*n; });
  }
  Task<StreamResult> intercept_stream_stream(StreamStreamContinuation continuation, ClientCallDetails details,
                                             Generator<Message> requests) override {
    auto counted = tap(std::move(requests), [n = in](const Message&) { ++*n; });
    auto call = co_await continuation(std::move(details), std::move(counted));
    co_return tap_responses(call, [n = out](const Message&) { ++*n; });
  }
};

TEST(ClientInterceptor, Behaviour_092_094_AWrappedResponseStreamDeliversEveryMessage) {
  with_server({{"Count", counter()}}, [](Fixture& f) -> Task<void> {
    auto counter = std::make_shared<ResponseCounter>();
    auto ch = channel_with(f, {counter});
    auto call = ch.unary_stream<std::string, std::string>("/test.Svc/Count")("4");
    std::vector<std::string> got;
    while (auto m = co_await call.read()) got.push_back(*m);
    EXPECT_EQ(got, (std::vector<std::string>{"0", "1", "2", "3"}));
    EXPECT_EQ(*counter->out, 4);
    EXPECT_FALSE((co_await call.read()).has_value());  // past the end: end of stream, no exception
    EXPECT_EQ(co_await call.code(), StatusCode::OK);
    EXPECT_EQ(co_await call.details(), "");
    EXPECT_TRUE(call.done());
    EXPECT_FALSE(call.cancel());
    CO_ASSERT_EQ(call.interceptors().size(), 1u);
    EXPECT_EQ(call.interceptors()[0].changes, (std::vector<std::string>{"replaced the response stream"}));
    // Iteration style too.
    auto again = ch.unary_stream<std::string, std::string>("/test.Svc/Count")("3");
    auto all = co_await collect(again);
    EXPECT_EQ(all.size(), 3u);
    // And read_into, through the proxy.
    auto into = ch.unary_stream<std::string, std::string>("/test.Svc/Count")("12");
    std::string m;
    std::vector<std::string> read_in;
    while (co_await into.read_into(m)) read_in.push_back(m);
    std::vector<std::string> twelve;
    for (int i = 0; i < 12; ++i) twelve.push_back(std::to_string(i));
    EXPECT_EQ(read_in, twelve);
    EXPECT_FALSE(co_await into.read_into(m));
    co_await ch.close();
  });
}

TEST(ClientInterceptor, Behaviour_093_DoneCallbacksBeforeAndAfterTheChainAnswered) {
  with_server({{"Count", counter()}}, [](Fixture& f) -> Task<void> {
    auto ch = channel_with(f, {std::make_shared<Dawdle>()});
    auto call = ch.unary_stream<std::string, std::string>("/test.Svc/Count")("2");
    int fired = 0;
    call.add_done_callback([&fired](const Call& c) {
      EXPECT_TRUE(c.done());
      ++fired;
    });
    co_await call.wait_for_connection();
    call.add_done_callback([&fired](const Call&) { ++fired; });
    auto all = co_await collect(call);
    EXPECT_EQ(all.size(), 2u);
    co_await sleep(1ms);
    EXPECT_EQ(fired, 2);
    co_await ch.close();
  });
}

TEST(ClientInterceptor, Behaviour_096_CancelBeforeDuringAndAfterTheInnerCall) {
  with_server({{"Slow", slow_stream()}}, [](Fixture& f) -> Task<void> {
    auto ch = channel_with(f, {std::make_shared<Dawdle>()});
    auto method = ch.unary_stream<std::string, std::string>("/test.Svc/Slow");
    // Before the inner call exists.
    auto before = method("");
    EXPECT_TRUE(before.cancel());
    EXPECT_THROW(co_await before.read(), CancelledError);
    EXPECT_EQ(co_await before.code(), StatusCode::CANCELLED);
    // During consumption.
    auto during = method("");
    EXPECT_EQ(co_await during.read(), std::optional<std::string>("first"));
    EXPECT_TRUE(during.cancel());
    EXPECT_THROW(co_await during.read(), CancelledError);
    EXPECT_TRUE(during.cancelled());
    // Cancelling the task blocked in read() cancels the RPC.
    auto blocked = method("");
    EXPECT_EQ(co_await blocked.read(), std::optional<std::string>("first"));
    auto reader = [](UnaryStreamCall<std::string>& c) -> Task<bool> {
      try {
        co_await c.read();
      } catch (const CancelledError&) {
        co_return true;
      }
      co_return false;
    };
    Task<bool> t = reader(blocked);
    auto canceller = [](Task<bool>& victim) -> Task<void> {
      co_await sleep(30ms);
      victim.cancel();
    };
    auto forward = [](Task<bool>& v) -> Task<bool> { co_return co_await v; };
    auto [cancelled, _] = co_await gather(forward(t), canceller(t));
    EXPECT_TRUE(cancelled);
    EXPECT_TRUE(blocked.cancelled());
    co_await ch.close();
  });
}

TEST(ClientInterceptor, Behaviour_097_AnExceptionInAStreamInterceptorComesOutOfRead) {
  with_server({{"Count", counter()}}, [](Fixture& f) -> Task<void> {
    auto ch = channel_with(f, {std::make_shared<Thrower>()});
    auto call = ch.unary_stream<std::string, std::string>("/test.Svc/Count")("2");
    int fired = 0;
    call.add_done_callback([&fired](const Call&) { ++fired; });
    EXPECT_THROW(co_await call.read(), std::runtime_error);
    EXPECT_TRUE(call.done());
    EXPECT_FALSE(call.cancelled());
    EXPECT_FALSE(call.cancel());
    co_await sleep(1ms);
    EXPECT_EQ(fired, 1);
    co_await ch.close();
  });
}

// -- stream-unary ---------------------------------------------------------------

/// Counts the requests by wrapping the request stream.
class RequestCounter : public StreamUnaryClientInterceptor {
 public:
  std::shared_ptr<int> seen = std::make_shared<int>(0);
  Task<UnaryResult> intercept_stream_unary(StreamUnaryContinuation continuation, ClientCallDetails details,
                                           Generator<Message> requests) override {
    auto counted = tap(std::move(requests), [n = seen](const Message&) { ++*n; });
    co_return co_await continuation(std::move(details), std::move(counted));
  }
};

TEST(ClientInterceptor, Behaviour_098_AWrappedRequestStreamSeesEveryRequestInBothStyles) {
  with_server({{"Join", joiner()}}, [](Fixture& f) -> Task<void> {
    auto counter = std::make_shared<RequestCounter>();
    auto tagger = std::make_shared<Tagger>("t");
    auto ch = channel_with(f, {counter, tagger});
    auto method = ch.stream_unary<std::string, std::string>("/test.Svc/Join");
    auto call = method();
    co_await call.write("a");
    co_await call.write("b");
    co_await call.write("c");
    co_await call.done_writing();
    EXPECT_EQ(co_await call, "a+b+c");
    EXPECT_EQ(*counter->seen, 3);
    EXPECT_EQ(co_await call.code(), StatusCode::OK);
    std::vector<std::string> requests{"x", "y"};
    auto iterated = method(requests);
    EXPECT_EQ(co_await iterated, "x+y");
    EXPECT_EQ(*counter->seen, 5);
    EXPECT_EQ(tagger->calls, 2);
    // 102: write()/done_writing() with a request iterator given: UsageError.
    EXPECT_THROW(co_await iterated.write("z"), UsageError);
    EXPECT_THROW(co_await iterated.done_writing(), UsageError);
    co_await ch.close();
  });
}

TEST(ClientInterceptor, Behaviour_100_CancelMidWritingFailsWritesAndTheAwait) {
  with_server({{"Join", joiner()}}, [](Fixture& f) -> Task<void> {
    auto ch = channel_with(f, {std::make_shared<RequestCounter>()});
    auto call = ch.stream_unary<std::string, std::string>("/test.Svc/Join")();
    co_await call.write("a");
    EXPECT_TRUE(call.cancel());
    EXPECT_THROW(co_await call.write("b"), InvalidStateError);
    EXPECT_THROW(co_await call, CancelledError);
    EXPECT_EQ(co_await call.code(), StatusCode::CANCELLED);
    co_await ch.close();
  });
}

TEST(ClientInterceptor, Behaviour_101_AnInterceptorExceptionComesOutOfWriteAndAwait) {
  with_server({{"Join", joiner()}}, [](Fixture& f) -> Task<void> {
    auto ch = channel_with(f, {std::make_shared<Thrower>()});
    auto call = ch.stream_unary<std::string, std::string>("/test.Svc/Join")();
    for (int i = 0; i < 400 && !call.done(); ++i) co_await sleep(5ms);  // until the interceptor threw
    CO_ASSERT_TRUE(call.done());
    EXPECT_THROW(co_await call.write("a"), std::runtime_error);
    EXPECT_THROW(co_await call, std::runtime_error);
    co_await ch.close();
  });
}

// -- stream-stream ----------------------------------------------------------------

TEST(ClientInterceptor, Behaviour_103_BidiWrapsBothStreams) {
  with_server({{"Echo", bidi_echo()}}, [](Fixture& f) -> Task<void> {
    auto counter = std::make_shared<ResponseCounter>();
    auto ch = channel_with(f, {counter});
    auto call = ch.stream_stream<std::string, std::string>("/test.Svc/Echo")();
    for (int i = 0; i < 5; ++i) {
      co_await call.write(std::to_string(i));
      EXPECT_EQ(co_await call.read(), std::optional<std::string>(std::to_string(i)));
    }
    co_await call.done_writing();
    EXPECT_FALSE((co_await call.read()).has_value());
    EXPECT_EQ(*counter->in, 5);
    EXPECT_EQ(*counter->out, 5);
    EXPECT_EQ(co_await call.code(), StatusCode::OK);
    co_await ch.close();
  });
}

TEST(ClientInterceptor, OneObjectInterceptsEveryArityItImplements) {
  with_server({{"Echo", tag_echo()}, {"Count", counter()}, {"Join", joiner()}, {"Bidi", bidi_echo()}},
              [](Fixture& f) -> Task<void> {
                auto tagger = std::make_shared<Tagger>("t");
                auto ch = channel_with(f, {tagger});
                using S = std::string;
                auto uu = co_await ch.unary_unary<S, S>("/test.Svc/Echo")("u");
                EXPECT_EQ(uu, "t:u");
                auto us = co_await collect(ch.unary_stream<S, S>("/test.Svc/Count")("2"));
                EXPECT_EQ(us.size(), 2u);
                std::vector<std::string> reqs{"a", "b"};
                auto su = co_await ch.stream_unary<S, S>("/test.Svc/Join")(reqs);
                EXPECT_EQ(su, "a+b");
                auto bidi = co_await collect(ch.stream_stream<S, S>("/test.Svc/Bidi")(reqs));
                EXPECT_EQ(bidi, reqs);
                EXPECT_EQ(tagger->calls, 4);  // grpc.aio 1.51: 1 (unary-unary only)
                co_await ch.close();
              });
}

TEST(ClientInterceptor, ChannelCloseCancelsIntercepted) {
  with_server({{"Slow", sleepy(5s)}}, [](Fixture& f) -> Task<void> {
    auto ch = channel_with(f, {std::make_shared<Dawdle>()});
    auto call = ch.unary_unary<std::string, std::string>("/test.Svc/Slow")("x");
    co_await ch.close();
    EXPECT_THROW(co_await call, CancelledError);
  });
}

}  // namespace
