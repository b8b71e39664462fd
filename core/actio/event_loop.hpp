#pragma once
/// EventLoop: one per thread. Drives a grpc::CompletionQueue, a same-thread
/// ready queue, an MPSC inbox for posts from other threads, and timers.

#include <chrono>
#include <coroutine>
#include <cstdint>
#include <functional>
#include <memory>
#include <thread>
#include <tuple>
#include <variant>
#include <vector>

#include "actio/options.hpp"
#include "actio/task.hpp"

namespace grpc {
class CompletionQueue;
}

namespace actio {

namespace detail {
/// A completion-queue tag: gRPC hands it back with `ok` when the op finishes.
class Op {
 public:
  virtual void complete(bool ok) = 0;

 protected:
  ~Op() = default;
};
}  // namespace detail

/// Identifies a timer made by EventLoop::call_later.
struct TimerId {
  std::chrono::steady_clock::time_point when{};
  std::uint64_t seq = 0;
  explicit operator bool() const noexcept { return seq != 0; }
};

class EventLoop {
 public:
  // -- constructors ---------------------------------------------------------

  /// Makes a loop bound to this thread with its own completion queue. Throws
  /// UsageError if this thread already has a loop.
  EventLoop();
  /// Same, driving a queue made elsewhere (a server's ServerCompletionQueue).
  explicit EventLoop(std::unique_ptr<grpc::CompletionQueue> cq);
  /// Cancels what is left (shutdown hooks), drains the queue, unbinds.
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  // -- properties -----------------------------------------------------------

  /// Returns the loop bound to the calling thread, or nullptr.
  static EventLoop* current() noexcept;
  /// Returns the calling thread's loop; throws UsageError naming `what` if none.
  static EventLoop& require(const char* what);
  grpc::CompletionQueue* cq() const noexcept { return cq_.get(); }
  /// True when called on the loop's own thread.
  bool is_current() const noexcept { return std::this_thread::get_id() == thread_; }
  /// Throws UsageError("<what> ... used from another thread") unless is_current().
  void check_thread(const char* what) const {
    if (!is_current()) throw_wrong_thread(what);
  }
  /// Number of gRPC operations started on this loop and not yet completed.
  std::size_t pending_ops() const noexcept { return pending_ops_; }
  /// A small, process-unique number naming this loop (for logs and the inspector).
  std::uint32_t id() const noexcept { return id_; }

  /// What the loop has queued (loop thread only; for the inspector).
  struct Stats {
    std::size_t ready = 0;        // work ready to run now
    std::size_t inbox = 0;        // posts from other threads not yet taken
    std::size_t pending_ops = 0;  // gRPC operations in flight
    std::size_t timers = 0;
  };
  Stats stats() const;
  /// Calls `fn(loop)` for every loop alive in the process, under a lock that
  /// keeps them alive meanwhile (fn should only post() to them).
  static void for_each_loop(const std::function<void(EventLoop&)>& fn);

  // -- scheduling (loop thread) ---------------------------------------------

  /// Resumes `h` on this loop after the current work item.
  void call_soon(std::coroutine_handle<> h);
  void call_soon(std::function<void()> fn);
  /// Runs `fn` after `delay`; cancel with cancel_timer().
  TimerId call_later(Duration delay, std::function<void()> fn);
  void cancel_timer(TimerId id) noexcept;
  /// Brackets a gRPC operation started on cq() (keeps shutdown honest).
  void op_started() noexcept { ++pending_ops_; }
  void op_finished() noexcept { --pending_ops_; }
  /// Brackets an owner that needs gRPC I/O even with no operation pending
  /// (a channel: keepalive pings, connection state); while any is held the
  /// loop waits on its completion queue, not only on posts and timers.
  void add_io_interest() noexcept { ++io_interest_; }
  void remove_io_interest() noexcept { --io_interest_; }
  /// Background mode: never block inside the completion queue; wait for
  /// posts and timers instead and look into the queue once per `interval`
  /// (not more often, however busy). In gRPC 1.51 a thread blocked on any
  /// queue, or peeking into it, polls every connection of the process, so a
  /// background loop (the inspector) doing so would take the I/O of the
  /// application's loops and hand it across threads; in this mode their
  /// pollers do that I/O and the background loop picks its completions up,
  /// at most `interval` late.
  void set_poll_interval(Duration interval) noexcept { poll_interval_ = interval; }
  /// Registers `fn`, run once when the loop shuts down (e.g. cancel calls).
  std::uint64_t add_shutdown_hook(std::function<void()> fn);
  void remove_shutdown_hook(std::uint64_t id) noexcept;

  // -- scheduling (any thread) ----------------------------------------------

  /// Queues `fn` to run on the loop thread and wakes the loop. Returns false
  /// (and drops `fn`) once the loop has shut down.
  bool post(std::function<void()> fn);
  /// Makes run() return after the current work item. Thread-safe.
  void stop() noexcept;

  // -- running --------------------------------------------------------------

  /// Drives completions, ready work, inbox and timers until stop().
  void run();
  /// Starts `task` on this loop, runs until it finishes, returns its value or
  /// rethrows its exception.
  template <class T>
  T run_until_complete(Task<T> task) {
    auto h = task.handle();
    h.promise().set_on_done(&EventLoop::stop_from_task, this);
    call_soon(std::coroutine_handle<>(h));
    run();
    if (!h.done()) {
      task.cancel();
      while (!h.done()) run_once(true);
    }
    return h.promise().take();
  }
  /// Runs one iteration: ready work, timers, at most one gRPC event. With
  /// `block`, waits for something to happen.
  void run_once(bool block);

 private:
  struct Impl;
  static void stop_from_task(void* self) { static_cast<EventLoop*>(self)->stop(); }
  [[noreturn]] void throw_wrong_thread(const char* what) const;
  void shutdown();

  std::unique_ptr<grpc::CompletionQueue> cq_;
  std::unique_ptr<Impl> impl_;
  std::thread::id thread_;
  std::size_t pending_ops_ = 0;
  std::size_t io_interest_ = 0;
  std::uint32_t id_ = 0;
  Duration poll_interval_{0};
  bool stop_requested_ = false;
};

/// Runs `task` on a fresh loop bound to this thread (asyncio.run): returns its
/// value or rethrows its exception; everything left on the loop is cancelled
/// and drained before it returns.
template <class T>
T run(Task<T> task) {
  EventLoop loop;
  return loop.run_until_complete(std::move(task));
}

/// Suspends the calling task for `delay` (asyncio.sleep). Cancellable.
class SleepAwaiter : public detail::LeafAwaiter {
 public:
  explicit SleepAwaiter(Duration delay) : delay_(delay) {}
  ~SleepAwaiter();
  SleepAwaiter(const SleepAwaiter&) = delete;
  bool await_ready() const noexcept { return false; }
  template <class P>
  bool await_suspend(std::coroutine_handle<P> h) {
    if (!attach(h)) return false;
    arm(h);
    return true;
  }
  void await_resume() { detach(); }
  void cancel() override;

 private:
  void arm(std::coroutine_handle<> h);
  Duration delay_;
  EventLoop* loop_ = nullptr;
  std::coroutine_handle<> h_;
  TimerId timer_;
};

inline SleepAwaiter sleep(Duration delay) { return SleepAwaiter(delay); }

}  // namespace actio
