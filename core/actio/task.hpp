#pragma once
/// Task<T>: a lazy, awaitable C++20 coroutine (asyncio's coroutine + Task).
///
/// A Task starts when it is awaited (or handed to actio::run / gather).
/// Exceptions propagate to the awaiter. `cancel()` makes the point where the
/// task is suspended throw CancelledError, once, as asyncio's Task.cancel().
/// A cancel that finds the task's wait already completed is not lost: it
/// hits the task's next await, or, if the task ends first, its awaiter's.

#include <coroutine>
#include <cstddef>
#include <exception>
#include <optional>
#include <type_traits>
#include <utility>

#include "actio/errors.hpp"

namespace actio {

template <class T = void>
class Task;

namespace detail {

/// Anything a suspended coroutine waits on that can be interrupted.
class Cancellable {
 public:
  /// Interrupts the wait; the waiter must later resume and throw CancelledError.
  virtual void cancel() = 0;

 protected:
  ~Cancellable() = default;
};

/// Coroutine frames (Task, Generator) come from a per-thread cache of freed
/// frames, by size class (64-byte steps up to 1.5 KiB, then 512-byte steps up
/// to 9.5 KiB; core/frame_pool.cpp): a stream makes a frame or two per
/// message (a read, a write), and malloc plus free cost more than the rest
/// of what such a frame does. Frames may be freed on any thread. The state
/// of each client and server call (1.2 and 5.6 KiB, over glibc's per-thread
/// cache of chunks up to 1 KiB) comes from it too.
void* allocate_frame(std::size_t size);
void free_frame(void* frame, std::size_t size) noexcept;

/// State shared by every Task promise: continuation, error, cancellation.
class PromiseBase {
 public:
  static void* operator new(std::size_t size) { return allocate_frame(size); }
  static void operator delete(void* frame, std::size_t size) noexcept { free_frame(frame, size); }

  struct FinalAwaiter {
    bool await_ready() const noexcept { return false; }
    template <class P>
    std::coroutine_handle<> await_suspend(std::coroutine_handle<P> h) noexcept {
      PromiseBase& p = h.promise();
      if (p.on_done_) p.on_done_(p.on_done_ctx_);
      if (p.continuation_) return p.continuation_;
      return std::noop_coroutine();
    }
    void await_resume() const noexcept {}
  };

  std::suspend_always initial_suspend() const noexcept { return {}; }
  FinalAwaiter final_suspend() const noexcept { return {}; }
  void unhandled_exception() noexcept { exception_ = std::current_exception(); }

  /// Delivers a cancellation to what the coroutine waits on now, or, if it is
  /// running or not started, to its next suspension point.
  void request_cancel() {
    if (Cancellable* c = std::exchange(waiting_on_, nullptr)) {
      c->cancel();
    } else {
      cancel_pending_ = true;
    }
  }

  /// Called by awaiters when suspending: true if a pending cancel must be
  /// delivered right away instead (the pending flag is consumed).
  bool take_pending_cancel() noexcept { return std::exchange(cancel_pending_, false); }
  void set_waiting_on(Cancellable* c) noexcept { waiting_on_ = c; }
  void clear_waiting_on(Cancellable* c) noexcept {
    if (waiting_on_ == c) waiting_on_ = nullptr;
  }
  void set_on_done(void (*fn)(void*), void* ctx) noexcept {
    on_done_ = fn;
    on_done_ctx_ = ctx;
  }

  std::coroutine_handle<> continuation_;
  std::exception_ptr exception_;

