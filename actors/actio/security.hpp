#pragma once
/// TLS credentials for channels and servers, and per-call credentials
/// (grpc.ssl_channel_credentials, grpc.ssl_server_credentials,
/// grpc.access_token_call_credentials).

#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace grpc {
class ChannelCredentials;
class ServerCredentials;
class CallCredentials;
}  // namespace grpc

namespace actio {

/// Channel-side TLS credentials.
struct ChannelCredentials {
  std::shared_ptr<grpc::ChannelCredentials> creds;
};

/// Server-side TLS credentials.
struct ServerCredentials {
  std::shared_ptr<grpc::ServerCredentials> creds;
};

/// Per-call credentials (secure channels only).
class CallCredentials {
 public:
  explicit CallCredentials(std::shared_ptr<grpc::CallCredentials> creds) : creds_(std::move(creds)) {}
  const std::shared_ptr<grpc::CallCredentials>& get() const noexcept { return creds_; }

 private:
  std::shared_ptr<grpc::CallCredentials> creds_;
};

/// TLS for a channel: PEM root certificates (empty: the system roots), and
/// for mutual TLS the client's private key and certificate chain.
ChannelCredentials ssl_channel_credentials(const std::string& root_certificates = {},
                                           const std::string& private_key = {},
                                           const std::string& certificate_chain = {});

/// TLS for a server: (private key, certificate chain) pairs in PEM; with
/// `require_client_auth`, clients must present a certificate signed by
/// `root_certificates` (mutual TLS).
ServerCredentials ssl_server_credentials(const std::vector<std::pair<std::string, std::string>>& key_cert_pairs,
                                         const std::string& root_certificates = {},
                                         bool require_client_auth = false);

/// An OAuth2 access token sent as "authorization: Bearer <token>" per call.
std::shared_ptr<CallCredentials> access_token_call_credentials(const std::string& token);

}  // namespace actio
