// TLS, mutual TLS and per-call credentials, with throwaway certificates made
// by openssl at test time (none are committed).
#include <fstream>
#include <sstream>

#include "test_util.hpp"

namespace {

using namespace actio;
using namespace actio::testing;

struct Certs {
  std::string ca, server_key, server_cert, client_key, client_cert;
};

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

/// A CA, a server certificate for localhost / 127.0.0.1 and a client certificate.
const Certs& certs() {
  static const Certs c = [] {
    std::string dir = ::testing::TempDir() + "actio_tls_" + std::to_string(getpid());
    std::string script = "set -e; mkdir -p " + dir + "; cd " + dir +
                         "; openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 1"
                         " -subj '/CN=Actio Test CA' 2>/dev/null"
                         "; openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr"
                         " -subj '/CN=localhost' 2>/dev/null"
                         "; echo 'subjectAltName=DNS:localhost,IP:127.0.0.1' > server.ext"
                         "; openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial"
                         " -out server.pem -days 1 -extfile server.ext 2>/dev/null"
                         "; openssl req -newkey rsa:2048 -nodes -keyout client.key -out client.csr"
                         " -subj '/CN=actio-client' 2>/dev/null"
                         "; echo 'subjectAltName=DNS:actio-client' > client.ext"
                         "; openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial"
                         " -out client.pem -days 1 -extfile client.ext 2>/dev/null";
    if (std::system(("bash -c \"" + script + "\"").c_str()) != 0) throw std::runtime_error("openssl failed");
    Certs out{slurp(dir + "/ca.pem"), slurp(dir + "/server.key"), slurp(dir + "/server.pem"),
              slurp(dir + "/client.key"), slurp(dir + "/client.pem")};
    std::system(("rm -rf " + dir).c_str());
    return out;
  }();
  return c;
}

/// Runs `body(channel_target, port)` with a TLS server serving /test.Svc/Who,
/// which answers with what it knows of the peer.
template <class Body>
void with_tls_server(bool require_client_auth, Body body) {
  const Certs& c = certs();
  auto who = raw([](const std::string&, ServicerContext& ctx) -> Task<std::string> {
    auto auth = ctx.auth_context();
    std::string out = auth["transport_security_type"].empty() ? "?" : auth["transport_security_type"][0];
    for (const auto& id : ctx.peer_identities()) out += " id=" + id;
    if (auto key = ctx.peer_identity_key(); !key.empty()) out += " key=" + key;
    if (auto token = ctx.invocation_metadata().get("authorization")) out += " auth=" + *token;
    co_return out;
  });
  actio::run([&]() -> Task<void> {
    auto srv = server();
    srv.add_generic_rpc_handlers({method_handlers_generic_handler("test.Svc", {{"Who", who}})});
    int port = srv.add_secure_port(
        "127.0.0.1:0", ssl_server_credentials({{c.server_key, c.server_cert}}, c.ca, require_client_auth));
    co_await srv.start();
    co_await body("localhost:" + std::to_string(port), port);
    co_await srv.stop(0s);
  }());
}

TEST(Tls, Behaviour_109_SecureCallsWithTheServersCertificate) {
  with_tls_server(false, [](std::string target, int port) -> Task<void> {
    auto ch = secure_channel(target, ssl_channel_credentials(certs().ca));
    auto who = ch.unary_unary<std::string, std::string>("/test.Svc/Who");
    EXPECT_EQ(co_await who(""), "ssl");
    // Per-call access token credentials travel as "authorization: Bearer ...".
    auto token = access_token_call_credentials("secret-token");
    EXPECT_EQ(co_await who("", {.credentials = token}), "ssl auth=Bearer secret-token");
    // A plaintext client cannot talk to the TLS port.
    auto plain = insecure_channel("127.0.0.1:" + std::to_string(port));
    auto plain_who = plain.unary_unary<std::string, std::string>("/test.Svc/Who");
    auto e = co_await expect_rpc_error(plain_who("", {.timeout = 5s}));
    EXPECT_EQ(e.code(), StatusCode::UNAVAILABLE);
  });
}

TEST(Tls, MutualTlsShowsTheClientIdentityAndRefusesClientsWithout) {
  with_tls_server(true, [](std::string target, int) -> Task<void> {
    const Certs& c = certs();
    auto ch = secure_channel(target, ssl_channel_credentials(c.ca, c.client_key, c.client_cert));
    auto who = ch.unary_unary<std::string, std::string>("/test.Svc/Who");
    auto answer = co_await who("");
    EXPECT_NE(answer.find("id=actio-client"), std::string::npos) << answer;
    EXPECT_NE(answer.find(" key=x509_"), std::string::npos) << answer;  // the property naming the identities
    auto anonymous = secure_channel(target, ssl_channel_credentials(c.ca));
    auto anon_who = anonymous.unary_unary<std::string, std::string>("/test.Svc/Who");
    auto e = co_await expect_rpc_error(anon_who("", {.timeout = 5s}));
    EXPECT_EQ(e.code(), StatusCode::UNAVAILABLE);
  });
}

TEST(Tls, Behaviour_059_ABusyPortIsAClearErrorForASecurePortToo) {
  const Certs& c = certs();
  actio::run([&c]() -> Task<void> {
    auto first = server();
    int port = first.add_insecure_port("127.0.0.1:0");
    first.add_generic_rpc_handlers({method_handlers_generic_handler("test.Svc", {{"Echo", echo()}})});
    co_await first.start();
    auto second = server();
    try {
      second.add_secure_port("127.0.0.1:" + std::to_string(port), ssl_server_credentials({{c.server_key, c.server_cert}}));
      ADD_FAILURE() << "bound a busy port";
    } catch (const std::runtime_error& e) {
      EXPECT_NE(std::string(e.what()).find("Failed to bind to address"), std::string::npos) << e.what();
    }
    co_await first.stop(0s);
  }());
}

TEST(Tls, Behaviour_008_CallCredentialsOnAnInsecureChannelAreAUsageError) {
  with_server({{"Echo", echo()}}, [](Fixture& f) -> Task<void> {
    auto token = access_token_call_credentials("t");
    try {
      (void)f.method("Echo")("x", {.credentials = token});
      ADD_FAILURE() << "accepted";
    } catch (const UsageError& e) {
      EXPECT_STREQ(e.what(), "Call credentials are only valid on secure channels");
    }
    co_return;
  });
}

}  // namespace
