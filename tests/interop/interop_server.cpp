// The gRPC interop test server (grpc.testing.TestService) on Actio: the
// server side of doc/interop-test-descriptions.md in the grpc repository.
//
//   interop_server --port N [--use_tls false]
//   interop_server --port N --use_tls true --tls_cert_file server.pem --tls_key_file server.key
//
// Prints "interop_server: listening on 127.0.0.1:PORT" once serving and
// stops gracefully on SIGTERM/SIGINT. Its twin in Python is
// tests/interop/python/interop_server.py; tests/interop/README.md lists what
// each method does.
#include <grpcpp/support/byte_buffer.h>

#include <CLI/CLI.hpp>
#include <fstream>
#include <iostream>
#include <sstream>

#include "grpc/testing/test.actio.h"
#include "interop_common.hpp"

namespace {

using namespace std::chrono_literals;
using actio::ServicerContext;
using actio::StatusCode;
using actio::Task;
using grpc::testing::Empty;
using grpc::testing::ResponseParameters;
using grpc::testing::SimpleRequest;
using grpc::testing::SimpleResponse;
using grpc::testing::StreamingInputCallRequest;
using grpc::testing::StreamingInputCallResponse;
using grpc::testing::StreamingOutputCallRequest;
using grpc::testing::StreamingOutputCallResponse;

/// A received message's bytes as they came off the wire (the server runs with
/// gRPC's decompression off, see interop_common.hpp).
std::string wire_bytes(const grpc::ByteBuffer& buffer) {
  std::vector<grpc::Slice> slices;
  (void)buffer.Dump(&slices);
  std::string out;
  for (const auto& s : slices) out.append(reinterpret_cast<const char*>(s.begin()), s.size());
  return out;
}

/// CompressedRequest: a request that says whether it was sent compressed
/// must have been; INVALID_ARGUMENT otherwise.
void check_expected_compression(const grpc::testing::BoolValue* expect, const grpc::ByteBuffer& wire,
                                ServicerContext& context) {
  if (!expect) return;
  bool compressed = interop::arrived_compressed(wire_bytes(wire));
  if (expect->value() && !compressed) {
    context.abort(StatusCode::INVALID_ARGUMENT, "Expected a compressed request, got an uncompressed one");
  }
  if (!expect->value() && compressed) {
    context.abort(StatusCode::INVALID_ARGUMENT, "Expected an uncompressed request, got a compressed one");
  }
}

/// Echo Status: a request with a non-OK response_status ends the call with it.
template <class Req>
void maybe_echo_status(const Req& request, ServicerContext& context) {
  if (request.has_response_status() && request.response_status().code() != 0) {
    context.abort(actio::status_code_from_int(request.response_status().code()),
                  request.response_status().message());
  }
}

/// Only COMPRESSABLE payloads exist; anything else is refused as the spec says.
template <class Req>
void check_response_type(const Req& request, ServicerContext& context) {
  if (request.response_type() != grpc::testing::COMPRESSABLE) {
    context.abort(StatusCode::INVALID_ARGUMENT, "Unsupported response_type");
  }
}

/// Echo Metadata: x-grpc-test-echo-initial goes back in the initial metadata
/// (sent now), x-grpc-test-echo-trailing-bin in the trailing metadata.
Task<void> echo_metadata(ServicerContext& context) {
  const actio::Metadata& in = context.invocation_metadata();
  if (auto trailing = in.get(interop::kEchoTrailingKey)) {
    actio::Metadata md;
    md.add(interop::kEchoTrailingKey, *trailing);
    context.set_trailing_metadata(md);
  }
  if (auto initial = in.get(interop::kEchoInitialKey)) {
    actio::Metadata md;
    md.add(interop::kEchoInitialKey, *initial);
    co_await context.send_initial_metadata(md);
  }
}

/// Writes the response `params` asks for: after interval_us, size zeros,
/// uncompressed unless params.compressed (the call's compression is gzip
/// whenever a response may be compressed).
Task<void> write_response(const ResponseParameters& params, ServicerContext& context) {
  if (params.interval_us() > 0) co_await actio::sleep(actio::Duration(params.interval_us() / 1e6));
  StreamingOutputCallResponse response;
  *response.mutable_payload() = interop::zeros(params.size());
  if (!params.compressed().value()) context.disable_next_message_compression();
  co_await context.write(response);
}

bool any_compressed(const StreamingOutputCallRequest& request) {
  for (const auto& p : request.response_parameters())
    if (p.compressed().value()) return true;
  return false;
}

class TestService final : public grpc::testing::TestServiceServicer {
 public:
  /// EmptyCall: the empty message back.
  Task<Empty> EmptyCall(const Empty&, ServicerContext& context) override {
    co_await echo_metadata(context);
    co_return Empty{};
  }