 private:
  Cancellable* waiting_on_ = nullptr;
  bool cancel_pending_ = false;
  void (*on_done_)(void*) = nullptr;
  void* on_done_ctx_ = nullptr;
};

/// Base for leaf awaiters (sleep, events, RPC results): handles the
/// cancellation bookkeeping with the awaiting Task's promise.
class LeafAwaiter : public Cancellable {
 protected:
  /// Returns false if the coroutine must not suspend (a cancel was pending).
  template <class P>
  bool attach(std::coroutine_handle<P> h) noexcept {
    if constexpr (std::is_base_of_v<PromiseBase, P>) {
      promise_ = &h.promise();
      if (promise_->take_pending_cancel()) {
        cancelled_ = true;
        return false;
      }
      promise_->set_waiting_on(this);
    }
    return true;
  }
  /// Call first in await_resume: throws if the wait was cancelled.
  void detach() {
    if (promise_) promise_->clear_waiting_on(this);
    if (cancelled_) throw CancelledError();
  }
  PromiseBase* promise_ = nullptr;
  bool cancelled_ = false;
};

template <class T>
struct TaskPromise : PromiseBase {
  Task<T> get_return_object() noexcept;
  template <class U>
  void return_value(U&& v) {
    value_.emplace(std::forward<U>(v));
  }
  T take() {
    if (exception_) std::rethrow_exception(exception_);
    return std::move(*value_);
  }
  std::optional<T> value_;
};

template <>
struct TaskPromise<void> : PromiseBase {
  Task<void> get_return_object() noexcept;
  void return_void() noexcept {}
  void take() {
    if (exception_) std::rethrow_exception(exception_);
  }
};

}  // namespace detail

template <class T>
class [[nodiscard]] Task {
 public:
  using promise_type = detail::TaskPromise<T>;
  using handle_type = std::coroutine_handle<promise_type>;
  using value_type = T;

  Task() noexcept = default;
  explicit Task(handle_type h) noexcept : h_(h) {}
  Task(Task&& other) noexcept : h_(std::exchange(other.h_, {})) {}
  Task& operator=(Task&& other) noexcept {
    if (this != &other) {
      if (h_) h_.destroy();
      h_ = std::exchange(other.h_, {});
    }
    return *this;
  }
  Task(const Task&) = delete;
  Task& operator=(const Task&) = delete;
  ~Task() {
    if (h_) h_.destroy();
  }

  /// True once the coroutine ran to its end (value or exception).
  bool done() const noexcept { return h_ && h_.done(); }
  bool valid() const noexcept { return static_cast<bool>(h_); }
  /// Requests cancellation: the task's current (or next) suspension point
  /// throws CancelledError. Returns false if the task is already done.
  bool cancel() {
    if (!h_ || h_.done()) return false;
    h_.promise().request_cancel();
    return true;
  }

  struct Awaiter : detail::Cancellable {
    explicit Awaiter(handle_type handle) noexcept : h(handle) {}
    handle_type h;
    detail::PromiseBase* parent = nullptr;
    bool await_ready() const noexcept { return !h || h.done(); }
    template <class P>
    std::coroutine_handle<> await_suspend(std::coroutine_handle<P> cont) noexcept {
      h.promise().continuation_ = cont;
      if constexpr (std::is_base_of_v<detail::PromiseBase, P>) {
        parent = &cont.promise();
        if (parent->take_pending_cancel()) h.promise().request_cancel();
        parent->set_waiting_on(this);
      }
      return h;
    }
    void cancel() override { h.promise().request_cancel(); }
    T await_resume() {
      if (parent) {
        parent->clear_waiting_on(this);
        // A cancel that reached the child after its last wait had already
        // completed (its resumption was scheduled) is still pending on the
        // child: hand it up, so the parent's next await throws. asyncio's
        // cancels stick to the task the same way.
        if (h && h.promise().take_pending_cancel()) parent->request_cancel();
      }
      if (!h) throw UsageError("awaiting an empty Task");
      return h.promise().take();
    }
  };
  Awaiter operator co_await() & noexcept { return Awaiter(h_); }
  Awaiter operator co_await() && noexcept { return Awaiter(h_); }

  /// The coroutine handle (for schedulers).
  handle_type handle() const noexcept { return h_; }

 private:
  handle_type h_;
};

namespace detail {
template <class T>
Task<T> TaskPromise<T>::get_return_object() noexcept {
  return Task<T>(std::coroutine_handle<TaskPromise<T>>::from_promise(*this));
}
inline Task<void> TaskPromise<void>::get_return_object() noexcept {
  return Task<void>(std::coroutine_handle<TaskPromise<void>>::from_promise(*this));
}

/// An eager, self-destroying coroutine for fire-and-forget drivers.
struct Detached {
  struct promise_type {
    Detached get_return_object() const noexcept { return {}; }
    std::suspend_never initial_suspend() const noexcept { return {}; }
    std::suspend_never final_suspend() const noexcept { return {}; }
    void return_void() const noexcept {}
    void unhandled_exception() const noexcept { std::terminate(); }
  };
};
}  // namespace detail

}  // namespace actio
