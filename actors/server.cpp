#include "actio/server.hpp"
#include "actio/inspect.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/impl/server_builder_option.h>
#include <grpcpp/impl/server_builder_plugin.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server_builder.h>

#include <caf/all.hpp>
#include <algorithm>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <future>
#include <iostream>
#include <mutex>
#include <stdexcept>

#include "actio/actors.hpp"
#include "detail/loop_actor.hpp"
#include "detail/server_state.hpp"

namespace actio {
namespace detail {

namespace {

/// Splits "host:port" / "[v6]:port".
std::pair<std::string, std::string> split_address(const std::string& address) {
  auto colon = address.rfind(':');
  if (colon == std::string::npos) throw std::runtime_error("Failed to bind to address " + address + ": no port");
  std::string host = address.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  return {host, address.substr(colon + 1)};
}

/// Binds (then releases) the address as gRPC will, so a busy port fails here,
/// at add_insecure_port, and port 0 becomes a concrete free port. With
/// `reuseport` (the server asked for grpc.so_reuseport) it binds as gRPC
/// then does, so a port other reuseport servers hold is not "busy".
int probe_bind(const std::string& address, bool reuseport) {
  auto [host, port] = split_address(address);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* res = nullptr;
  int rc = getaddrinfo(host.empty() || host == "*" ? nullptr : host.c_str(), port.c_str(), &hints, &res);
  if (rc != 0) throw std::runtime_error("Failed to bind to address " + address + ": " + gai_strerror(rc));
  int fd = socket(res->ai_family, res->ai_socktype, res->ai_protocol);
  if (fd < 0) {
    freeaddrinfo(res);
    throw std::runtime_error("Failed to bind to address " + address + ": " + std::strerror(errno));
  }
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (reuseport) setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  if (bind(fd, res->ai_addr, res->ai_addrlen) != 0) {
    int err = errno;
    close(fd);
    freeaddrinfo(res);
    throw std::runtime_error("Failed to bind to address " + address + ": " + std::strerror(err));
  }
  freeaddrinfo(res);
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
  close(fd);
  if (ss.ss_family == AF_INET6) return ntohs(reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port);
  return ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
}

}  // namespace

// -- ActioService ---------------------------------------------------------------

namespace {
/// "/pkg.Service/" of "/pkg.Service/Method".
std::string service_prefix(const std::string& method) {
  auto slash = method.rfind('/');
  return slash == std::string::npos ? std::string() : method.substr(0, slash + 1);
}

/// Per-server choice of grpc++ builder plugins: linking grpc++_reflection
/// registers its plugin for every server in the process; this keeps it only
/// where ServerOptions::reflection asks for it.
class PluginsOption final : public grpc::ServerBuilderOption {
 public:
  explicit PluginsOption(bool reflection) : reflection_(reflection) {}
  void UpdateArguments(grpc::ChannelArguments*) override {}
  void UpdatePlugins(std::vector<std::unique_ptr<grpc::ServerBuilderPlugin>>* plugins) override {
    std::erase_if(*plugins, [](const auto& p) { return p->name() == "proto_server_reflection"; });
    if (reflection_) plugins->push_back(std::make_unique<grpc::reflection::ProtoServerReflectionPlugin>());
  }

