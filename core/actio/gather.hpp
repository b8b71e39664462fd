#pragma once
/// gather(): run tasks concurrently on the current loop and await them all.
///
/// Structured, unlike asyncio.gather: when one task fails, the others are
/// cancelled and awaited before the first error is rethrown, so no task
/// outlives the gather. Cancelling the gather cancels every task.

#include <exception>
#include <optional>
#include <tuple>
#include <utility>
#include <variant>
#include <vector>

#include "actio/event.hpp"
#include "actio/task.hpp"

namespace actio {

namespace detail {

template <class T>
struct gather_value {
  using type = T;
};
template <>
struct gather_value<void> {
  using type = std::monostate;
};
template <class T>
using gather_value_t = typename gather_value<T>::type;

/// Bookkeeping shared by the tasks of one gather.
struct GatherGroup {
  std::size_t remaining = 0;
  std::exception_ptr first_error;
  Event all_done;
  std::vector<std::function<void()>> cancellers;

  void cancel_all() {
    for (auto& c : cancellers) c();
  }
  void finished(std::exception_ptr err) {
    if (err && !first_error) {
      first_error = err;
      cancel_all();
    }
    if (--remaining == 0) all_done.set();
  }
};

template <class T>
Detached gather_drive(Task<T>& task, std::optional<gather_value_t<T>>& slot, GatherGroup& group) {
  std::exception_ptr err;
  try {
    if constexpr (std::is_void_v<T>) {
      co_await task;
      slot.emplace();
    } else {
      slot.emplace(co_await task);
    }
  } catch (...) {
    err = std::current_exception();
  }
  group.finished(err);
}

/// Waits for the group; on cancellation cancels the members and still waits.
inline Task<void> gather_wait(GatherGroup& group) {
  bool cancelled = false;
  while (!group.all_done.is_set()) {
    try {
      co_await group.all_done.wait();
    } catch (const CancelledError&) {
      cancelled = true;
      group.cancel_all();
    }
  }
  if (cancelled) throw CancelledError();
  if (group.first_error) std::rethrow_exception(group.first_error);
}

}  // namespace detail

/// Runs every task concurrently; returns their values in order (void → monostate).
template <class... Ts>
Task<std::tuple<detail::gather_value_t<Ts>...>> gather(Task<Ts>... tasks) {
  detail::GatherGroup group;
  group.remaining = sizeof...(Ts);
  std::tuple<std::optional<detail::gather_value_t<Ts>>...> slots;
  std::tuple<Task<Ts>&...> refs(tasks...);
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    (group.cancellers.push_back([&t = std::get<I>(refs)] { t.cancel(); }), ...);
    (detail::gather_drive(std::get<I>(refs), std::get<I>(slots), group), ...);
  }(std::index_sequence_for<Ts...>{});
  co_await detail::gather_wait(group);
  co_return std::apply([](auto&... s) { return std::tuple<detail::gather_value_t<Ts>...>(std::move(*s)...); },
                       slots);
}

/// Runs every task of `tasks` concurrently; returns their values in order.
template <class T>
Task<std::vector<detail::gather_value_t<T>>> gather(std::vector<Task<T>> tasks) {
  detail::GatherGroup group;
  group.remaining = tasks.size();
  std::vector<std::optional<detail::gather_value_t<T>>> slots(tasks.size());
  for (auto& t : tasks) group.cancellers.push_back([&t] { t.cancel(); });
  for (std::size_t i = 0; i < tasks.size(); ++i) detail::gather_drive(tasks[i], slots[i], group);
  if (!tasks.empty()) co_await detail::gather_wait(group);
  std::vector<detail::gather_value_t<T>> out;
  out.reserve(slots.size());
  for (auto& s : slots) out.push_back(std::move(*s));
  co_return out;
}

}  // namespace actio
