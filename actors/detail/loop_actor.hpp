#pragma once
// A CAF actor whose mailbox is delivered into an Actio EventLoop: an
// actor_companion whose on_enqueue posts to the loop's inbox; the loop thread
// then activates it, so the behaviour runs only on the loop thread.

#include <caf/actor.hpp>
#include <caf/actor_companion.hpp>
#include <caf/behavior.hpp>
#include <caf/scoped_execution_unit.hpp>

#include <memory>

#include "actio/event_loop.hpp"

namespace actio::detail {

class LoopActor {
 public:
  LoopActor(EventLoop& loop, caf::behavior behavior);
  ~LoopActor();
  LoopActor(const LoopActor&) = delete;
  LoopActor& operator=(const LoopActor&) = delete;

  caf::actor handle() const { return handle_; }
  caf::actor_companion* self() const { return self_; }
  /// Terminates the actor; later messages are answered with an error.
  void quit();

 private:
  struct Shared;
  caf::actor handle_;
  caf::actor_companion* self_ = nullptr;
  std::shared_ptr<Shared> shared_;
};

/// Makes a caf::error carrying a gRPC status (category `grpc`).
caf::error grpc_error(int code, const std::string& details);

}  // namespace actio::detail