  /// UnaryCall: response_size zeros, compressed iff response_compressed.
  Task<SimpleResponse> UnaryCall(const SimpleRequest& request, ServicerContext& context) override {
    // Compression first: it cannot change once the initial metadata went out.
    if (request.response_compressed().value()) context.set_compression(actio::Compression::Gzip);
    co_await echo_metadata(context);
    check_expected_compression(request.has_expect_compressed() ? &request.expect_compressed() : nullptr,
                               context.request_buffer_(), context);
    maybe_echo_status(request, context);
    check_response_type(request, context);
    SimpleResponse response;
    *response.mutable_payload() = interop::zeros(request.response_size());
    co_return response;
  }

  /// StreamingOutputCall: one response per ResponseParameters.
  Task<void> StreamingOutputCall(const StreamingOutputCallRequest& request, ServicerContext& context) override {
    if (any_compressed(request)) context.set_compression(actio::Compression::Gzip);
    co_await echo_metadata(context);
    maybe_echo_status(request, context);
    check_response_type(request, context);
    for (const auto& params : request.response_parameters()) co_await write_response(params, context);
  }

  /// StreamingInputCall: the sum of the request payload sizes, at half-close.
  Task<StreamingInputCallResponse> StreamingInputCall(actio::RequestStream<StreamingInputCallRequest>& requests,
                                                      ServicerContext& context) override {
    co_await echo_metadata(context);
    int total = 0;
    while (auto request = co_await requests.read()) {
      check_expected_compression(request->has_expect_compressed() ? &request->expect_compressed() : nullptr,
                                 context.read_buffer_(), context);
      total += static_cast<int>(request->payload().body().size());
    }
    StreamingInputCallResponse response;
    response.set_aggregated_payload_size(total);
    co_return response;
  }

  /// FullDuplexCall: each request answered as it arrives. Which responses a
  /// client wants compressed is known only per request, after the initial
  /// metadata went out, so the call compresses with gzip and every response
  /// not asked compressed goes out with disable_next_message_compression().
  Task<void> FullDuplexCall(actio::RequestStream<StreamingOutputCallRequest>& requests,
                            ServicerContext& context) override {
    context.set_compression(actio::Compression::Gzip);
    co_await echo_metadata(context);
    while (auto request = co_await requests.read()) {
      maybe_echo_status(*request, context);
      check_response_type(*request, context);
      for (const auto& params : request->response_parameters()) co_await write_response(params, context);
    }
  }

  /// HalfDuplexCall: every request first, then the responses in order.
  Task<void> HalfDuplexCall(actio::RequestStream<StreamingOutputCallRequest>& requests,
                            ServicerContext& context) override {
    std::vector<StreamingOutputCallRequest> all;
    while (auto request = co_await requests.read()) all.push_back(std::move(*request));
    bool compress = false;
    for (const auto& r : all) compress = compress || any_compressed(r);
    if (compress) context.set_compression(actio::Compression::Gzip);
    co_await echo_metadata(context);
    for (const auto& request : all) {
      maybe_echo_status(request, context);
      check_response_type(request, context);
      for (const auto& params : request.response_parameters()) co_await write_response(params, context);
    }
  }

