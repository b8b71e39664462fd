#include "detail/loop_actor.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/all.hpp>

#include "actio/actors.hpp"
#include "actio/ask.hpp"
#include "actio/event.hpp"
#include "actio/mailbox.hpp"

#include <algorithm>
#include <atomic>
#include <deque>
#include <mutex>
#include <unordered_map>

namespace actio {

caf::actor_system& actor_system() {
  // Made on first use and deliberately never destroyed: CAF 0.17's
  // ~actor_system at static-destruction time races its own statics (a SEGV
  // in ref_counted::deref was seen), and its worker threads simply end with
  // the process. The pointer keeps it reachable, so it is no leak.
  static caf::actor_system* system = [] {
    auto* cfg = new caf::actor_system_config;
    cfg->set("scheduler.max-threads", 2);
    cfg->set("logger.verbosity", caf::atom("quiet"));
    return new caf::actor_system(*cfg);
  }();
  return *system;
}

namespace detail {

// What a posted delivery needs; outlives the LoopActor if a post is pending.
struct LoopActor::Shared {
  explicit Shared(caf::actor_system* sys) : unit(sys) {}
  caf::scoped_execution_unit unit;
  caf::actor_companion* self = nullptr;  // null once quit (loop thread only)
  // What the inspector shows (set before it is listed, then read-only).
  std::uint64_t id = 0;
  std::uint32_t loop = 0;
  std::string kind, name;
  std::atomic<std::int64_t> waiting{0};
  std::atomic<std::uint64_t> handled{0};
};

namespace {
/// The live loop actors of the process.
struct Actors {
  std::mutex mu;
  std::unordered_map<const void*, std::shared_ptr<LoopActor::Shared>> live;
};
Actors& actors() {
  static Actors* a = new Actors();  // never destroyed: actors may end during exit
  return *a;
}
}  // namespace

std::vector<LoopActorView> loop_actors() {
  auto& a = actors();
  std::vector<LoopActorView> out;
  std::lock_guard<std::mutex> lock(a.mu);
  out.reserve(a.live.size());
  for (const auto& [key, s] : a.live) {
    out.push_back({s->id, s->loop, s->kind, s->name,
                   static_cast<std::uint64_t>(std::max<std::int64_t>(0, s->waiting.load(std::memory_order_relaxed))),
                   s->handled.load(std::memory_order_relaxed)});
  }
  return out;
}

LoopActor::LoopActor(EventLoop& loop, caf::behavior behavior, std::string kind, std::string name)
    : shared_(std::make_shared<Shared>(&actor_system())) {
  handle_ = actor_system().spawn<caf::actor_companion>();
  self_ = static_cast<caf::actor_companion*>(caf::actor_cast<caf::abstract_actor*>(handle_));
  shared_->self = self_;
  shared_->id = handle_.id();
  shared_->loop = loop.id();
  shared_->kind = std::move(kind);
  shared_->name = std::move(name);
  self_->become(std::move(behavior));
  std::weak_ptr<Shared> weak = shared_;
  Shared* counters = shared_.get();  // alive while on_enqueue is set (quit clears it first)
  self_->on_enqueue([&loop, weak, counters](caf::mailbox_element_ptr ptr) {
    auto* raw = ptr.release();
    // on_enqueue is cleared (under the companion's lock) by quit(), which runs
    // on the loop thread before the loop goes away, so `loop` is alive here.
    counters->waiting.fetch_add(1, std::memory_order_relaxed);
    bool posted = loop.post([weak, raw] {
      caf::mailbox_element_ptr owned(raw);
      auto shared = weak.lock();
      if (shared && shared->self) {
        shared->waiting.fetch_sub(1, std::memory_order_relaxed);
        shared->handled.fetch_add(1, std::memory_order_relaxed);
        shared->self->activate(&shared->unit, *owned);
      }
    });
    if (!posted) {
      counters->waiting.fetch_sub(1, std::memory_order_relaxed);
      caf::mailbox_element_ptr dropped(raw);
    }
  });
  auto& a = actors();
  std::lock_guard<std::mutex> lock(a.mu);
  a.live.emplace(shared_.get(), shared_);
}

LoopActor::~LoopActor() { quit(); }

void LoopActor::held(int delta) noexcept { shared_->waiting.fetch_add(delta, std::memory_order_relaxed); }

void LoopActor::quit() {
  if (self_) {
    {
      auto& a = actors();
      std::lock_guard<std::mutex> lock(a.mu);
      a.live.erase(shared_.get());
    }
    shared_->self = nullptr;
    // Clearing the handler takes the companion's lock, so no enqueue is in
    // flight afterwards; then terminate it (what CAF's actor_widget does).
    self_->on_enqueue(nullptr);
    self_->cleanup(caf::make_error(caf::exit_reason::normal), &shared_->unit);
    self_ = nullptr;
    handle_ = caf::actor{};
  }
}

caf::error grpc_error(int code, const std::string& details) {
  return caf::error(static_cast<uint8_t>(code), grpc_error_category, caf::make_message(details));
}

[[noreturn]] void throw_ask_error(const caf::error& error, Duration timeout) {
  if (!error) throw AioRpcError(StatusCode::INTERNAL, "ask: the actor gave no reply");
  if (error.category() == grpc_error_category) {
    std::string details;
    if (error.context().match_elements<std::string>()) details = error.context().get_as<std::string>(0);
    throw AioRpcError(status_code_from_int(error.code()), details);
  }
  if (error.category() == caf::atom("system")) {  // caf::sec (see caf/sec.hpp)
    switch (static_cast<caf::sec>(error.code())) {
      case caf::sec::request_timeout: {
        auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(timeout).count();
        throw AioRpcError(StatusCode::DEADLINE_EXCEEDED, "ask: no reply within " + std::to_string(ms) + " ms");
      }
      case caf::sec::request_receiver_down:
      case caf::sec::invalid_argument:
        throw AioRpcError(StatusCode::UNAVAILABLE, "ask: the actor is not running");
      case caf::sec::unexpected_message:
        throw AioRpcError(StatusCode::UNIMPLEMENTED, "ask: the actor does not handle this message");
      default:
        break;
    }
  }
  throw AioRpcError(StatusCode::UNKNOWN, "ask: " + actor_system().render(error));
}

}  // namespace detail

caf::error make_grpc_error(StatusCode code, const std::string& details) {
  return detail::grpc_error(static_cast<int>(code), details);
}

// -- Mailbox ----------------------------------------------------------------------

struct Mailbox::State {
  EventLoop* loop = nullptr;
  std::unique_ptr<detail::LoopActor> actor;
  std::deque<caf::message> queue;
  Event arrived;
  bool closed = false;
};

Mailbox::Mailbox() : Mailbox(std::string()) {}

Mailbox::Mailbox(std::string name) : state_(std::make_shared<State>()) {
  state_->loop = &EventLoop::require("Mailbox");
  std::weak_ptr<State> weak = state_;
  // Every message goes to the default handler: the behaviour only keeps the
  // actor alive (it matches a message nobody sends).
  using unused_atom = caf::atom_constant<caf::atom("mbunused")>;
  state_->actor = std::make_unique<detail::LoopActor>(*state_->loop, caf::behavior{[](unused_atom) {}}, "mailbox",
                                                      std::move(name));
  state_->actor->self()->set_default_handler(
      [weak](caf::scheduled_actor*, caf::message_view& xs) -> caf::result<caf::message> {
        auto st = weak.lock();
        if (!st || st->closed) return caf::make_error(caf::sec::request_receiver_down);
        st->queue.push_back(xs.move_content_to_message());
        st->actor->held(1);  // waiting for receive(), as the inspector sees it
        st->arrived.set();
        return caf::message{};
      });
}

Mailbox::~Mailbox() { close(); }

caf::actor Mailbox::actor() const { return state_->actor ? state_->actor->handle() : caf::actor{}; }

Task<std::optional<caf::message>> Mailbox::receive() {
  auto st = state_;
  st->loop->check_thread("Mailbox::receive");
  while (st->queue.empty() && !st->closed) {
    st->arrived.clear();
    co_await st->arrived.wait();
  }
  if (st->queue.empty()) co_return std::nullopt;
  caf::message msg = std::move(st->queue.front());
  st->queue.pop_front();
  if (st->actor) st->actor->held(-1);
  co_return msg;
}

void Mailbox::close() {
  if (!state_ || state_->closed) return;
  state_->closed = true;
  if (state_->actor) state_->actor->quit();
  state_->arrived.set();
}

std::size_t Mailbox::size() const { return state_->queue.size(); }

namespace detail {
void throw_unexpected_message(const caf::message& msg) {
  throw UsageError("Mailbox: unexpected message " + caf::to_string(msg));
}
}  // namespace detail

}  // namespace actio
