// The gRPC interop test client on Actio: the client test cases of
// doc/interop-test-descriptions.md in the grpc repository, against any
// grpc.testing.TestService server.
//
//   interop_client --server_host H --server_port P --test_case NAME|all [--use_tls false]
//
// Prints "PASS name" or "FAIL name: why" per case, then "N passed, M failed";
// exits non-zero if any case failed. Its twin in Python is
// tests/interop/python/interop_client.py; tests/interop/README.md lists what
// each case checks.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <array>
#include <fstream>
#include <iostream>
#include <sstream>

#include "grpc/testing/test.actio.h"
#include "interop_common.hpp"

namespace {

using namespace std::chrono_literals;
using actio::StatusCode;
using actio::Task;
using grpc::testing::Empty;
using grpc::testing::SimpleRequest;
using grpc::testing::SimpleResponse;
using grpc::testing::StreamingInputCallRequest;
using grpc::testing::StreamingInputCallResponse;
using grpc::testing::StreamingOutputCallRequest;
using grpc::testing::StreamingOutputCallResponse;

/// An upper bound on every call, so that no case can hang.
constexpr actio::Duration kTimeout = 10s;

/// A failed assertion of a test case.
struct Failure : std::runtime_error {
  using std::runtime_error::runtime_error;
};

void expect(bool condition, const std::string& what) {
  if (!condition) throw Failure(what);
}

std::string describe(const actio::AioRpcError& e) {
  return std::string(actio::to_string(e.code())) + " \"" + e.details() + "\"";
}

/// The server under test: a channel with generated stubs, and a second
/// channel with gRPC's decompression off for the cases that check whether
/// responses came compressed (see interop_common.hpp).
struct Peer {
  actio::Channel channel;
  actio::Channel raw_channel;
  grpc::testing::TestServiceStub stub;
  grpc::testing::UnimplementedServiceStub unimplemented;
};

/// Checks a payload: `size` bytes, all zero.
void check_payload(const grpc::testing::Payload& payload, int size, const std::string& what) {
  expect(payload.body().size() == static_cast<std::size_t>(size),
         what + ": payload of " + std::to_string(payload.body().size()) + " bytes, want " + std::to_string(size));
  expect(payload.body().find_first_not_of('\0') == std::string::npos, what + ": payload is not all zeros");
}

/// Awaits `call`, which must fail; returns its error.
template <class Call>
Task<actio::AioRpcError> expect_error(Call call, std::string what) {
  try {
    co_await call;
  } catch (const actio::AioRpcError& e) {
    co_return e;
  }
  throw Failure(what + " succeeded, want an error");
}

/// Checks an error's code (and details, if given).
void check_error(const actio::AioRpcError& e, StatusCode code, const std::string& what,
                 const std::optional<std::string>& details = std::nullopt) {
  expect(e.code() == code, what + ": got " + describe(e) + ", want " + std::string(actio::to_string(code)));
  if (details) expect(e.details() == *details, what + ": details \"" + e.details() + "\", want \"" + *details + "\"");
}

SimpleRequest large_request() {
  SimpleRequest request;
  request.set_response_size(314159);
  *request.mutable_payload() = interop::zeros(271828);
  return request;
}

StreamingOutputCallRequest output_request(int response_size, int payload_size) {
  StreamingOutputCallRequest request;
  request.add_response_parameters()->set_size(response_size);
  if (payload_size > 0) *request.mutable_payload() = interop::zeros(payload_size);
  return request;
}

/// `size` bytes that deflate cannot shrink, so gRPC sends them uncompressed
/// even on a call that compresses (it skips compression that does not pay).
std::string incompressible(int size) {
  std::string out(static_cast<std::size_t>(size), '\0');
  std::uint64_t x = 0x9E3779B97F4A7C15ull;
  for (auto& c : out) {  // xorshift64
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    c = static_cast<char>(x >> 56);
  }
  return out;
}

std::string method_path(const char* method) {
  return std::string("/") + grpc::testing::kTestServiceServiceName + "/" + method;
}

// -- the test cases -----------------------------------------------------------
// Each returns a note for the PASS line (usually empty) or throws.

Task<std::string> empty_unary(Peer& p) {
  Empty request;
  Empty response = co_await p.stub.EmptyCall(request, {.timeout = kTimeout});
  expect(response.ByteSizeLong() == 0, "the response is not empty");
  co_return "";
}

Task<std::string> large_unary(Peer& p) {
  SimpleRequest request = large_request();
  SimpleResponse response = co_await p.stub.UnaryCall(request, {.timeout = kTimeout});
  check_payload(response.payload(), 314159, "response");
  co_return "";
}

Task<std::string> client_compressed_unary(Peer& p) {
  SimpleRequest request = large_request();
  request.mutable_expect_compressed()->set_value(true);
  // The probe: an uncompressed request that claims to be compressed.
  auto probe = co_await expect_error(p.stub.UnaryCall(request, {.timeout = kTimeout}), "the uncompressed probe");
  check_error(probe, StatusCode::INVALID_ARGUMENT, "the uncompressed probe (expect_compressed=true)");
  SimpleResponse compressed =
      co_await p.stub.UnaryCall(request, {.timeout = kTimeout, .compression = actio::Compression::Gzip});
  check_payload(compressed.payload(), 314159, "compressed request");
  request.mutable_expect_compressed()->set_value(false);
  SimpleResponse plain = co_await p.stub.UnaryCall(request, {.timeout = kTimeout});
  check_payload(plain.payload(), 314159, "uncompressed request");
  co_return "";
}

Task<std::string> server_compressed_unary(Peer& p) {
  auto log = std::make_shared<std::vector<bool>>();
  auto unary = p.raw_channel.unary_unary<SimpleRequest, SimpleResponse>(
      method_path("UnaryCall"), {}, interop::inflating_codec<SimpleResponse>(log));
  static constexpr std::array<bool, 2> kWanted{true, false};
  for (bool want : kWanted) {
    SimpleRequest request = large_request();
    request.mutable_response_compressed()->set_value(want);
    SimpleResponse response = co_await unary(request, {.timeout = kTimeout});
    std::string what = want ? "response_compressed=true" : "response_compressed=false";
    check_payload(response.payload(), 314159, what);
    expect(!log->empty() && log->back() == want,
           what + ": the response came " + (want ? "uncompressed" : "compressed"));
  }
  co_return "";
}

Task<std::string> client_streaming(Peer& p) {
  static constexpr std::array<int, 4> kSizes{27182, 8, 1828, 45904};
  auto call = p.stub.StreamingInputCall({.timeout = kTimeout});
  for (int size : kSizes) {
    StreamingInputCallRequest request;
    *request.mutable_payload() = interop::zeros(size);
    co_await call.write(request);
  }
  co_await call.done_writing();
  StreamingInputCallResponse response = co_await call;
  expect(response.aggregated_payload_size() == 74922,
         "aggregated_payload_size " + std::to_string(response.aggregated_payload_size()) + ", want 74922");
  co_return "";
}

Task<std::string> client_compressed_streaming(Peer& p) {
  StreamingInputCallRequest first;
  first.mutable_expect_compressed()->set_value(true);
  *first.mutable_payload() = interop::zeros(27182);
  {
    // The probe: one uncompressed request that claims to be compressed.
    auto call = p.stub.StreamingInputCall({.timeout = kTimeout});
    try {
      co_await call.write(first);
      co_await call.done_writing();
    } catch (const actio::InvalidStateError&) {
      // The server already ended the call: its status follows.
    }
    auto probe = co_await expect_error(call, "the uncompressed probe");
    check_error(probe, StatusCode::INVALID_ARGUMENT, "the uncompressed probe (expect_compressed=true)");
  }
  // A compressing call: the first request goes out compressed; the second
  // must go out uncompressed. Actio's client cannot switch compression off
  // for one message (grpc.aio cannot either), so its body is 45904
  // incompressible bytes, which gRPC sends uncompressed, instead of zeros.
  auto call = p.stub.StreamingInputCall({.timeout = kTimeout, .compression = actio::Compression::Gzip});
  co_await call.write(first);
  StreamingInputCallRequest second;
  second.mutable_expect_compressed()->set_value(false);
  second.mutable_payload()->set_body(incompressible(45904));
  co_await call.write(second);
  co_await call.done_writing();
  StreamingInputCallResponse response = co_await call;
  expect(response.aggregated_payload_size() == 73086,
         "aggregated_payload_size " + std::to_string(response.aggregated_payload_size()) + ", want 73086");
  co_return "second request: incompressible bytes, not zeros";
}

Task<std::string> server_streaming(Peer& p) {
  static constexpr std::array<int, 4> kSizes{31415, 9, 2653, 58979};
  StreamingOutputCallRequest request;
  for (int size : kSizes) request.add_response_parameters()->set_size(size);
  auto call = p.stub.StreamingOutputCall(request, {.timeout = kTimeout});
  std::size_t n = 0;
  while (auto response = co_await call.read()) {
    expect(n < kSizes.size(), "more than " + std::to_string(kSizes.size()) + " responses");
    check_payload(response->payload(), kSizes[n], "response #" + std::to_string(n + 1));
    ++n;
  }
  expect(n == kSizes.size(), std::to_string(n) + " responses, want 4");
  co_return "";
}

Task<std::string> server_compressed_streaming(Peer& p) {
  auto log = std::make_shared<std::vector<bool>>();
  auto stream = p.raw_channel.unary_stream<StreamingOutputCallRequest, StreamingOutputCallResponse>(
      method_path("StreamingOutputCall"), {}, interop::inflating_codec<StreamingOutputCallResponse>(log));
  StreamingOutputCallRequest request;
  auto* first = request.add_response_parameters();
  first->set_size(31415);
  first->mutable_compressed()->set_value(true);
  auto* second = request.add_response_parameters();
  second->set_size(92653);
  second->mutable_compressed()->set_value(false);
  auto call = stream(request, {.timeout = kTimeout});
  std::vector<int> sizes;
  while (auto response = co_await call.read()) sizes.push_back(static_cast<int>(response->payload().body().size()));
  expect(sizes == std::vector<int>{31415, 92653}, "responses of the wrong number or sizes");
  expect(log->size() == 2 && (*log)[0], "the first response (compressed=true) came uncompressed");
  expect(!(*log)[1], "the second response (compressed=false) came compressed");
  co_return "";
}

Task<std::string> ping_pong(Peer& p) {
  static constexpr std::array<std::pair<int, int>, 4> kSteps{{{31415, 27182}, {9, 8}, {2653, 1828}, {58979, 45904}}};
  auto call = p.stub.FullDuplexCall({.timeout = kTimeout});
  int n = 0;
  for (const auto& [response_size, payload_size] : kSteps) {
    ++n;
    StreamingOutputCallRequest request = output_request(response_size, payload_size);
    co_await call.write(request);
    auto response = co_await call.read();
    expect(response.has_value(), "no response to request #" + std::to_string(n));
    check_payload(response->payload(), response_size, "response #" + std::to_string(n));
  }
  co_await call.done_writing();
  auto extra = co_await call.read();
  expect(!extra, "more than four responses");
  StatusCode code = co_await call.code();
  expect(code == StatusCode::OK, "status " + std::string(actio::to_string(code)));
  co_return "";
}

Task<std::string> empty_stream(Peer& p) {
  auto call = p.stub.FullDuplexCall({.timeout = kTimeout});
  co_await call.done_writing();
  auto response = co_await call.read();
  expect(!response, "a response came");
  StatusCode code = co_await call.code();
  expect(code == StatusCode::OK, "status " + std::string(actio::to_string(code)));
  co_return "";
}

Task<std::string> cancel_after_begin(Peer& p) {
  auto call = p.stub.StreamingInputCall({.timeout = kTimeout});
  co_await call.wait_for_connection();  // the call's metadata went out
  expect(call.cancel(), "cancel() found the call already done");
  StatusCode code = co_await call.code();
  expect(code == StatusCode::CANCELLED, "status " + std::string(actio::to_string(code)) + ", want CANCELLED");
  co_return "";
}

Task<std::string> cancel_after_first_response(Peer& p) {
  auto call = p.stub.FullDuplexCall({.timeout = kTimeout});
  StreamingOutputCallRequest request = output_request(31415, 27182);
  co_await call.write(request);
  auto response = co_await call.read();
  expect(response.has_value(), "no response");
  check_payload(response->payload(), 31415, "response");
  expect(call.cancel(), "cancel() found the call already done");
  StatusCode code = co_await call.code();
  expect(code == StatusCode::CANCELLED, "status " + std::string(actio::to_string(code)) + ", want CANCELLED");
  co_return "";
}

Task<std::string> timeout_on_sleeping_server(Peer& p) {
  auto call = p.stub.FullDuplexCall({.timeout = 1ms});
  StreamingOutputCallRequest request;
  *request.mutable_payload() = interop::zeros(27182);
  try {
    co_await call.write(request);
  } catch (const actio::BaseError&) {
    // The deadline may pass before the write: the status tells.
  }
  StatusCode code = co_await call.code();
  expect(code == StatusCode::DEADLINE_EXCEEDED,
         "status " + std::string(actio::to_string(code)) + ", want DEADLINE_EXCEEDED");
  co_return "";
}

void check_echoed(const actio::Metadata& initial, const actio::Metadata& trailing, const std::string& what) {
  auto i = initial.get(interop::kEchoInitialKey);
  expect(i == "test_initial_metadata_value", what + ": initial metadata " + initial.repr());
  auto t = trailing.get(interop::kEchoTrailingKey);
  expect(t == std::string("\xab\xab\xab", 3), what + ": trailing metadata " + trailing.repr());
}

Task<std::string> custom_metadata(Peer& p) {
  actio::Metadata md;
  md.add(interop::kEchoInitialKey, "test_initial_metadata_value");
  md.add(interop::kEchoTrailingKey, std::string("\xab\xab\xab", 3));
  {
    SimpleRequest request = large_request();
    auto call = p.stub.UnaryCall(request, {.timeout = kTimeout, .metadata = md});
    SimpleResponse response = co_await call;
    check_payload(response.payload(), 314159, "UnaryCall");
    actio::Metadata initial = co_await call.initial_metadata();
    actio::Metadata trailing = co_await call.trailing_metadata();
    check_echoed(initial, trailing, "UnaryCall");
  }
  auto call = p.stub.FullDuplexCall({.timeout = kTimeout, .metadata = md});
  StreamingOutputCallRequest request = output_request(314159, 271828);
  co_await call.write(request);
  co_await call.done_writing();
  int n = 0;
  while (auto response = co_await call.read()) {
    check_payload(response->payload(), 314159, "FullDuplexCall");
    ++n;
  }
  expect(n == 1, "FullDuplexCall: " + std::to_string(n) + " responses, want 1");
  actio::Metadata initial = co_await call.initial_metadata();
  actio::Metadata trailing = co_await call.trailing_metadata();
  check_echoed(initial, trailing, "FullDuplexCall");
  co_return "";
}

Task<void> check_echoed_status(Peer& p, std::string message, bool also_full_duplex) {
  SimpleRequest request;
  request.mutable_response_status()->set_code(2);
  request.mutable_response_status()->set_message(message);
  auto error = co_await expect_error(p.stub.UnaryCall(request, {.timeout = kTimeout}), "UnaryCall");
  check_error(error, StatusCode::UNKNOWN, "UnaryCall", message);
  if (!also_full_duplex) co_return;
  auto call = p.stub.FullDuplexCall({.timeout = kTimeout});
  StreamingOutputCallRequest stream_request;
  stream_request.mutable_response_status()->set_code(2);
  stream_request.mutable_response_status()->set_message(message);
  co_await call.write(stream_request);
  co_await call.done_writing();
  std::optional<actio::AioRpcError> stream_error;
  try {
    while (co_await call.read()) {
    }
  } catch (const actio::AioRpcError& e) {
    stream_error = e;
  }
  expect(stream_error.has_value(), "FullDuplexCall ended OK, want an error");
  check_error(*stream_error, StatusCode::UNKNOWN, "FullDuplexCall", message);
}

Task<std::string> status_code_and_message(Peer& p) {
  co_await check_echoed_status(p, "test status message", true);
  co_return "";
}

Task<std::string> special_status_message(Peer& p) {
  co_await check_echoed_status(p, "\t\ntest with whitespace\r\nand Unicode BMP \u263A and non-BMP \U0001F608\t\n", false);
  co_return "";
}

Task<std::string> unimplemented_method(Peer& p) {
  Empty request;
  auto error = co_await expect_error(p.stub.UnimplementedCall(request, {.timeout = kTimeout}),
                                     "TestService/UnimplementedCall");
  check_error(error, StatusCode::UNIMPLEMENTED, "TestService/UnimplementedCall");
  co_return "";
}

Task<std::string> unimplemented_service(Peer& p) {
  Empty request;
  auto error = co_await expect_error(p.unimplemented.UnimplementedCall(request, {.timeout = kTimeout}),
                                     "UnimplementedService/UnimplementedCall");
  check_error(error, StatusCode::UNIMPLEMENTED, "UnimplementedService/UnimplementedCall");
  co_return "";
}

struct TestCase {
  const char* name;
  Task<std::string> (*run)(Peer&);
};

// The order of grpc's interop client ("all").
const std::vector<TestCase> kCases = {
    {"empty_unary", empty_unary},
    {"large_unary", large_unary},
    {"client_compressed_unary", client_compressed_unary},
    {"server_compressed_unary", server_compressed_unary},
    {"client_streaming", client_streaming},
    {"client_compressed_streaming", client_compressed_streaming},
    {"server_streaming", server_streaming},
    {"server_compressed_streaming", server_compressed_streaming},
    {"ping_pong", ping_pong},
    {"empty_stream", empty_stream},
    {"cancel_after_begin", cancel_after_begin},
    {"cancel_after_first_response", cancel_after_first_response},
    {"timeout_on_sleeping_server", timeout_on_sleeping_server},
    {"custom_metadata", custom_metadata},
    {"status_code_and_message", status_code_and_message},
    {"special_status_message", special_status_message},
    {"unimplemented_method", unimplemented_method},
    {"unimplemented_service", unimplemented_service},
};

struct Options {
  std::string host = "127.0.0.1";
  int port = 0;
  std::string test_case = "all";
  bool use_tls = false;
  std::string ca_file;
  std::string host_override;
};

actio::Channel make_channel(const Options& o, actio::ChannelArguments args) {
  std::string target = o.host + ":" + std::to_string(o.port);
  actio::ChannelOptions options;
  options.args = std::move(args);
  if (!o.use_tls) return actio::insecure_channel(target, options);
  std::string roots;
  if (!o.ca_file.empty()) {
    std::ifstream in(o.ca_file);
    std::stringstream ss;
    ss << in.rdbuf();
    roots = ss.str();
  }
  if (!o.host_override.empty()) options.args.emplace_back("grpc.ssl_target_name_override", o.host_override);
  return actio::secure_channel(target, actio::ssl_channel_credentials(roots), options);
}

Task<int> run_cases(Options o, std::vector<TestCase> cases) {
  auto channel = make_channel(o, {});
  auto raw_channel = make_channel(o, {{interop::kNoDecompressionArg, 0}});
  Peer peer{channel, raw_channel, grpc::testing::TestServiceStub(channel),
            grpc::testing::UnimplementedServiceStub(channel)};
  int passed = 0, failed = 0;
  for (const TestCase& c : cases) {
    std::optional<std::string> failure;
    std::string note;
    try {
      note = co_await c.run(peer);
    } catch (const Failure& e) {
      failure = e.what();
    } catch (const actio::AioRpcError& e) {
      failure = "unexpected status " + describe(e);
    } catch (const actio::CancelledError& e) {
      failure = std::string("cancelled: ") + e.what();
    } catch (const std::exception& e) {
      failure = std::string("unexpected error: ") + e.what();
    }
    if (failure) {
      ++failed;
      std::cout << "FAIL " << c.name << ": " << *failure << std::endl;
    } else {
      ++passed;
      std::cout << "PASS " << c.name << (note.empty() ? "" : " (" + note + ")") << std::endl;
    }
  }
  co_await channel.close();
  co_await raw_channel.close();
  std::cout << passed << " passed, " << failed << " failed" << std::endl;
  co_return failed == 0 ? 0 : 1;
}

bool parse_bool(const std::string& s) {
  if (s == "true" || s == "1") return true;
  if (s == "false" || s == "0") return false;
  throw CLI::ValidationError("not a boolean: " + s);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Actio gRPC interop client (grpc.testing.TestService test cases)"};
  Options o;
  std::string use_tls = "false";
  app.add_option("--server_host", o.host, "server host (default 127.0.0.1)");
  app.add_option("--server_port", o.port, "server port")->required();
  app.add_option("--test_case", o.test_case, "a test case name, a comma-separated list, or all (default)");
  app.add_option("--use_tls", use_tls, "true: TLS (with --ca_file as the root certificates)");
  app.add_option("--ca_file", o.ca_file, "PEM root certificates for TLS (default: the system roots)");
  app.add_option("--server_host_override", o.host_override, "the server name TLS expects");
  CLI11_PARSE(app, argc, argv);
  try {
    o.use_tls = parse_bool(use_tls);
  } catch (const std::exception& e) {
    std::cerr << "interop_client: --use_tls: " << e.what() << "\n";
    return 2;
  }
  std::vector<TestCase> selected;
  if (o.test_case == "all") {
    selected = kCases;
  } else {
    std::stringstream names(o.test_case);
    for (std::string name; std::getline(names, name, ',');) {
      auto it = std::find_if(kCases.begin(), kCases.end(), [&](const TestCase& c) { return name == c.name; });
      if (it == kCases.end()) {
        std::cerr << "interop_client: unknown test case \"" << name << "\"\n";
        return 2;
      }
      selected.push_back(*it);
    }
  }
  try {
    return actio::run(run_cases(o, selected));
  } catch (const std::exception& e) {
    std::cerr << "interop_client: " << e.what() << std::endl;
    return 1;
  }
}
