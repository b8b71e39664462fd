#include "detail/loop_actor.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/all.hpp>

#include "actio/actors.hpp"

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
};

LoopActor::LoopActor(EventLoop& loop, caf::behavior behavior)
    : shared_(std::make_shared<Shared>(&actor_system())) {
  handle_ = actor_system().spawn<caf::actor_companion>();
  self_ = static_cast<caf::actor_companion*>(caf::actor_cast<caf::abstract_actor*>(handle_));
  shared_->self = self_;
  self_->become(std::move(behavior));
  std::weak_ptr<Shared> weak = shared_;
  self_->on_enqueue([&loop, weak](caf::mailbox_element_ptr ptr) {
    auto* raw = ptr.release();
    // on_enqueue is cleared (under the companion's lock) by quit(), which runs
    // on the loop thread before the loop goes away, so `loop` is alive here.
    bool posted = loop.post([weak, raw] {
      caf::mailbox_element_ptr owned(raw);
      auto shared = weak.lock();
      if (shared && shared->self) shared->self->activate(&shared->unit, *owned);
    });
    if (!posted) caf::mailbox_element_ptr dropped(raw);
  });
}

LoopActor::~LoopActor() { quit(); }

void LoopActor::quit() {
  if (self_) {
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

}  // namespace detail
}  // namespace actio
