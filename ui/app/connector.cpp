#include "connector.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "actio/aio.hpp"
#include "inspect.actio.h"
#include "inspect_reflection.pb.h"

namespace actio::inspector {

namespace v1 = actio::inspect::v1;
using namespace std::chrono_literals;

// -- what both threads share --------------------------------------------------

struct Connector::Shared {
  ConnectorOptions options;

  // Guarded by mu: the queue for the UI, and the loop while it may be used.
  mutable std::mutex mu;
  std::vector<Update> queue;
  bool overflowed = false;  // the queue was dropped: resync when the UI drains
  EventLoop* loop = nullptr;
  bool started = false;  // the loop ran (loop == nullptr after that: it ended)
  bool stopping = false;
  std::vector<std::function<void()>> early;  // posted before the loop ran

  // Network thread only: each target's current watch and resync request,
  // and what reflection was asked (or is to be asked) of its process.
  struct Session {
    std::optional<Call> watch;
    bool resync = false;
    std::optional<int> pid;               // the process of the last snapshot
    std::set<std::string> asked;          // symbols asked of that process (or queued)
    std::deque<std::string> to_describe;  // queued for describe_target
    std::unique_ptr<actio::Event> wake;   // set when something is queued
  };
  std::vector<Session> sessions;
  // Network thread only: invocations waiting for a worker.
  std::deque<OutgoingCall> outgoing;
  std::unique_ptr<actio::Event> outgoing_wake;

  /// Queues an update, stamped with its arrival (`time`, or now). Past
  /// max_waiting the queue is dropped (the UI resyncs when it drains), all
  /// but invocations' results: a fresh snapshot would not bring those back,
  /// and the panel waits for them (one per invocation).
  void push(TargetId target, decltype(Update::what) what, double time = 0) {
    if (time <= 0) time = unix_now();
    const bool result = std::holds_alternative<InvocationResult>(what);
    std::lock_guard lock(mu);
    if (overflowed && !result) return;
    if (queue.size() >= options.max_waiting && !result) {
      overflowed = true;
      std::erase_if(queue, [](const Update& u) { return !std::holds_alternative<InvocationResult>(u.what); });
      return;
    }
    queue.push_back({target, std::move(what), time});
  }

  /// Runs `fn` on the network loop, once it runs and while it runs (returns
  /// false when it ended).
  bool post(std::function<void()> fn) {
    std::lock_guard lock(mu);
    if (!started && !stopping) {
      early.push_back(std::move(fn));
      return true;
    }
    return loop && loop->post(std::move(fn));
  }

  /// Network thread: queues `symbol` for reflection unless asked already.
  void want(Session& s, std::string symbol) {
    if (!options.reflection || symbol.empty() || !s.asked.insert(symbol).second) return;
    s.to_describe.push_back(std::move(symbol));
    if (s.wake) s.wake->set();
  }

  /// Network thread: the session drops its watch and starts again (a fresh
  /// watch, then a snapshot).
  static void resync(Session& s) {
    s.resync = true;
    if (s.watch) s.watch->cancel();
  }

