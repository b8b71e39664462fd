// The TLS client (grpc's examples/python/auth: tls_client.py and
// token_based_auth_client.py, in grpc.aio style): calls the Greeter over TLS
// with and without an access token, without the target-name override, and
// over mutual TLS with and without a client certificate.
#include <CLI/CLI.hpp>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "actio/aio.hpp"
#include "helloworld.actio.h"

using namespace std::chrono_literals;

std::string slurp(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read " + path.string());
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

/// One SayHello; prints "<label>: <reply>" or "<label>: <CODE> <details>".
actio::Task<bool> say_hello(std::string label, const actio::Channel& channel,
                            std::shared_ptr<actio::CallCredentials> token) {
  helloworld::GreeterStub stub(channel);
  helloworld::HelloRequest request;
  request.set_name("you");
  try {
    helloworld::HelloReply reply;
    if (token) {
      // Per-call credentials, as grpc.aio's `credentials=` argument.
      reply = co_await stub.SayHello(request, {.timeout = 5s, .credentials = token});
    } else {
      reply = co_await stub.SayHello(request, {.timeout = 5s});
    }
    std::cout << label << ": " << reply.message() << "\n";
    co_return true;
  } catch (const actio::AioRpcError& e) {
    std::cout << label << ": " << actio::to_string(e.code()) << " " << e.details() << "\n";
    co_return false;
  }
}

// [client]
actio::Task<int> run_client(std::string target, std::string mtls_target, std::string certs, std::string name) {
  namespace fs = std::filesystem;
  std::string ca = slurp(fs::path(certs) / "ca.pem");
  std::string client_key = slurp(fs::path(certs) / "client.key");
  std::string client_cert = slurp(fs::path(certs) / "client.pem");
  std::cout << "TLS to " << target << ", mutual TLS to " << mtls_target << ", trusting " << certs << "/ca.pem\n";

  // The server's certificate names `name`, not 127.0.0.1: tell gRPC which
  // name to check (Python: options=(("grpc.ssl_target_name_override", name),)).
  actio::ChannelOptions override_name;
  override_name.args.push_back({"grpc.ssl_target_name_override", name});
  // Python: grpc.access_token_call_credentials("...") — here given per call.
  auto token = actio::access_token_call_credentials("sample-oauth2-token");
  std::shared_ptr<actio::CallCredentials> no_token;

  // 1. TLS: the channel trusts our CA (Python: grpc.ssl_channel_credentials(root_certificates)).
  auto tls = actio::secure_channel(target, actio::ssl_channel_credentials(ca), override_name);
  bool tls_no_token = co_await say_hello("TLS without a token", tls, no_token);
  bool ok_tls = co_await say_hello("TLS with a token", tls, token);

  // 2. The same without the override: the certificate does not match 127.0.0.1.
  auto unchecked = actio::secure_channel(target, actio::ssl_channel_credentials(ca));
  bool tls_wrong_name = co_await say_hello("TLS without the target name override", unchecked, token);

  // 3. Mutual TLS: the channel also shows our client certificate.
  auto mutual = actio::secure_channel(mtls_target, actio::ssl_channel_credentials(ca, client_key, client_cert),
                                      override_name);
  bool ok_mutual = co_await say_hello("mutual TLS with a token", mutual, token);
  auto anonymous = actio::secure_channel(mtls_target, actio::ssl_channel_credentials(ca), override_name);
  bool mutual_no_cert = co_await say_hello("mutual TLS without a client certificate", anonymous, token);

  co_await tls.close();
  co_await unchecked.close();
  co_await mutual.close();
  co_await anonymous.close();
  // Expected: only the calls with a token over a properly checked connection succeed.
  bool as_expected = !tls_no_token && ok_tls && !tls_wrong_name && ok_mutual && !mutual_no_cert;
  std::cout << (as_expected ? "all five outcomes as expected" : "an outcome was not as expected") << "\n";
  co_return as_expected ? 0 : 1;
}
// [client]

int main(int argc, char** argv) {
  std::string target = "localhost:50051", certs, mtls_target, name = "greeter.actio.test";
  CLI::App app{"Actio TLS client: TLS, mutual TLS and access tokens"};
  app.add_option("--target", target, "the server's TLS address");
  app.add_option("--certs", certs, "the directory the server printed (\"certs in DIR\")")->required();
  app.add_option("--mtls-target", mtls_target, "the mutual-TLS address (default: DIR/mtls_target)");
  app.add_option("--name", name, "the name in the server's certificate (grpc.ssl_target_name_override)");
  CLI11_PARSE(app, argc, argv);
  try {
    if (mtls_target.empty()) {
      std::istringstream in(slurp(std::filesystem::path(certs) / "mtls_target"));
      in >> mtls_target;
    }
    return actio::run(run_client(target, mtls_target, certs, name));
  } catch (const std::exception& e) {
    std::cerr << "tls_client: " << e.what() << std::endl;
    return 1;
  }
}
