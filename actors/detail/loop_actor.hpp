#pragma once
// A CAF actor whose mailbox is delivered into an Actio EventLoop: an
// actor_companion whose on_enqueue posts to the loop's inbox; the loop thread
// then activates it, so the behaviour runs only on the loop thread.

#include <caf/actor.hpp>
#include <caf/actor_companion.hpp>
#include <caf/behavior.hpp>
#include <caf/scoped_execution_unit.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "actio/event_loop.hpp"

namespace actio::detail {

/// One live loop actor, as the inspector shows it.
struct LoopActorView {
  std::uint64_t id = 0;       ///< CAF actor id
  std::uint32_t loop = 0;     ///< its home loop
  std::string kind, name;     ///< e.g. "channel" + target, "server call" + method
  std::uint64_t waiting = 0;  ///< messages delivered but not handled (or held, for a Mailbox)
  std::uint64_t handled = 0;  ///< messages its loop handled
};
/// Every loop actor alive in the process (a lock; made and ended rarely).
std::vector<LoopActorView> loop_actors();

class LoopActor {
 public:
  /// Lives on `loop`; `kind` and `name` say what it is (the inspector shows them).
  LoopActor(EventLoop& loop, caf::behavior behavior, std::string kind, std::string name = {});
  ~LoopActor();
  LoopActor(const LoopActor&) = delete;
  LoopActor& operator=(const LoopActor&) = delete;

  caf::actor handle() const { return handle_; }
  caf::actor_companion* self() const { return self_; }
  /// Terminates the actor; later messages are answered with an error.
  void quit();
  /// Messages its owner holds after handling them (a Mailbox's queue): they
  /// count as waiting.
  void held(int delta) noexcept;

  struct Shared;  // what deliveries and the list of live actors share

 private:
  caf::actor handle_;
  caf::actor_companion* self_ = nullptr;
  std::shared_ptr<Shared> shared_;
};

/// Makes a caf::error carrying a gRPC status (category `grpc`).
caf::error grpc_error(int code, const std::string& details);

}  // namespace actio::detail