  /// Network thread: every session drops its watch and starts again.
  void resync_all() {
    for (auto& s : sessions) resync(s);
  }
};

namespace {

using Shared = Connector::Shared;

std::string describe(const AioRpcError& e, bool attached) {
  if (!attached && e.code() == StatusCode::DEADLINE_EXCEEDED) return "not reachable (no connection within the timeout)";
  return std::string(to_string(e.code())) + ": " + e.details();
}

/// Network thread: what a snapshot names for reflection (a new process
/// starts over: its descriptors may differ).
void want_services(Shared& shared, Shared::Session& session, const v1::Snapshot& snapshot) {
  if (session.pid && *session.pid != snapshot.pid()) {
    session.asked.clear();
    session.to_describe.clear();
  }
  session.pid = snapshot.pid();
  if (!session.to_describe.empty()) session.wake->set();  // asked (describe()) before the process was known
  for (const auto& e : snapshot.endpoints())
    if (e.kind() == v1::SERVER_ENDPOINT)
      for (const auto& svc : e.services()) shared.want(session, svc);
  for (const auto& c : snapshot.live_calls()) shared.want(session, service_of(c.method()));
  for (const auto& c : snapshot.recent_calls()) shared.want(session, service_of(c.method()));
}

/// Network thread: what an event names for reflection.
void want_services(Shared& shared, Shared::Session& session, const v1::Event& event) {
  if (event.kind_case() == v1::Event::kStarted) shared.want(session, service_of(event.started().method()));
  if (event.kind_case() == v1::Event::kEndpoint && event.endpoint().kind() == v1::SERVER_ENDPOINT)
    for (const auto& svc : event.endpoint().services()) shared.want(session, svc);
}

constexpr const char* kReflectionMethod = "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo";

/// Reflection's answers to `symbols` (one stream, one request each), and the
/// symbols that failed for a passing reason (worth asking again later).
struct Fetched {
  Descriptors batch;
  std::vector<std::string> retry;
};

bool passing(StatusCode code) {
  return code == StatusCode::UNAVAILABLE || code == StatusCode::DEADLINE_EXCEEDED || code == StatusCode::CANCELLED ||
         code == StatusCode::RESOURCE_EXHAUSTED;
}

Task<Fetched> fetch_descriptors(Channel channel, const Metadata& metadata, std::vector<std::string> symbols, int pid,
                                Duration timeout) {
  namespace rw = ::actio::inspect::v1::reflection;
  Fetched out;
  out.batch.pid = pid;
  std::size_t answered = 0;
  try {
    auto info = channel.stream_stream<rw::ServerReflectionRequest, rw::ServerReflectionResponse>(kReflectionMethod);
    CallOptions call_options;
    call_options.timeout = timeout;
    call_options.metadata = metadata;
    auto call = info(call_options);
    for (const auto& symbol : symbols) {
      rw::ServerReflectionRequest request;
      request.set_file_containing_symbol(symbol);
      co_await call.write(request);
      std::optional<rw::ServerReflectionResponse> response = co_await call.read();
      if (!response) break;  // ended early: the rest fail below
      ++answered;
      if (response->has_file_descriptor_response()) {
        for (const auto& file : response->file_descriptor_response().file_descriptor_proto())
          out.batch.files.push_back(file);
        out.batch.described.push_back(symbol);
      } else if (response->has_error_response()) {
        const auto& e = response->error_response();
        out.batch.failed.emplace_back(
            symbol, code_name(e.error_code()) + (e.error_message().empty() ? "" : ": ") + e.error_message());
      } else {
        out.batch.failed.emplace_back(symbol, "reflection answered something else");
      }
    }
    co_await call.done_writing();
    for (;;) {  // to the end of the stream (its status)
      std::optional<rw::ServerReflectionResponse> extra = co_await call.read();
      if (!extra) break;
    }
  } catch (const AioRpcError& e) {
    std::string why = std::string(to_string(e.code())) + (e.details().empty() ? "" : ": " + e.details());
    for (std::size_t i = answered; i < symbols.size(); ++i) {
      out.batch.failed.emplace_back(symbols[i], "reflection: " + why);
      if (passing(e.code())) out.retry.push_back(symbols[i]);
    }
    answered = symbols.size();
  }
  for (std::size_t i = answered; i < symbols.size(); ++i) {
    out.batch.failed.emplace_back(symbols[i], "reflection: the stream ended without an answer");
    out.retry.push_back(symbols[i]);
  }
  co_return out;
}

/// One target's reflection: whatever is queued, in batches, while the
/// process is attached.
Task<void> describe_target(std::shared_ptr<Shared> shared, TargetId id, Channel channel) {
  auto& session = shared->sessions[id];
  Metadata metadata;
  if (!shared->options.token.empty()) metadata.add("authorization", "Bearer " + shared->options.token);
  for (;;) {
    if (session.to_describe.empty() || !session.pid) {
      session.wake->clear();
      co_await session.wake->wait();
      continue;
    }
    std::vector<std::string> symbols(session.to_describe.begin(), session.to_describe.end());
    session.to_describe.clear();
    int pid = *session.pid;
    Fetched fetched =
        co_await fetch_descriptors(channel, metadata, std::move(symbols), pid, shared->options.reflection_timeout);
    if (session.pid == pid)
      for (const auto& s : fetched.retry) session.asked.erase(s);  // asked again when named again
    shared->push(id, std::move(fetched.batch));
  }
}

/// A PEM file an invocation needs: its text, or why it cannot be used.
struct Pem {
  std::string text;
  std::string error;
};

/// Asks OpenSSL no passphrase (an encrypted key is refused, not prompted for).
int no_passphrase(char*, int, int, void*) { return 0; }

/// The certificates in a PEM text (empty when one does not parse).
std::vector<X509*> read_certificates(const std::string& text) {
  std::vector<X509*> out;
  BIO* bio = BIO_new_mem_buf(text.data(), static_cast<int>(text.size()));
  if (!bio) return out;
  ERR_clear_error();
  while (X509* x = PEM_read_bio_X509(bio, nullptr, no_passphrase, nullptr)) out.push_back(x);
  // The end of the text shows as "no start line"; anything else is a certificate that does not parse.
  unsigned long err = ERR_peek_last_error();
  bool clean = err == 0 || (ERR_GET_LIB(err) == ERR_LIB_PEM && ERR_GET_REASON(err) == PEM_R_NO_START_LINE);
  ERR_clear_error();
  BIO_free(bio);
  if (!clean) {
    for (X509* x : out) X509_free(x);
    out.clear();
  }
  return out;
}

Pem read_pem(const std::string& path, const std::string& what, bool private_key) {
  // Read on the network thread: only a regular file, and only so much (a
  // FIFO or /dev/zero typed into the panel must not stall every watch).
  constexpr std::uintmax_t kMaxPemBytes = 1 << 20;
  Pem out;
  std::error_code ec;
  auto status = std::filesystem::status(path, ec);
  if (!ec && std::filesystem::exists(status) && !std::filesystem::is_regular_file(status)) {
    out.error = "the " + what + " file " + path + " is not a regular file";
    return out;
  }
  if (!ec && std::filesystem::is_regular_file(status) && std::filesystem::file_size(path, ec) > kMaxPemBytes) {
    out.error = "the " + what + " file " + path + " is larger than 1 MiB: not a PEM file";
    return out;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    out.error = "cannot read the " + what + " file " + path + ": " + std::strerror(errno);
    return out;
  }
  std::stringstream ss;
  ss << in.rdbuf();
  out.text = ss.str();
  if (private_key) {
    BIO* bio = BIO_new_mem_buf(out.text.data(), static_cast<int>(out.text.size()));
    EVP_PKEY* key = bio ? PEM_read_bio_PrivateKey(bio, nullptr, no_passphrase, nullptr) : nullptr;
    ERR_clear_error();
    if (bio) BIO_free(bio);
    if (!key) out.error = "the " + what + " file " + path + " is not a PEM private key (without a passphrase)";
    EVP_PKEY_free(key);
  } else {
    auto certs = read_certificates(out.text);
    if (certs.empty()) out.error = "the " + what + " file " + path + " is not a PEM certificate";
    for (X509* x : certs) X509_free(x);
  }
  return out;
}

/// Whether the first certificate of `cert_pem` is the one of `key_pem`.
bool certificate_matches_key(const std::string& cert_pem, const std::string& key_pem) {
  auto certs = read_certificates(cert_pem);
  BIO* bio = BIO_new_mem_buf(key_pem.data(), static_cast<int>(key_pem.size()));
  EVP_PKEY* key = bio ? PEM_read_bio_PrivateKey(bio, nullptr, no_passphrase, nullptr) : nullptr;
  bool match = !certs.empty() && key && X509_check_private_key(certs.front(), key) == 1;
  ERR_clear_error();
  EVP_PKEY_free(key);
  if (bio) BIO_free(bio);
  for (X509* x : certs) X509_free(x);
  return match;
}

/// The channel an invocation calls through: plaintext, or TLS with the
/// files it names (or why they cannot be used: `error`).
struct InvokeChannel {
  std::optional<Channel> channel;
  std::string error;
};

InvokeChannel open_channel(const OutgoingCall& call) {
  const InvokeSecurity& sec = call.security;
  InvokeChannel out;
  ChannelOptions options;
  if (!sec.authority.empty())
    options.args.emplace_back(sec.tls ? "grpc.ssl_target_name_override" : "grpc.default_authority", sec.authority);
  if (!sec.tls) {
    out.channel = insecure_channel(call.address, options);
    return out;
  }
  if (sec.cert_file.empty() != sec.key_file.empty()) {
    out.error = "mutual TLS needs both the client certificate and its private key (" +
                std::string(sec.cert_file.empty() ? "no certificate file" : "no key file") + ")";
    return out;
  }
  std::string roots, key, cert;
  if (!sec.ca_file.empty()) {
    Pem ca = read_pem(sec.ca_file, "CA (root certificates)", false);
    if (!ca.error.empty()) return {std::nullopt, ca.error};
    roots = std::move(ca.text);
  }
  if (!sec.cert_file.empty()) {
    Pem c = read_pem(sec.cert_file, "client certificate", false);
    if (!c.error.empty()) return {std::nullopt, c.error};
    Pem k = read_pem(sec.key_file, "client key", true);
    if (!k.error.empty()) return {std::nullopt, k.error};
    if (!certificate_matches_key(c.text, k.text))
      return {std::nullopt, "the client certificate " + sec.cert_file + " is not the one of the key " + sec.key_file};
    cert = std::move(c.text);
    key = std::move(k.text);
  }
  out.channel = secure_channel(call.address, ssl_channel_credentials(roots, key, cert), options);
  return out;
}

/// What a failed TLS call most likely needs (gRPC's details name the
/// handshake's error, not the remedy).
std::string tls_hint(const OutgoingCall& call) {
  const InvokeSecurity& sec = call.security;
  std::string h = " [over TLS to " + call.address;
  if (!sec.authority.empty()) h += " as " + sec.authority;
  h += ", roots: " + (sec.ca_file.empty() ? std::string("the system's") : sec.ca_file);
  h += sec.cert_file.empty() ? ", no client certificate" : ", client certificate " + sec.cert_file;
  h += ": check that the CA signed the server's certificate, that the certificate names the host (or give the "
       "authority), and whether the server wants a client certificate]";
  return h;
}

/// Writes the requests of a streaming-request call in order and half-closes;
/// stops at the first write the call refuses (it ended: its status tells why).
template <class C>
Task<void> write_requests(C call, const std::vector<std::string>* requests, std::size_t* sent) {
  try {
    for (const auto& r : *requests) {
      co_await call.write(r);
      ++*sent;
    }
    co_await call.done_writing();
  } catch (const InvalidStateError&) {
  } catch (const AioRpcError&) {
  }
}

/// Reads a response stream to its end, queueing each reply as it comes.
template <class C>
Task<void> read_replies(C call, std::shared_ptr<Shared> shared, TargetId target, std::uint64_t id) {
  for (;;) {
    std::optional<std::string> reply = co_await call.read();
    if (!reply) break;
    InvocationReply r;
    r.id = id;
    r.bytes = std::move(*reply);
    shared->push(target, std::move(r));
  }
}

/// One invocation: the method called with the raw request bytes (each reply
/// of a response stream queued as it comes), over TLS when asked.
Task<InvocationResult> invoke_one(std::shared_ptr<Shared> shared, OutgoingCall call) {
  InvocationResult result;
  result.id = call.id;
  InvokeChannel opened = open_channel(call);
  if (!opened.channel) {
    result.code = static_cast<int>(StatusCode::INVALID_ARGUMENT);
    result.details = opened.error;
    co_return result;
  }
  Channel channel = *opened.channel;
  CallOptions call_options;
  call_options.timeout = Duration(call.timeout);
  Metadata metadata;
  try {
    for (const auto& [key, value] : call.metadata) metadata.add(key, value);  // a bad key: UsageError
    call_options.metadata = metadata;
    if (call.client_streaming && call.server_streaming) {
      auto multi = channel.stream_stream<std::string, std::string>(call.method);
      auto c = multi(call_options);
      co_await gather(write_requests(c, &call.requests, &result.sent), read_replies(c, shared, call.target, call.id));
    } else if (call.client_streaming) {
      auto multi = channel.stream_unary<std::string, std::string>(call.method);
      auto c = multi(call_options);
      co_await write_requests(c, &call.requests, &result.sent);
      std::string reply = co_await c;
      result.replies.push_back(std::move(reply));
    } else if (call.server_streaming) {
      auto multi = channel.unary_stream<std::string, std::string>(call.method);
      auto c = multi(call.request, call_options);
      result.sent = 1;
      co_await read_replies(c, shared, call.target, call.id);
    } else {
      auto multi = channel.unary_unary<std::string, std::string>(call.method);
      result.sent = 1;
      std::string reply = co_await multi(call.request, call_options);
      result.replies.push_back(std::move(reply));
    }
    result.code = 0;
  } catch (const AioRpcError& e) {
    result.code = static_cast<int>(e.code());
    result.details = e.details();
    if (call.security.tls && e.code() == StatusCode::UNAVAILABLE) result.details += tls_hint(call);
  } catch (const UsageError& e) {
    result.code = static_cast<int>(StatusCode::INVALID_ARGUMENT);
    result.details = e.what();
  }
  co_await channel.close();
  co_return result;
}

/// Takes invocations off the queue, one at a time (several workers run).
Task<void> invoke_worker(std::shared_ptr<Shared> shared) {
  for (;;) {
    if (shared->outgoing.empty()) {
      shared->outgoing_wake->clear();
      co_await shared->outgoing_wake->wait();
      continue;
    }
    OutgoingCall call = std::move(shared->outgoing.front());
    shared->outgoing.pop_front();
    TargetId target = call.target;
    InvocationResult result = co_await invoke_one(shared, std::move(call));
    shared->push(target, std::move(result));
  }
}

/// One target: watch + snapshot + events, again and again.
Task<void> watch_target(std::shared_ptr<Shared> shared, TargetId id, Channel channel) {
  const ConnectorOptions& options = shared->options;
  v1::InspectorStub stub(channel);
  Metadata metadata;
  if (!options.token.empty()) metadata.add("authorization", "Bearer " + options.token);
  auto& session = shared->sessions[id];
  Duration backoff = options.backoff_min;
  bool announce = true;    // push Connecting: at first, and after being attached or a resync
  bool told_lost = false;  // the model was told Lost (with told_error) and nothing since
  std::string told_error;
  std::optional<std::chrono::steady_clock::time_point> last_loss;  // the last resync for lost events

  for (;;) {
    if (announce || session.resync) {
      shared->push(id, Update::Connecting{});
      told_lost = false;
    }
    announce = false;
    session.resync = false;
    bool attached = false;
    bool lost_events = false;  // this watch was not sent some events: it ends in a resync
    std::string error;
    try {
      v1::WatchRequest watch_request;
      watch_request.set_message_head_bytes(options.message_head_bytes);
      watch_request.set_max_calls_per_second(options.max_calls_per_second);
      auto watch = stub.Watch(watch_request, {.metadata = metadata, .wait_for_ready = true});
      session.watch = watch;
      v1::SnapshotRequest snapshot_request;
      v1::Snapshot snapshot = co_await stub.Snapshot(
          snapshot_request, {.timeout = options.snapshot_timeout, .metadata = metadata, .wait_for_ready = true});
      want_services(*shared, session, snapshot);
      std::uint64_t last_seq = snapshot.seq();
      shared->push(id, std::move(snapshot));
      attached = true;
      told_lost = false;
      backoff = options.backoff_min;
      for (;;) {
        std::optional<v1::EventBatch> batch = co_await watch.read();
        if (!batch) break;
        const double arrived = unix_now();  // one time for the batch: a recording keeps it one record
        for (auto& event : *batch->mutable_events()) {
          // seq counts every event of the process: a gap is events this
          // watch (not calls_only) was not sent: the process dropped them,
          // or they came before it joined but after the snapshot. The model would
          // keep calls that never end: the rest comes with a fresh snapshot.
          if (event.seq() > last_seq + 1) {
            lost_events = true;
            break;
          }
          last_seq = std::max(last_seq, event.seq());
          want_services(*shared, session, event);
          shared->push(id, std::move(event), arrived);
        }
        // This watcher's count (from 0 with each watch): dropped, maybe
        // after the last event sent, where no gap shows.
        if (batch->dropped_events() > 0) lost_events = true;
        if (lost_events) {
          Shared::resync(session);
          break;
        }
      }
      if (!lost_events) error = "the process ended the watch";
    } catch (const AioRpcError& e) {
      error = describe(e, attached);
    } catch (const CancelledError&) {
      if (!session.resync) throw;  // the connector stops
    }
    session.watch.reset();
    if (lost_events) {
      // At most one such resync per min_resync_interval: a process that
      // drops events for a watcher as fast as it attaches is not asked for
      // snapshot after snapshot.
      auto now = std::chrono::steady_clock::now();
      if (last_loss && now - *last_loss < options.min_resync_interval)
        co_await actio::sleep(Duration(options.min_resync_interval - (now - *last_loss)));
      last_loss = std::chrono::steady_clock::now();
    }
    if (session.resync) continue;  // at once, announced as connecting
    // Report a loss once per change, not on every attempt while the process is away.
    if (!told_lost || error != told_error) {
      shared->push(id, Update::Lost{error});
      told_lost = true;
      told_error = error;
    }
    announce = attached;
    co_await actio::sleep(backoff);
    backoff = std::min<Duration>(backoff * 2, options.backoff_max);
  }
}

/// One target's loops, actors and counters, asked for every refresh_interval
/// while its watch is on (a cheap snapshot: no calls).
Task<void> refresh_target(std::shared_ptr<Shared> shared, TargetId id, Channel channel) {
  const ConnectorOptions& options = shared->options;
  if (options.refresh_interval.count() <= 0) co_return;
  v1::InspectorStub stub(channel);
  Metadata metadata;
  if (!options.token.empty()) metadata.add("authorization", "Bearer " + options.token);
  auto& session = shared->sessions[id];
  v1::SnapshotRequest request;
  request.set_skip_calls(true);
  for (;;) {
    co_await actio::sleep(options.refresh_interval);
    if (!session.watch) continue;  // not attached: the next snapshot brings everything
    try {
      v1::Snapshot snapshot =
          co_await stub.Snapshot(request, {.timeout = options.snapshot_timeout, .metadata = metadata});
      shared->push(id, Update::Refresh{std::move(snapshot)});
    } catch (const AioRpcError&) {
      // The watch notices a lost process and reconnects; nothing to do here.
    }
  }
}

Task<int> watch_all(std::shared_ptr<Shared> shared, std::vector<std::string> targets) {
  {
    std::lock_guard lock(shared->mu);
    if (shared->stopping) co_return 0;
    shared->loop = &EventLoop::require("actio-inspector");
    shared->started = true;
    // What the UI asked before the loop ran: it runs once the tasks below wait.
    for (auto& fn : shared->early) shared->loop->post(std::move(fn));
    shared->early.clear();
  }
  shared->sessions.resize(targets.size());
  for (auto& s : shared->sessions) s.wake = std::make_unique<actio::Event>();
  shared->outgoing_wake = std::make_unique<actio::Event>();
  ChannelOptions channel_options;
  // Reconnect fast: a restarted process is attached in well under a second.
  channel_options.args = {{"grpc.initial_reconnect_backoff_ms", 100},
                          {"grpc.min_reconnect_backoff_ms", 100},
                          {"grpc.max_reconnect_backoff_ms", 250}};
  std::vector<Task<void>> tasks;
  for (std::size_t i = 0; i < targets.size(); ++i) {
    Channel channel = insecure_channel(targets[i], channel_options);
    tasks.push_back(watch_target(shared, static_cast<TargetId>(i), channel));
    tasks.push_back(describe_target(shared, static_cast<TargetId>(i), channel));
    tasks.push_back(refresh_target(shared, static_cast<TargetId>(i), channel));
  }
  for (int i = 0; i < 4; ++i) tasks.push_back(invoke_worker(shared));
  std::exception_ptr failure;
  try {
    co_await gather(std::move(tasks));  // ends only when stopped (or a target task failed)
  } catch (...) {
    failure = std::current_exception();
  }
  {
    std::lock_guard lock(shared->mu);  // the loop goes away after this: no more posts
    shared->loop = nullptr;
  }
  if (failure) std::rethrow_exception(failure);
  co_return 0;
}

}  // namespace

// -- Connector ------------------------------------------------------------------

Connector::Connector(std::vector<std::string> targets, ConnectorOptions options) : shared_(std::make_shared<Shared>()) {
  shared_->options = options;
  thread_ = std::thread([shared = shared_, targets = std::move(targets)]() mutable {
    try {
      actio::run(watch_all(shared, targets));
    } catch (const CancelledError&) {
      // stop()
    } catch (const std::exception& e) {
      for (TargetId i = 0; i < targets.size(); ++i) shared->push(i, Update::Lost{e.what()});
    }
    std::lock_guard lock(shared->mu);
    shared->loop = nullptr;
  });
}

Connector::~Connector() { stop(); }

void Connector::stop() {
  {
    std::lock_guard lock(shared_->mu);
    shared_->stopping = true;
    // run() then cancels the clients and drains the loop before returning.
    if (shared_->loop) shared_->loop->stop();
    shared_->loop = nullptr;
  }
  if (thread_.joinable()) thread_.join();
}

std::vector<Update> Connector::take() {
  std::vector<Update> out;
  bool resync_now = false;
  {
    std::lock_guard lock(shared_->mu);
    out.swap(shared_->queue);
    resync_now = std::exchange(shared_->overflowed, false);
  }
  if (resync_now) resync();
  return out;
}

std::size_t Connector::drain(Model& model) {
  auto updates = take();
  for (auto& u : updates) apply(model, u);
  return updates.size();
}

std::size_t Connector::waiting() const {
  std::lock_guard lock(shared_->mu);
  return shared_->queue.size();
}

void Connector::resync() {
  shared_->post([shared = shared_] { shared->resync_all(); });
}

void Connector::describe(TargetId id, std::string symbol) {
  shared_->post([shared = shared_, id, symbol = std::move(symbol)]() mutable {
    if (id < shared->sessions.size()) shared->want(shared->sessions[id], std::move(symbol));
  });
}

void Connector::invoke(OutgoingCall call) {
  std::uint64_t id = call.id;
  TargetId target = call.target;
  bool posted = shared_->post([shared = shared_, call = std::move(call)]() mutable {
    shared->outgoing.push_back(std::move(call));
    if (shared->outgoing_wake) shared->outgoing_wake->set();
  });
  if (!posted)
    shared_->push(
        target, InvocationResult{
                    id, static_cast<int>(StatusCode::UNAVAILABLE), "the inspector's network side is not running", {}});
}

}  // namespace actio::inspector
