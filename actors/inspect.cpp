// The Inspector service: serves the registry (detail/registry.hpp) as
// actio.inspect.v1.Inspector on a loop and thread of its own.
#include "actio/inspect.hpp"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/descriptor.pb.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <iostream>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <arpa/inet.h>
#include <unistd.h>

#include "actio/aio.hpp"
#include "detail/channel_state.hpp"
#include "detail/inspect_encode.hpp"
#include "detail/loop_actor.hpp"
#include "detail/registry.hpp"
#include "detail/server_state.hpp"
#include "inspect.actio.h"
#include "inspect_reflection.pb.h"

namespace actio::inspect {

namespace v1 = ::actio::inspect::v1;
namespace rw = ::actio::inspect::v1::reflection;
namespace reg = ::actio::detail::inspect;
namespace pb = ::google::protobuf;

bool redacted(const std::string& key, const Options& options) {
  for (const auto& k : options.show_keys) {
    if (k == key) return false;
  }
  if (key == "authorization" || key == "cookie" || key == "set-cookie" || key == "proxy-authorization") return true;
  return Metadata::is_binary_key(key);
}

namespace {

std::string program_name() {
  char buf[4096];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return "?";
  std::string path(buf, static_cast<std::size_t>(n));
  auto slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

/// How long a woken watch waits for more events before sending its batch.
constexpr Duration kBatchWindow = std::chrono::milliseconds(5);
/// How often every loop is asked for its call summaries (and for its
/// summarized calls that ran long) while calls may be summarized.
constexpr auto kSummaryInterval = std::chrono::milliseconds(100);

class InspectorService final : public v1::InspectorServicer {
 public:
  explicit InspectorService(Options options)
      : options_(std::move(options)), encoder_(std::make_shared<encode::Encoder>(options_)) {}

  Task<v1::Snapshot> Snapshot(const v1::SnapshotRequest& request, ServicerContext&) override {
    // The seq before the loops are asked: every later event is sent to the
    // watchers, though some are already in the copies (applying them again
    // is harmless; missing one, e.g. a status, would not be).
    // While calls are copied, summaries wait (reg::snapshot_started): a
    // call copied here and counted in a summary is either in one before
    // this seq or marked as counted in one after it, never both.
    struct Bracket {
      Bracket() { reg::snapshot_started(); }
      ~Bracket() { reg::snapshot_ended(); }
    };
    std::optional<Bracket> bracket;
    if (!request.skip_calls()) bracket.emplace();
    std::uint64_t seq = reg::last_seq();
    auto loops = co_await ask_loops(!request.skip_calls());
    bracket.reset();
    auto s = reg::snapshot();
    v1::Snapshot out;
    out.set_seq(seq);
    out.set_time(s.time);
    out.set_pid(static_cast<int>(::getpid()));
    out.set_process(program_name());
    std::vector<const reg::CallView*> live, recent;
    auto ended = reg::ended_loops_calls();  // a stopped server's calls, say
    for (const auto& c : ended) recent.push_back(&c);
    std::uint32_t self = EventLoop::require("Inspector.Snapshot").id();
    auto actors = detail::loop_actors();
    std::sort(actors.begin(), actors.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
    for (const auto& [index, answer] : loops) {
      for (const auto& c : answer.calls.live) live.push_back(&c);
      for (const auto& c : answer.calls.recent) recent.push_back(&c);
      auto* l = out.add_loops();
      l->set_index(index);
      l->set_name(index == self ? "loop " + std::to_string(index) + " (inspector)" : "loop " + std::to_string(index));
      l->set_ready_queue(static_cast<std::uint32_t>(answer.stats.ready));
      l->set_inbox(static_cast<std::uint32_t>(answer.stats.inbox));
      l->set_pending_ops(static_cast<std::uint32_t>(answer.stats.pending_ops));
      l->set_live_calls(static_cast<std::uint32_t>(answer.calls.live_count));
      for (const auto& a : actors) {
        if (a.loop != index) continue;
        auto* out_actor = l->add_actors();
        out_actor->set_id(a.id);
        out_actor->set_kind(a.kind);
        out_actor->set_name(a.name);
        out_actor->set_waiting(a.waiting);
        out_actor->set_handled(a.handled);
      }
    }
    std::sort(live.begin(), live.end(), [](auto* a, auto* b) { return a->id < b->id; });
    // The newest finished calls of all loops, oldest first.
    std::sort(recent.begin(), recent.end(), [](auto* a, auto* b) { return a->end_time < b->end_time; });
    std::size_t keep = reg::recent_capacity();
    if (recent.size() > keep) recent.erase(recent.begin(), recent.end() - static_cast<std::ptrdiff_t>(keep));
    for (const auto* c : live) encode::fill(out.add_live_calls(), *c, options_);
    for (const auto* c : recent) encode::fill(out.add_recent_calls(), *c, options_);
    for (const auto& e : s.endpoints) encode::fill(out.add_endpoints(), e);
    out.set_dropped_events(s.dropped);
    co_return out;
  }

  struct LoopAnswer {
    EventLoop::Stats stats;
    reg::LoopCalls calls;
  };

  /// Asks every loop in the process for its queue depths and copies of its
  /// calls (each answers on its own thread, where its records live); a loop
  /// busy for more than 200 ms is left out.
  static Task<std::map<std::uint32_t, LoopAnswer>> ask_loops(bool copy_calls) {
    struct Gather {
      std::mutex mu;
      std::map<std::uint32_t, LoopAnswer> got;
      int waiting = 0;
      bool posted_all = false;
      EventLoop* home = nullptr;
      actio::Event done;  // set on `home`
    };
    auto g = std::make_shared<Gather>();
    g->home = &EventLoop::require("Inspector.Snapshot");
    EventLoop::for_each_loop([&g, copy_calls](EventLoop& l) {
      {
        std::lock_guard<std::mutex> lock(g->mu);
        ++g->waiting;
      }
      bool posted = l.post([g, &l, copy_calls] {
        LoopAnswer answer{l.stats(), reg::local_calls(copy_calls)};
        bool last = false;
        {
          std::lock_guard<std::mutex> lock(g->mu);
          g->got[l.id()] = std::move(answer);
          last = --g->waiting == 0 && g->posted_all;
        }
        if (last) g->home->post([g] { g->done.set(); });
      });
      if (!posted) {
        std::lock_guard<std::mutex> lock(g->mu);
        --g->waiting;
      }
    });
    bool all_in = false;
    {
      std::lock_guard<std::mutex> lock(g->mu);
      g->posted_all = true;
      all_in = g->waiting == 0;
    }
    if (!all_in) co_await g->done.wait_for(Duration(0.2));
    std::lock_guard<std::mutex> lock(g->mu);
    co_return g->got;
  }

  Task<void> Watch(const v1::WatchRequest& request, ServicerContext& context) override {
    auto watcher = reg::add_watcher(EventLoop::require("Inspector.Watch"), encoder_, request.message_head_bytes(),
                                    request.calls_only(), request.max_calls_per_second());
    struct Leave {
      std::shared_ptr<reg::Watcher> w;
      ~Leave() { reg::remove_watcher(w); }
    } leave{watcher};
    // Headers go out at once, so a client knows the watch is on.
    Metadata none;
    co_await context.send_initial_metadata(none);
    // One message per batch: the events arrive serialized and framed as
    // EventBatch.events; the batch is those bytes plus dropped_events.
    // Every call (max_calls_per_second 0): after a wake, a short wait lets a
    // busy process fill the batch; and as this loop looks into its queue
    // once per background poll interval (20 ms), each write's completion
    // takes up to that: one message per 5-25 ms. With a rate, the watch
    // runs on its own clock instead: every kSummaryInterval it asks every
    // loop for its summaries (their events come in the next batch) and sends
    // what is queued; nothing wakes this loop or the watcher in between.
    const bool timed = request.max_calls_per_second() != 0;
    std::string spare;
    for (;;) {
      if (timed) {
        co_await sleep(kSummaryInterval);
        if (reg::max_calls_per_second() != 0) {
          EventLoop::for_each_loop([](EventLoop& l) { l.post([] { reg::flush_summaries(); }); });
        }
      } else {
        co_await watcher->ready().wait();
        co_await sleep(kBatchWindow);
      }
      std::size_t events = 0;
      std::string batch = watcher->take(events, std::move(spare));
      if (events == 0) {
        spare = std::move(batch);
        continue;
      }
      batch.push_back('\x10');  // EventBatch.dropped_events (field 2, varint)
      reg::put_varint(batch, watcher->dropped());
      co_await context.write(batch);
      spare = std::move(batch);
    }
  }

 private:
  Options options_;
  std::shared_ptr<const encode::Encoder> encoder_;
};

/// gRPC server reflection (grpc.reflection.v1alpha.ServerReflection) as an
/// ordinary Actio handler on the inspection server, so that it goes through
/// the server's interceptors (the token) and runs on the inspector's own loop.
/// It answers from the process's generated descriptor pool — every service
/// and message linked into the program — as grpc++'s own service does: a
/// file comes with the files it imports, transitively; an unknown name is an
/// error_response with NOT_FOUND; each response echoes the request and its
/// host. The messages are Actio's wire-identical copies
/// (inspect_reflection.proto): grpc++_reflection's classes hold the real names.
class ReflectionService {
 public:
  static constexpr const char* kService = "grpc.reflection.v1alpha.ServerReflection";
  static constexpr const char* kMethod = "ServerReflectionInfo";

  /// `server` lists the services (its method table is read-only once it
  /// runs, and it outlives its handlers, this one included).
  explicit ReflectionService(const detail::ServerState* server) : server_(server) {}

  rw::ServerReflectionResponse answer(const rw::ServerReflectionRequest& request) const {
    rw::ServerReflectionResponse response;
    Outcome status;
    switch (request.message_request_case()) {
      case rw::ServerReflectionRequest::kFileByFilename:
        status = file_by_name(request.file_by_filename(), response);
        break;
      case rw::ServerReflectionRequest::kFileContainingSymbol:
        status = file_containing_symbol(request.file_containing_symbol(), response);
        break;
      case rw::ServerReflectionRequest::kFileContainingExtension:
        status = file_containing_extension(request.file_containing_extension(), response);
        break;
      case rw::ServerReflectionRequest::kAllExtensionNumbersOfType:
        status = extension_numbers(request.all_extension_numbers_of_type(), response);
        break;
      case rw::ServerReflectionRequest::kListServices:
        list_services(response);
        break;
      case rw::ServerReflectionRequest::MESSAGE_REQUEST_NOT_SET:
        status = Outcome{StatusCode::UNIMPLEMENTED, ""};
        break;
    }
    if (status.code != StatusCode::OK) {
      auto* error = response.mutable_error_response();
      error->set_error_code(static_cast<int>(status.code));
      error->set_error_message(status.message);
    }
    response.set_valid_host(request.host());
    *response.mutable_original_request() = request;
    return response;
  }

  /// The bidi handler: one response per request, in order, until the client
  /// half-closes; then OK.
  static Task<void> info(std::shared_ptr<const ReflectionService> self,
                         RequestStream<rw::ServerReflectionRequest>& requests, ServicerContext& context) {
    while (auto request = co_await requests.read()) {
      rw::ServerReflectionResponse response = self->answer(*request);
      co_await context.write(response);
    }
  }

  /// Registers the handler on `srv` (which must not have started).
  static void add_to(Server& srv) {
    auto self = std::make_shared<const ReflectionService>(srv.state().get());
    auto handler =
        stream_stream_rpc_method_handler<rw::ServerReflectionRequest, rw::ServerReflectionResponse>(
            [self](RequestStream<rw::ServerReflectionRequest>& requests, ServicerContext& context) {
              return info(self, requests, context);
            });
    srv.add_generic_rpc_handlers({method_handlers_generic_handler(kService, {{kMethod, std::move(handler)}})});
  }

 private:
  struct Outcome {
    StatusCode code = StatusCode::OK;
    std::string message;
  };

  static const pb::DescriptorPool& pool() { return *pb::DescriptorPool::generated_pool(); }

  /// `file` and everything it imports, transitively, each file once, the
  /// file itself first (an importer before what it imports).
  static void add_files(const pb::FileDescriptor* file, rw::ServerReflectionResponse& response) {
    auto* out = response.mutable_file_descriptor_response();
    std::set<std::string> sent;
    std::vector<const pb::FileDescriptor*> todo{file};
    while (!todo.empty()) {
      const pb::FileDescriptor* f = todo.back();
      todo.pop_back();
      if (!sent.insert(f->name()).second) continue;
      pb::FileDescriptorProto proto;
      f->CopyTo(&proto);
      proto.SerializeToString(out->add_file_descriptor_proto());
      // Depth first, in import order: the first import is taken next.
      for (int i = f->dependency_count() - 1; i >= 0; --i) todo.push_back(f->dependency(i));
    }
  }

  static Outcome file_by_name(const std::string& name, rw::ServerReflectionResponse& response) {
    const pb::FileDescriptor* file = pool().FindFileByName(name);
    if (!file) return {StatusCode::NOT_FOUND, "File not found."};
    add_files(file, response);
    return {};
  }

  static Outcome file_containing_symbol(const std::string& symbol, rw::ServerReflectionResponse& response) {
    const pb::FileDescriptor* file = pool().FindFileContainingSymbol(symbol);
    if (!file) return {StatusCode::NOT_FOUND, "Symbol not found."};
    add_files(file, response);
    return {};
  }

  static Outcome file_containing_extension(const rw::ExtensionRequest& request,
                                          rw::ServerReflectionResponse& response) {
    const pb::Descriptor* type = pool().FindMessageTypeByName(request.containing_type());
    if (!type) return {StatusCode::NOT_FOUND, "Type not found."};
    const pb::FieldDescriptor* extension = pool().FindExtensionByNumber(type, request.extension_number());
    if (!extension) return {StatusCode::NOT_FOUND, "Extension not found."};
    add_files(extension->file(), response);
    return {};
  }

  static Outcome extension_numbers(const std::string& type_name, rw::ServerReflectionResponse& response) {
    const pb::Descriptor* type = pool().FindMessageTypeByName(type_name);
    if (!type) return {StatusCode::NOT_FOUND, "Type not found."};
    std::vector<const pb::FieldDescriptor*> extensions;
    pool().FindAllExtensions(type, &extensions);
    auto* out = response.mutable_all_extension_numbers_response();
    out->set_base_type_name(type_name);
    for (const auto* e : extensions) out->add_extension_number(e->number());
    return {};
  }

  /// This server's services, from the paths of its methods ("/pkg.Svc/M"),
  /// in the order it registered them with gRPC.
  void list_services(rw::ServerReflectionResponse& response) const {
    auto* out = response.mutable_list_services_response();
    std::string last;
    for (int i = 0; i < server_->method_count(); ++i) {
      const std::string& path = server_->method_name(i);
      auto slash = path.find('/', 1);
      if (path.empty() || path[0] != '/' || slash == std::string::npos) continue;
      std::string service = path.substr(1, slash - 1);
      if (service == last) continue;
      out->add_service()->set_name(service);
      last = std::move(service);
    }
  }

  const detail::ServerState* server_;
};

/// Refuses calls without the bearer token.
class TokenCheck final : public ServerInterceptor {
 public:
  explicit TokenCheck(std::string token) : expected_("Bearer " + std::move(token)) {}
  std::string name() const override { return "inspector-token"; }
  Task<std::optional<RpcMethodHandler>> intercept_service(ServerContinuation continuation,
                                                          HandlerCallDetails details) override {
    if (details.invocation_metadata.get("authorization") != expected_) {
      co_return rejecting_handler(details.kind, StatusCode::UNAUTHENTICATED, "inspector token required");
    }
    co_return co_await continuation(std::move(details));
  }

 private:
  std::string expected_;
};

/// The host part of HOST:PORT, without IPv6 brackets.
std::string host_of(const std::string& address) {
  auto colon = address.rfind(':');
  std::string host = colon == std::string::npos ? address : address.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  return host;
}

std::mutex g_start_mu;
bool g_running = false;

}  // namespace

struct Inspection::Impl {
  Options options;
  std::thread thread;
  EventLoop* loop = nullptr;
  std::shared_ptr<actio::Event> stop_event;
  int port = 0;
  bool stopped = false;
};

namespace {
Task<void> serve(Inspection::Impl* impl, std::promise<int>* bound) {
  ServerOptions so;
  // Never the process's poller: the application's loops do the I/O, the
  // inspector picks its completions up within 20 ms.
  so.background_poll_interval = Duration(0.02);
  // Server reflection (ReflectionService) is an Actio handler like the
  // Inspector's: behind the token, on this server's loop, no grpc++ sync
  // threads.
  if (!impl->options.token.empty()) so.interceptors = {std::make_shared<TokenCheck>(impl->options.token)};
  auto srv = server(so);
  srv.state()->set_inspected(false);  // its own calls would only be noise
  v1::add_InspectorServicer_to_server(std::make_shared<InspectorService>(impl->options), srv);
  ReflectionService::add_to(srv);
  int port = 0;
  try {
    port = srv.add_insecure_port(impl->options.address);
    co_await srv.start();
  } catch (...) {
    bound->set_exception(std::current_exception());
    co_return;
  }
  bound->set_value(port);
  co_await impl->stop_event->wait();
  co_await srv.stop(Duration(0.2));
}
}  // namespace

Inspection::Inspection(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Inspection::~Inspection() { stop(); }
int Inspection::port() const { return impl_->port; }
std::string Inspection::target() const {
  std::string host = host_of(impl_->options.address);
  std::string port = std::to_string(impl_->port);
  if (host.empty() || host == "0.0.0.0" || host == "::") return "127.0.0.1:" + port;
  return host.find(':') != std::string::npos ? "[" + host + "]:" + port : host + ":" + port;
}

bool is_loopback_address(const std::string& address) {
  std::string host = host_of(address);
  if (host == "localhost") return true;
  in_addr v4{};
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  return inet_pton(AF_INET6, host.c_str(), &v6) == 1 && IN6_IS_ADDR_LOOPBACK(&v6);
}

void Inspection::stop() {
  if (impl_->stopped) return;
  impl_->stopped = true;
  reg::disable();
  auto ev = impl_->stop_event;
  impl_->loop->post([ev] { ev->set(); });
  if (impl_->thread.joinable()) impl_->thread.join();
  std::lock_guard<std::mutex> lock(g_start_mu);
  g_running = false;
}

std::unique_ptr<Inspection> start(Options options) {
  if (!options.allow_non_loopback && !is_loopback_address(options.address)) {
    throw UsageError("inspection serves " + options.address +
                     ": not a loopback address (set Options::allow_non_loopback, or "
                     "ACTIO_INSPECT_ALLOW_REMOTE=1, to mean it)");
  }
  {
    std::lock_guard<std::mutex> lock(g_start_mu);
    if (g_running) throw UsageError("inspection is already running in this process");
    g_running = true;
  }
  auto impl = std::make_unique<Inspection::Impl>();
  impl->options = std::move(options);
  impl->stop_event = std::make_shared<actio::Event>();
  reg::enable(impl->options.recent_calls);
  std::promise<int> bound;
  auto port = bound.get_future();
  std::promise<EventLoop*> loop_ready;
  auto loop_future = loop_ready.get_future();
  Inspection::Impl* raw = impl.get();
  impl->thread = std::thread([raw, &bound, &loop_ready] {
    EventLoop loop;
    loop.set_poll_interval(Duration(0.02));
    loop_ready.set_value(&loop);
    loop.run_until_complete(serve(raw, &bound));
  });
  impl->loop = loop_future.get();
  try {
    impl->port = port.get();
  } catch (...) {
    impl->thread.join();
    reg::disable();
    std::lock_guard<std::mutex> lock(g_start_mu);
    g_running = false;
    throw;
  }
  // Channels made before now report their connectivity changes from now on.
  detail::start_connectivity_watches();
  return std::make_unique<Inspection>(std::move(impl));
}

std::optional<Options> options_from_environment() {
  const char* address = std::getenv("ACTIO_INSPECT");
  if (!address || !*address) return std::nullopt;
  Options options;
  options.address = address;
  if (const char* token = std::getenv("ACTIO_INSPECT_TOKEN")) options.token = token;
  if (const char* remote = std::getenv("ACTIO_INSPECT_ALLOW_REMOTE"); remote && *remote) {
    std::string v = remote;
    if (v != "1" && v != "0") throw UsageError("ACTIO_INSPECT_ALLOW_REMOTE=" + v + ": expected 1 or 0");
    options.allow_non_loopback = v == "1";
  }
  if (const char* recent = std::getenv("ACTIO_INSPECT_RECENT"); recent && *recent) {
    char* end = nullptr;
    errno = 0;
    unsigned long long n = std::strtoull(recent, &end, 10);
    if (*end || errno || n == 0 || n > 1'000'000 || recent[0] == '-')
      throw UsageError(std::string("ACTIO_INSPECT_RECENT=") + recent + ": expected a number from 1 to 1000000");
    options.recent_calls = static_cast<std::size_t>(n);
  }
  if (const char* keys = std::getenv("ACTIO_INSPECT_SHOW_KEYS"); keys && *keys) {
    std::string all = keys;
    for (std::size_t start = 0; start <= all.size();) {
      auto comma = all.find(',', start);
      if (comma == std::string::npos) comma = all.size();
      std::string key = all.substr(start, comma - start);
      if (!key.empty()) options.show_keys.push_back(key);
      start = comma + 1;
    }
  }
  return options;
}

void start_from_environment() {
  // Not std::call_once: the inspector's own server calls this from its
  // thread while the first caller waits for it.
  static std::atomic<bool> tried{false};
  if (tried.exchange(true)) return;
  {
    const char* env = std::getenv("ACTIO_INSPECT");
    if (!env || !*env) return;
    try {
      auto options = options_from_environment();
      if (!options) return;
      // Lives for the process: released (not destroyed) at exit, so no
      // thread is joined while static destructors run.
      static Inspection* inspection = start(*options).release();
      std::cerr << "actio: inspection on " << inspection->target() << std::endl;
    } catch (const std::exception& e) {
      std::cerr << "actio: ACTIO_INSPECT=" << env << ": " << e.what() << std::endl;
    }
  }
}

}  // namespace actio::inspect
