#pragma once
/// actio::ask: await a CAF actor's reply from a coroutine (a handler, a
/// client task) without blocking the loop.
///
///   int total = co_await actio::ask<int>(counter, 1s, add_atom::value, 5);
///
/// The request goes out from a short-lived helper actor on CAF's scheduler;
/// the reply (or error) is posted back into the asking loop. Errors become
/// AioRpcError, so a handler can pass them on with
/// `context.abort(e.code(), e.details())`:
///   - no reply within `timeout`        → DEADLINE_EXCEEDED
///   - the actor is gone (or invalid)   → UNAVAILABLE
///   - the actor does not handle it     → UNIMPLEMENTED
///   - a caf::error of Actio's `grpc` category (see make_grpc_error) → its code and details
///   - any other caf::error             → UNKNOWN with CAF's rendering of it
/// Cancelling the awaiting task stops the wait (CancelledError); a late reply
/// is dropped.

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/error.hpp>
#include <caf/event_based_actor.hpp>

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>

#include "actio/actors.hpp"
#include "actio/errors.hpp"
#include "actio/event.hpp"
#include "actio/event_loop.hpp"
#include "actio/status.hpp"
#include "actio/task.hpp"

namespace actio {

/// A caf::error carrying a gRPC status: an actor replies with it, and
/// actio::ask on the other side throws AioRpcError(code, details).
caf::error make_grpc_error(StatusCode code, const std::string& details);

namespace detail {

/// Throws the AioRpcError a failed ask maps to.
[[noreturn]] void throw_ask_error(const caf::error& error, Duration timeout);

/// Shared by the asking coroutine (loop thread) and the helper actor.
template <class R>
struct AskState {
  explicit AskState(EventLoop* l) : loop(l) {}
  using Value = std::conditional_t<std::is_void_v<R>, std::monostate, R>;

  /// From the helper actor: runs `fn` on the asking loop, unless the asker is gone.
  template <class F>
  void post(F fn) {
    std::lock_guard<std::mutex> lock(mutex);
    if (loop) loop->post(std::move(fn));
  }
  void detach() {
    std::lock_guard<std::mutex> lock(mutex);
    loop = nullptr;
  }

  std::mutex mutex;
  EventLoop* loop;  // null once the asking coroutine is gone
  // Loop thread only:
  std::optional<Value> value;
  caf::error error;
  Event done;
};

}  // namespace detail

/// Sends `xs...` to `who` and awaits its reply of type R (void: an empty reply).
template <class R = void, class... Ts>
Task<R> ask(caf::actor who, Duration timeout, Ts... xs) {
  EventLoop& loop = EventLoop::require("actio::ask");
  auto state = std::make_shared<detail::AskState<R>>(&loop);
  struct Detach {
    std::shared_ptr<detail::AskState<R>> state;
    ~Detach() { state->detach(); }
  } detach{state};
  auto span = std::chrono::duration_cast<std::chrono::nanoseconds>(timeout);
  // (The state goes in as a spawn argument: CAF 0.17 dereferences a null
  // argument tuple when a function actor is spawned with none.)
  using State = std::shared_ptr<detail::AskState<R>>;
  actor_system().spawn([who, span, ... xs = std::move(xs)](caf::event_based_actor* self, State state) mutable {
    auto fail = [state](caf::error& e) {
      state->post([state, e] {
        state->error = e;
        state->done.set();
      });
    };
    if constexpr (std::is_void_v<R>) {
      self->request(who, span, std::move(xs)...).then(
          [state]() {
            state->post([state] {
              state->value.emplace();
              state->done.set();
            });
          },
          fail);
    } else {
      self->request(who, span, std::move(xs)...).then(
          [state](R& r) {
            state->post([state, r = std::move(r)]() mutable {
              state->value.emplace(std::move(r));
              state->done.set();
            });
          },
          fail);
    }
  }, state);
  co_await state->done.wait();
  if (state->error || !state->value) detail::throw_ask_error(state->error, timeout);
  if constexpr (!std::is_void_v<R>) co_return std::move(*state->value);
}

}  // namespace actio
