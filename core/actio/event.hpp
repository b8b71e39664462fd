#pragma once
/// Event: a loop-local flag that tasks can await (asyncio.Event). Every
/// waiter is resumed through the loop's ready queue, never inline, so setting
/// an event never re-enters the code that set it.

#include <coroutine>

#include "actio/event_loop.hpp"
#include "actio/task.hpp"

namespace actio {

class Event {
 public:
  Event() = default;
  Event(const Event&) = delete;
  Event& operator=(const Event&) = delete;
  ~Event();

  bool is_set() const noexcept { return set_; }
  /// Sets the flag and schedules every waiter.
  void set();
  void clear() noexcept { set_ = false; }

  class Waiter : public detail::LeafAwaiter {
   public:
    explicit Waiter(Event& ev) noexcept : ev_(&ev) {}
    Waiter(const Waiter&) = delete;
    ~Waiter() { unlink(); }
    bool await_ready() const noexcept { return ev_->set_; }
    template <class P>
    bool await_suspend(std::coroutine_handle<P> h) {
      if (!attach(h)) return false;
      link(h);
      return true;
    }
    void await_resume() { detach(); }
    void cancel() override;

   protected:
    friend class Event;
    void link(std::coroutine_handle<> h);
    void unlink() noexcept;
    Event* ev_;
    EventLoop* loop_ = nullptr;
    std::coroutine_handle<> h_;
    Waiter* prev_ = nullptr;
    Waiter* next_ = nullptr;
    bool linked_ = false;
  };

  /// Awaitable: resumes once the event is set. Cancellable.
  Waiter wait() noexcept { return Waiter(*this); }

  /// Awaitable: resumes once the event is set (gives true) or `timeout`
  /// passed (gives false). Cancellable.
  class TimedWaiter : public Waiter {
   public:
    TimedWaiter(Event& ev, Duration timeout) noexcept : Waiter(ev), timeout_(timeout) {}
    ~TimedWaiter();
    template <class P>
    bool await_suspend(std::coroutine_handle<P> h) {
      if (!Waiter::await_suspend(h)) return false;
      arm();
      return true;
    }
    bool await_resume() {
      disarm();
      Waiter::await_resume();
      return !timed_out_;
    }
    void cancel() override;

   private:
    void arm();
    void disarm() noexcept;
    Duration timeout_;
    TimerId timer_;
    bool timed_out_ = false;
  };
  TimedWaiter wait_for(Duration timeout) noexcept { return TimedWaiter(*this, timeout); }

 private:
  Waiter* head_ = nullptr;
  Waiter* tail_ = nullptr;
  bool set_ = false;
};

}  // namespace actio
