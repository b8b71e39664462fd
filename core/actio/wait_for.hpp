#pragma once
/// wait_for(): asyncio.wait_for — await a task (or a call) for at most a
/// timeout.
///
/// Past the timeout the task is cancelled, and wait_for waits for it to end
/// before it throws TimeoutError, so nothing it started outlives it (a
/// cancelled RPC is cancelled on the wire). A task that swallows the cancel
/// and returns a value gives that value; one that throws something else
/// rethrows it. Cancelling the task that awaits wait_for cancels the inner
/// task too, and throws CancelledError once it has ended.
///
///   co_await actio::wait_for(channel.channel_ready(), 2s);   // TimeoutError if not READY by then
///   auto reply = co_await actio::wait_for(stub.SayHello(request), 500ms);

#include <cmath>
#include <concepts>
#include <exception>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>

#include "actio/errors.hpp"
#include "actio/event.hpp"
#include "actio/gather.hpp"
#include "actio/options.hpp"
#include "actio/task.hpp"

namespace actio {

/// A wait_for ran out of time (asyncio.TimeoutError).
class TimeoutError : public BaseError {
 public:
  using BaseError::BaseError;
};

namespace detail {

template <class T>
struct WaitForState {
  Event done;
  std::optional<gather_value_t<T>> value;
  std::exception_ptr error;
};

template <class T>
Detached wait_for_drive(Task<T>& task, WaitForState<T>& state) {
  try {
    if constexpr (std::is_void_v<T>) {
      co_await task;
      state.value.emplace();
    } else {
      state.value.emplace(co_await task);
    }
  } catch (...) {
    state.error = std::current_exception();
  }
  state.done.set();
}

template <class A>
decltype(auto) awaiter_of(A& a) {
  if constexpr (requires { a.operator co_await(); })
    return a.operator co_await();
  else
    return (a);
}
template <class A>
using await_result_t = decltype(std::declval<std::remove_cvref_t<decltype(awaiter_of(std::declval<A&>()))>&>()
                                    .await_resume());

template <class T>
inline constexpr bool is_task_v = false;
template <class T>
inline constexpr bool is_task_v<Task<T>> = true;

/// Awaits `a` in a Task of its own (cancelling the Task cancels the await).
template <class A>
Task<await_result_t<A>> as_task(A a) {
  if constexpr (std::is_void_v<await_result_t<A>>)
    co_await a;
  else
    co_return co_await a;
}

}  // namespace detail

/// Awaits `task` for at most `timeout`; throws TimeoutError once the task,
/// cancelled at the timeout, has ended.
template <class T>
Task<T> wait_for(Task<T> task, Duration timeout) {
  detail::WaitForState<T> state;
  detail::wait_for_drive(task, state);
  bool timed_out = false;
  bool cancelled = false;
  if (!state.done.is_set()) {
    try {
      if (!co_await state.done.wait_for(timeout)) {
        timed_out = true;
        task.cancel();
      }
    } catch (const CancelledError&) {
      cancelled = true;
      task.cancel();
    }
  }
  while (!state.done.is_set()) {  // the task ends its cancelled await
    try {
      co_await state.done.wait();
    } catch (const CancelledError&) {
      cancelled = true;
      task.cancel();
    }
  }
  if (cancelled) throw CancelledError();
  if (state.error) {
    if (timed_out) {
      try {
        std::rethrow_exception(state.error);
      } catch (const CancelledError&) {
        throw TimeoutError("wait_for: timed out after " +
                           std::to_string(std::llround(timeout.count() * 1000)) + " ms");
      }
    }
    std::rethrow_exception(state.error);
  }
  if constexpr (!std::is_void_v<T>) co_return std::move(*state.value);
}

/// The same for anything else awaitable that can be moved (a call object):
/// it is awaited in a Task of its own, which the timeout cancels. (An
/// Event's waits cannot move: await them in a Task.)
template <class A>
  requires(!detail::is_task_v<std::remove_cvref_t<A>> && std::move_constructible<std::remove_cvref_t<A>>)
Task<detail::await_result_t<std::remove_cvref_t<A>>> wait_for(A&& awaitable, Duration timeout) {
  return wait_for(detail::as_task(std::remove_cvref_t<A>(std::forward<A>(awaitable))), timeout);
}

}  // namespace actio
