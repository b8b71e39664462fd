// The TLS server (grpc's examples/python/auth: tls_server.py and
// token_based_auth_server.py, in grpc.aio style): the helloworld Greeter on
// two TLS ports — one plain TLS, one mutual TLS (clients must show a
// certificate signed by our CA) — and every call must carry an access token.
//
// The certificates are throwaway: made with openssl at start-up in a fresh
// temporary directory (printed as "certs in DIR" so a client can find the CA
// and its own certificate there) and deleted when the server exits.
#include <CLI/CLI.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "actio/aio.hpp"
#include "helloworld.actio.h"

using namespace std::chrono_literals;
using helloworld::HelloReply;
using helloworld::HelloRequest;

/// The name the server certificate is made for. It is not 127.0.0.1, so
/// clients must set the "grpc.ssl_target_name_override" channel argument.
const std::string kServerName = "greeter.actio.test";
/// The access token every call must carry ("authorization: Bearer <token>").
const std::string kToken = "sample-oauth2-token";

std::string slurp(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read " + path.string());
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// [certs]
/// A temporary directory holding a throwaway CA, a server certificate for
/// kServerName and a client certificate for "actio-client"; removed with the object.
class ThrowawayCerts {
 public:
  ThrowawayCerts() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "actio_tls_XXXXXX").string();
    if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
    dir_ = tmpl;
    // -days 1, 2048-bit RSA; the CA key is deleted once both certificates are signed.
    std::string script =
        "set -e; cd '" + dir_.string() + "'\n"
        "openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 1 -subj '/CN=Actio sample CA'\n"
        "openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj '/CN=" + kServerName + "'\n"
        "echo 'subjectAltName=DNS:" + kServerName + "' > server.ext\n"
        "openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 1"
        " -extfile server.ext\n"
        "openssl req -newkey rsa:2048 -nodes -keyout client.key -out client.csr -subj '/CN=actio-client'\n"
        "echo 'subjectAltName=DNS:actio-client' > client.ext\n"
        "openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out client.pem -days 1"
        " -extfile client.ext\n"
        "rm -f ca.key ca.srl server.csr server.ext client.csr client.ext\n";
    std::string log = (dir_ / "openssl.log").string();
    int rc = run_script(script, log);
    if (rc != 0) {
      std::string why = slurp(log);
      remove();
      throw std::runtime_error("openssl failed:\n" + why);
    }
    std::filesystem::remove(log);
  }
  ~ThrowawayCerts() { remove(); }
  ThrowawayCerts(const ThrowawayCerts&) = delete;
  ThrowawayCerts& operator=(const ThrowawayCerts&) = delete;

  const std::filesystem::path& dir() const { return dir_; }
  std::string read(const char* name) const { return slurp(dir_ / name); }

 private:
  static int run_script(const std::string& script, const std::string& log) {
    std::string path = log + ".sh";
    std::ofstream(path) << script;
    int rc = std::system(("sh '" + path + "' > '" + log + "' 2>&1").c_str());
    std::filesystem::remove(path);
    return rc;
  }
  void remove() {
    if (dir_.empty()) return;
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
    dir_.clear();
  }
  std::filesystem::path dir_;
};
// [certs]

// [servicer]
class Greeter final : public helloworld::GreeterServicer {
 public:
  actio::Task<HelloReply> SayHello(const HelloRequest& request, actio::ServicerContext& context) override {
    // The token check the Python example does in a server interceptor.
    auto token = context.invocation_metadata().get("authorization");
    if (!token || *token != "Bearer " + kToken) {
      std::cout << "tls_server: refused a call without a valid token" << std::endl;
      context.abort(actio::StatusCode::UNAUTHENTICATED, "Invalid token");
    }
    // What the TLS handshake established about the client.
    auto auth = context.auth_context();
    const auto& security = auth["transport_security_type"];
    auto identities = context.peer_identities();
    std::string how = "over " + (security.empty() ? std::string("?") : security[0]) + "; ";
    how += identities.empty() ? "no client certificate" : "client certificate: " + identities[0];
    std::cout << "tls_server: SayHello from " << context.peer() << " (" << how << ")" << std::endl;
    HelloReply reply;
    reply.set_message("Hello, " + request.name() + "! (" + how + ")");
    co_return reply;
  }
};
// [servicer]

// [serve]
actio::Task<int> serve(int port, const ThrowawayCerts& certs) {
  std::string key = certs.read("server.key"), cert = certs.read("server.pem"), ca = certs.read("ca.pem");
  auto server = actio::server();
  helloworld::add_GreeterServicer_to_server(std::make_shared<Greeter>(), server);
  // Plain TLS: the server proves who it is; clients stay anonymous.
  auto tls = actio::ssl_server_credentials({{key, cert}});
  int tls_port = server.add_secure_port("127.0.0.1:" + std::to_string(port), tls);
  // Mutual TLS: clients must present a certificate signed by our CA.
  auto mutual = actio::ssl_server_credentials({{key, cert}}, ca, /*require_client_auth=*/true);
  int mtls_port = server.add_secure_port("127.0.0.1:0", mutual);
  std::ofstream(certs.dir() / "mtls_target") << "127.0.0.1:" << mtls_port << "\n";
  co_await server.start();
  std::cout << "tls_server: certificate for " << kServerName << "; mutual TLS on 127.0.0.1:" << mtls_port
            << " (also in mtls_target)" << std::endl;
  std::cout << "tls_server: certs in " << certs.dir().string() << std::endl;
  std::cout << "tls_server: listening on 127.0.0.1:" << tls_port << std::endl;
  co_await actio::serve_until_signal(server, 1s);
  co_return 0;
}
// [serve]

int main(int argc, char** argv) {
  CLI::App app{"Actio TLS server: TLS, mutual TLS and access tokens, with throwaway certificates"};
  int port = 50051;
  app.add_option("--port", port, "TLS port to listen on (0 picks a free one); mutual TLS takes a free port");
  CLI11_PARSE(app, argc, argv);
  try {
    int rc;
    {
      ThrowawayCerts certs;  // removed at the end of this block, however it ends
      rc = actio::run(serve(port, certs));
    }
    std::cout << "tls_server: stopped, certificates deleted" << std::endl;
    return rc;
  } catch (const std::exception& e) {
    std::cerr << "tls_server: " << e.what() << std::endl;
    return 1;
  }
}