 private:
  bool reflection_;
};
}  // namespace

ActioService::ActioService(const std::vector<const std::string*>& method_names, const std::vector<RpcKind>& kinds) {
  int i = 0;
  for (const std::string* name : method_names) {
    // Stream-request methods are served as bidi streams (the wire is the same).
    auto type = kinds[i] == RpcKind::unary_stream   ? grpc::internal::RpcMethod::SERVER_STREAMING
                : kinds[i] == RpcKind::unary_unary  ? grpc::internal::RpcMethod::NORMAL_RPC
                                                    : grpc::internal::RpcMethod::BIDI_STREAMING;
    // gRPC keeps the name pointer: it points into ServerState::method_names_.
    AddMethod(new grpc::internal::RpcServiceMethod(name->c_str(), type, nullptr));
    MarkMethodAsync(i++);
  }
}

// -- ServerLoop -----------------------------------------------------------------

ServerLoop::ServerLoop(ServerState& server, int index, std::unique_ptr<grpc::ServerCompletionQueue> cq)
    : server_(&server), index_(index), owned_cq_(std::move(cq)), scq_(owned_cq_.get()) {}

ServerLoop::~ServerLoop() { stop_and_join(); }

void ServerLoop::start() {
  std::promise<void> ready;
  auto started = ready.get_future();
  thread_ = std::thread([this, &ready] {
    EventLoop loop(std::move(owned_cq_));
    if (auto interval = server_->options().background_poll_interval) loop.set_poll_interval(*interval);
    loop_ = &loop;
    for (int m = 0; m < server_->method_count(); ++m) {
      for (int k = 0; k < server_->options().accepts_per_method; ++k) accept(m);
    }
    ready.set_value();
    loop.run();
    finish_handlers(loop);
    // ~EventLoop drains the accepts that the grpc server shutdown failed.
  });
  started.wait();
}

void ServerLoop::stop_and_join() {
  if (thread_.joinable()) {
    loop_->stop();
    thread_.join();
  }
}

void ServerLoop::accept(int index) {
  if (load_.size() <= static_cast<std::size_t>(index)) load_.resize(static_cast<std::size_t>(index) + 1);
  ++load_[static_cast<std::size_t>(index)].outstanding;
  (new ServerCall(*this, index))->request();
}

void ServerLoop::accepted(int index, bool got_call) {
  auto& l = load_[static_cast<std::size_t>(index)];
  --l.outstanding;
  if (!got_call) return;  // the server is shutting down
  ++l.running;
  if (!server_->accepting()) return;
  int target = std::clamp(l.running, server_->options().accepts_per_method,
                          std::max(kMaxAcceptsPerMethod, server_->options().accepts_per_method));
  do {
    accept(index);
  } while (l.outstanding < target);
}

void ServerLoop::call_ended(int index) noexcept { --load_[static_cast<std::size_t>(index)].running; }

void ServerLoop::handler_started(ServerCall* call) noexcept { handlers_.push_front(call); }

void ServerLoop::handler_ended(ServerCall* call) noexcept {
  handlers_.erase(call);
  if (handlers_.empty() && draining_) loop_->stop();
}

void ServerLoop::finish_handlers(EventLoop& loop) {
  if (handlers_.empty()) return;
  // The server has shut down: gRPC cancelled what outlived the grace, and
  // the loop stopped, maybe before those cancels reached every handler.
  // Cancel those they did not reach (a handler cancels once: one that caught
  // the cancel may be awaiting its cleanup), and let them end.
  draining_ = true;
  std::vector<ServerCall*> running;
  for (ServerCall* c = handlers_.front(); c; c = handlers_.next(c)) running.push_back(c);
  for (ServerCall* c : running) c->cancel_handler();
  TimerId timer = loop.call_later(kHandlerExitTimeout, [&loop] { loop.stop(); });
  if (!handlers_.empty()) loop.run();
  loop.cancel_timer(timer);
  if (handlers_.empty()) return;
  // Some handler swallowed the cancel and awaits on. Its coroutine is
  // destroyed, as the loop ends: first the work already scheduled runs (a
  // resumption queued for a destroyed frame would touch freed memory).
  for (int i = 0; i < 1000 && loop.stats().ready > 0; ++i) loop.run_once(false);
  if (loop.stats().ready > 0) {
    std::cerr << "actio: " << handlers_.size()
              << " server handler(s) kept running after the server stopped; left as they are" << std::endl;
    return;
  }
  while (ServerCall* c = handlers_.front()) c->abandon_handler();
}

// -- ServerState ----------------------------------------------------------------

ServerState::ServerState(EventLoop& home, ServerOptions options) : home_(&home), options_(std::move(options)) {
  if (options_.loops < 1) throw UsageError("ServerOptions::loops must be at least 1");
  if (options_.maximum_concurrent_rpcs && *options_.maximum_concurrent_rpcs <= 0) {
    throw UsageError("maximum_concurrent_rpcs must be positive");
  }
  hook_id_ = home_->add_shutdown_hook([this] {
    hook_id_ = 0;
    actor_.reset();
    stop_blocking(std::chrono::system_clock::now());
  });
}

ServerState::~ServerState() {
  if (hook_id_) home_->remove_shutdown_hook(hook_id_);
  stop_blocking(std::chrono::system_clock::now());
}

bool ServerState::reuseport() const {
  for (const auto& [k, v] : options_.args) {
    if (k != GRPC_ARG_ALLOW_REUSEPORT) continue;
    const int* i = std::get_if<int>(&v);
    return i && *i != 0;
  }
  return false;
}

int ServerState::add_port(const std::string& address, std::shared_ptr<grpc::ServerCredentials> credentials) {
  if (phase_ != Phase::created) throw UsageError("add_insecure_port must be called before start()");
  int port = probe_bind(address, reuseport());
  auto [host, _] = split_address(address);
  std::string bracketed = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  addresses_.push_back(bracketed + ":" + std::to_string(port));
  port_tls_.push_back(credentials != nullptr);  // add_secure_port (ssl_server_credentials)
  port_credentials_.push_back(credentials ? std::move(credentials) : grpc::InsecureServerCredentials());
  ports_.push_back(port);
  return port;
}

void ServerState::add_handlers(const std::vector<GenericRpcHandler>& handlers) {
  if (phase_ != Phase::created) throw UsageError("add_generic_rpc_handlers must be called before start()");
  for (const auto& h : handlers) {
    for (const auto& [name, handler] : h.methods) {
      if (!handler.invoke) throw UsageError("handler for " + name + " is empty");
      handlers_[name] = handler;
    }
  }
}

void ServerState::start() {
  if (phase_ == Phase::running) return;
  if (phase_ != Phase::created) throw UsageError("Server not in ready state");
  if (addresses_.empty()) throw UsageError("Server has no port: call add_insecure_port before start()");
  for (const auto& [name, handler] : handlers_) {
    method_names_.push_back(name);
    method_handlers_.push_back(&handler);
  }
  // One gRPC service per proto service: methods are grouped by their
  // "/pkg.Service/" prefix (method_names_ is sorted, so groups are contiguous).
  for (std::size_t first = 0; first < method_names_.size();) {
    std::string prefix = service_prefix(method_names_[first]);
    std::size_t last = first;
    std::vector<const std::string*> names;
    std::vector<RpcKind> kinds;
    while (last < method_names_.size() && service_prefix(method_names_[last]) == prefix) {
      names.push_back(&method_names_[last]);
      kinds.push_back(method_handlers_[last]->kind);
      ++last;
    }
    services_.push_back(std::make_unique<ActioService>(names, kinds));
    for (std::size_t i = first; i < last; ++i) slots_.emplace_back(services_.back().get(), static_cast<int>(i - first));
    first = last;
  }
  grpc::ServerBuilder builder;
  builder.SetOption(std::make_unique<PluginsOption>(options_.reflection));
  // Off unless asked for: a busy port is then an error (grpc.aio's default
  // shares it silently).
  if (!reuseport()) builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  for (const auto& [k, v] : options_.args) {
    const int* i = std::get_if<int>(&v);
    if (i && k == GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH) {
      builder.SetMaxReceiveMessageSize(*i);
    } else if (i && k == GRPC_ARG_MAX_SEND_MESSAGE_LENGTH) {
      builder.SetMaxSendMessageSize(*i);
    } else if (i) {
      builder.AddChannelArgument(k, *i);
    } else {
      builder.AddChannelArgument(k, std::get<std::string>(v));
    }
  }
  std::vector<int> selected(addresses_.size(), 0);
  for (std::size_t i = 0; i < addresses_.size(); ++i) {
    builder.AddListeningPort(addresses_[i], port_credentials_[i], &selected[i]);
  }
  for (auto& service : services_) builder.RegisterService(service.get());
  std::vector<std::unique_ptr<grpc::ServerCompletionQueue>> cqs;
  for (int i = 0; i < options_.loops; ++i) cqs.push_back(builder.AddCompletionQueue());
  {
    // grpc++ reads a process-wide flag for its default health service: set it
    // for this build only.
    static std::mutex health_flag;
    std::lock_guard<std::mutex> lock(health_flag);
    bool before = grpc::DefaultHealthCheckServiceEnabled();
    grpc::EnableDefaultHealthCheckService(options_.health_checking);
    server_ = builder.BuildAndStart();
    grpc::EnableDefaultHealthCheckService(before);
  }
  for (std::size_t i = 0; i < selected.size(); ++i) {
    if (!server_ || selected[i] == 0) {
      server_.reset();
      phase_ = Phase::stopped;
      throw std::runtime_error("Failed to bind to address " + addresses_[i]);
    }
  }
  phase_ = Phase::running;
  if (inspected_) {
    endpoint_ = inspect::endpoint_added(inspect::EndpointRecord::Kind::server, join_addresses(), home_->id());
    if (endpoint_) {
      {
        std::lock_guard<std::mutex> lock(endpoint_->mu);
        for (const auto& name : method_names_) {
          auto svc = service_prefix(name);
          if (svc.size() >= 2) svc = svc.substr(1, svc.size() - 2);  // "/pkg.Svc/" -> "pkg.Svc"
          if (endpoint_->services.empty() || endpoint_->services.back() != svc) endpoint_->services.push_back(svc);
        }
        for (std::size_t i = 0; i < addresses_.size(); ++i)
          if (port_tls_[i]) endpoint_->tls_addresses.push_back(addresses_[i]);
      }
      inspect::endpoint_state(*endpoint_, "running");
    }
  }
  for (int i = 0; i < options_.loops; ++i) {
    loops_.push_back(std::make_unique<ServerLoop>(*this, i, std::move(cqs[i])));
    loops_.back()->start();
  }
}

void ServerState::stop_blocking(std::chrono::system_clock::time_point deadline) {
  accepting_.store(false, std::memory_order_release);
  if (stopper_.joinable()) {
    set_stop_deadline(std::chrono::steady_clock::now());
    if (server_) grpc_server_cancel_all_calls(server_->c_server());
    stopper_.join();
  } else if (server_) {
    set_stop_deadline(std::chrono::steady_clock::now() +
                      std::chrono::duration_cast<SteadyTime::duration>(deadline - std::chrono::system_clock::now()));
    server_->Shutdown(deadline);
    for (auto& l : loops_) l->stop_and_join();
  }
  finish_stop();
}

void ServerState::finish_stop() {
  if (phase_ == Phase::stopped && !server_) return;
  loops_.clear();
  server_.reset();
  phase_ = Phase::stopped;
  if (endpoint_) inspect::endpoint_removed(std::exchange(endpoint_, nullptr));
  home_->cancel_timer(std::exchange(cancel_timer_, {}));
  terminated_.set();
}

Task<void> ServerState::stop(std::optional<Duration> grace) {
  auto keep = shared_from_this();
  auto g = std::chrono::duration_cast<std::chrono::steady_clock::duration>(grace.value_or(Duration(0)));
  if (g < std::chrono::steady_clock::duration::zero()) g = {};
  auto deadline = std::chrono::steady_clock::now() + g;
  switch (phase_) {
    case Phase::created:
      phase_ = Phase::stopped;
      accepting_.store(false);
      terminated_.set();
      co_return;
    case Phase::stopped:
      co_return;
    case Phase::running: {
      phase_ = Phase::stopping;
      if (endpoint_) inspect::endpoint_state(*endpoint_, "stopping");
      accepting_.store(false, std::memory_order_release);
      set_stop_deadline(deadline);
      auto sys_deadline = std::chrono::system_clock::now() + g;
      std::weak_ptr<ServerState> weak = keep;
      EventLoop* home = home_;
      // grpc::Server::Shutdown blocks until calls end: run it off the loop.
      stopper_ = std::thread([this, sys_deadline, weak, home] {
        server_->Shutdown(sys_deadline);
        for (auto& l : loops_) l->stop_and_join();
        home->post([weak] {
          if (auto self = weak.lock()) {
            if (self->stopper_.joinable()) self->stopper_.join();
            self->finish_stop();
          }
        });
      });
      break;
    }
    case Phase::stopping:
      if (deadline < stop_deadline()) {
        // A shorter grace wins: cancel everything when it runs out.
        set_stop_deadline(deadline);
        home_->cancel_timer(cancel_timer_);
        cancel_timer_ = home_->call_later(std::chrono::duration_cast<Duration>(g), [this] {
          cancel_timer_ = {};
          if (server_) grpc_server_cancel_all_calls(server_->c_server());
        });
      }
      break;
  }
  while (!terminated_.is_set()) co_await terminated_.wait();
}

Task<bool> ServerState::wait_for_termination(std::optional<Duration> timeout) {
  auto keep = shared_from_this();
  if (terminated_.is_set()) co_return false;
  if (!timeout) {
    co_await terminated_.wait();
    co_return false;
  }
  bool set = co_await terminated_.wait_for(*timeout);
  co_return !set;
}

std::string ServerState::join_addresses() const {
  std::string out;
  for (const auto& a : addresses_) out += (out.empty() ? "" : ",") + a;
  return out;
}

caf::actor ServerState::actor() {
  if (!actor_) {
    std::weak_ptr<ServerState> weak = weak_from_this();
    actor_ = std::make_unique<LoopActor>(
        *home_, caf::behavior{
                    [this, weak](stop_atom, double grace_s) -> caf::result<bool> {
                      auto self = weak.lock();
                      if (!self) return true;
                      auto rp = actor_->self()->make_response_promise<bool>();
                      [](std::shared_ptr<ServerState> s, double g, caf::typed_response_promise<bool> p)
                          -> Detached {
                        co_await s->stop(Duration(g));
                        p.deliver(true);
                      }(self, grace_s, rp);
                      return rp;
                    },
                    [this](port_atom) { return ports_; },
                    [this](health_atom, const std::string& service, bool serving) -> caf::result<bool> {
                      try {
                        set_serving_status(service, serving);
                      } catch (const UsageError& e) {
                        return grpc_error(static_cast<int>(StatusCode::FAILED_PRECONDITION), e.what());
                      }
                      return true;
                    },
                },
        "server", join_addresses());
  }
  return actor_->handle();
}

}  // namespace detail

// -- free functions and the Server handle ----------------------------------------

GenericRpcHandler method_handlers_generic_handler(const std::string& service,
                                                  std::map<std::string, RpcMethodHandler> handlers) {
  GenericRpcHandler out;
  for (auto& [name, handler] : handlers) out.methods["/" + service + "/" + name] = std::move(handler);
  return out;
}

void Server::check(const char* what) const {
  if (!state_) throw UsageError(std::string(what) + " on an empty Server handle");
  state_->home().check_thread(what);
}

int Server::add_insecure_port(const std::string& address) {
  check("Server::add_insecure_port");
  return state_->add_insecure_port(address);
}

int Server::add_secure_port(const std::string& address, const ServerCredentials& credentials) {
  check("Server::add_secure_port");
  if (!credentials.creds) throw UsageError("add_secure_port needs credentials (ssl_server_credentials)");
  return state_->add_port(address, credentials.creds);
}

ServerCredentials ssl_server_credentials(const std::vector<std::pair<std::string, std::string>>& key_cert_pairs,
                                         const std::string& root_certificates, bool require_client_auth) {
  grpc::SslServerCredentialsOptions opts(require_client_auth
                                             ? GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY
                                             : GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  opts.pem_root_certs = root_certificates;
  for (const auto& [key, cert] : key_cert_pairs) opts.pem_key_cert_pairs.push_back({key, cert});
  return {grpc::SslServerCredentials(opts)};
}

void Server::add_generic_rpc_handlers(const std::vector<GenericRpcHandler>& handlers) {
  check("Server::add_generic_rpc_handlers");
  state_->add_handlers(handlers);
}

Task<void> Server::start() {
  check("Server::start");
  state_->start();
  co_return;
}

void Server::set_serving_status(const std::string& service, bool serving) {
  check("Server::set_serving_status");
  state_->set_serving_status(service, serving);
}

void detail::ServerState::set_serving_status(const std::string& service, bool serving) {
  if (!options_.health_checking) throw UsageError("set_serving_status needs ServerOptions::health_checking");
  if (phase_ != Phase::running || !server_ || !server_->GetHealthCheckService())
    throw UsageError("set_serving_status needs a running server");
  server_->GetHealthCheckService()->SetServingStatus(service, serving);
}

Task<void> Server::stop(std::optional<Duration> grace) {
  check("Server::stop");
  return state_->stop(grace);
}

Task<bool> Server::wait_for_termination(std::optional<Duration> timeout) {
  check("Server::wait_for_termination");
  return state_->wait_for_termination(timeout);
}

caf::actor Server::actor() const {
  check("Server::actor");
  return state_->actor();
}

namespace {
std::atomic<int> g_signal{0};
extern "C" void actio_record_signal(int sig) { g_signal.store(sig); }
}  // namespace

Task<int> serve_until_signal(Server server, std::optional<Duration> grace) {
  g_signal.store(0);
  struct sigaction act {};
  act.sa_handler = actio_record_signal;
  sigemptyset(&act.sa_mask);
  struct sigaction old_int {}, old_term {};
  sigaction(SIGINT, &act, &old_int);
  sigaction(SIGTERM, &act, &old_term);
  struct Restore {
    struct sigaction a, b;
    ~Restore() {
      sigaction(SIGINT, &a, nullptr);
      sigaction(SIGTERM, &b, nullptr);
    }
  } restore{old_int, old_term};
  // A signal handler may not touch the loop: poll the flag (every 50 ms).
  while (g_signal.load() == 0) {
    if (!co_await server.wait_for_termination(Duration(0.05))) co_return 0;
  }
  co_await server.stop(grace);
  co_return g_signal.load();
}

Server server(ServerOptions options) {
  auto& loop = EventLoop::require("actio::server");
  inspect::start_from_environment();
  for (std::size_t i = 0; i < options.interceptors.size(); ++i) {
    if (!options.interceptors[i]) throw UsageError("ServerOptions::interceptors[" + std::to_string(i) + "] is null");
  }
  return Server(std::make_shared<detail::ServerState>(loop, std::move(options)));
}

}  // namespace actio