  // UnimplementedCall is left to the generated default: UNIMPLEMENTED.
};

/// add_TestServiceServicer_to_server, with request codecs that inflate
/// messages themselves (the server runs with gRPC's decompression off so that
/// it can tell compressed requests apart; the generated registration uses the
/// plain protobuf codec).
void add_test_service(std::shared_ptr<TestService> s, actio::Server& server) {
  using interop::inflating_codec;
  server.add_generic_rpc_handlers({actio::method_handlers_generic_handler(
      grpc::testing::kTestServiceServiceName,
      {
          {"EmptyCall", actio::unary_unary_rpc_method_handler<Empty, Empty>(
                            [s](const Empty& r, ServicerContext& c) { return s->EmptyCall(r, c); },
                            inflating_codec<Empty>())},
          {"UnaryCall", actio::unary_unary_rpc_method_handler<SimpleRequest, SimpleResponse>(
                            [s](const SimpleRequest& r, ServicerContext& c) { return s->UnaryCall(r, c); },
                            inflating_codec<SimpleRequest>())},
          {"StreamingOutputCall",
           actio::unary_stream_rpc_method_handler<StreamingOutputCallRequest, StreamingOutputCallResponse>(
               [s](const StreamingOutputCallRequest& r, ServicerContext& c) { return s->StreamingOutputCall(r, c); },
               inflating_codec<StreamingOutputCallRequest>())},
          {"StreamingInputCall",
           actio::stream_unary_rpc_method_handler<StreamingInputCallRequest, StreamingInputCallResponse>(
               [s](actio::RequestStream<StreamingInputCallRequest>& r, ServicerContext& c) {
                 return s->StreamingInputCall(r, c);
               },
               inflating_codec<StreamingInputCallRequest>())},
          {"FullDuplexCall",
           actio::stream_stream_rpc_method_handler<StreamingOutputCallRequest, StreamingOutputCallResponse>(
               [s](actio::RequestStream<StreamingOutputCallRequest>& r, ServicerContext& c) {
                 return s->FullDuplexCall(r, c);
               },
               inflating_codec<StreamingOutputCallRequest>())},
          {"HalfDuplexCall",
           actio::stream_stream_rpc_method_handler<StreamingOutputCallRequest, StreamingOutputCallResponse>(
               [s](actio::RequestStream<StreamingOutputCallRequest>& r, ServicerContext& c) {
                 return s->HalfDuplexCall(r, c);
               },
               inflating_codec<StreamingOutputCallRequest>())},
          {"UnimplementedCall", actio::unary_unary_rpc_method_handler<Empty, Empty>(
                                    [s](const Empty& r, ServicerContext& c) { return s->UnimplementedCall(r, c); },
                                    inflating_codec<Empty>())},
      })});
}

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct Tls {
  std::string cert_file, key_file;  // empty: plaintext
};

Task<int> serve(int port, Tls tls) {
  actio::ServerOptions options;
  options.args.emplace_back(interop::kNoDecompressionArg, 0);
  auto server = actio::server(options);
  add_test_service(std::make_shared<TestService>(), server);
  std::string address = "127.0.0.1:" + std::to_string(port);
  int bound = tls.cert_file.empty()
                  ? server.add_insecure_port(address)
                  : server.add_secure_port(address, actio::ssl_server_credentials(
                                                        {{slurp(tls.key_file), slurp(tls.cert_file)}}));
  co_await server.start();
  std::cout << "interop_server: listening on 127.0.0.1:" << bound << std::endl;
  co_await actio::serve_until_signal(server, 1s);
  co_return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Actio gRPC interop server (grpc.testing.TestService)"};
  int port = 0;
  std::string use_tls = "false";
  Tls tls;
  app.add_option("--port", port, "port on 127.0.0.1 (0 picks a free one)");
  app.add_option("--use_tls", use_tls, "true: TLS with --tls_cert_file / --tls_key_file")
      ->check(CLI::IsMember({"true", "false"}));
  app.add_option("--tls_cert_file", tls.cert_file, "PEM certificate chain for TLS");
  app.add_option("--tls_key_file", tls.key_file, "PEM private key for TLS");
  CLI11_PARSE(app, argc, argv);
  if (use_tls == "true" && (tls.cert_file.empty() || tls.key_file.empty())) {
    std::cerr << "interop_server: --use_tls true needs --tls_cert_file and --tls_key_file\n";
    return 2;
  }
  if (use_tls == "false") tls = {};
  try {
    int rc = actio::run(serve(port, tls));
    std::cout << "interop_server: stopped" << std::endl;
    return rc;
  } catch (const std::exception& e) {
    std::cerr << "interop_server: " << e.what() << std::endl;
    return 1;
  }
}
