#include "actio/event_loop.hpp"

#include <algorithm>

#include <grpcpp/alarm.h>
#include <grpcpp/completion_queue.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <string>

#include "actio/errors.hpp"
#include "actio/event.hpp"

namespace actio {

namespace {
thread_local EventLoop* t_current = nullptr;
std::atomic<std::uint32_t> g_next_loop_id{1};

using Clock = std::chrono::steady_clock;

// steady_clock and gpr's GPR_CLOCK_MONOTONIC both read CLOCK_MONOTONIC, from
// different origins: the difference, measured once per loop, turns a timer's
// time into a gRPC deadline without reading either clock again.
std::int64_t gpr_minus_steady_ns() {
  gpr_timespec g = gpr_now(GPR_CLOCK_MONOTONIC);
  auto s = std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count();
  return g.tv_sec * 1'000'000'000LL + g.tv_nsec - s;
}
}  // namespace

struct EventLoop::Impl {
  // A coroutine to resume, or (h null) a function: 16 bytes that move as
  // plain data (functions are rare: done callbacks).
  struct Ready {
    std::coroutine_handle<> h;
    std::unique_ptr<std::function<void()>> fn;
  };

  // Wakes the loop for inbox posts: a grpc::Alarm on the loop's own queue,
  // armed at most once per batch (an Alarm may not be re-set while pending).
  struct WakeOp final : detail::Op {
    Impl* impl;
    void complete(bool) override { impl->wake_armed.store(false, std::memory_order_release); }
  };

  std::deque<Ready> ready;
  std::int64_t gpr_offset_ns = gpr_minus_steady_ns();

  gpr_timespec to_gpr(Clock::time_point tp) const {
    auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(tp.time_since_epoch()).count() + gpr_offset_ns;
    gpr_timespec t;
    t.tv_sec = ns / 1'000'000'000LL;
    t.tv_nsec = static_cast<std::int32_t>(ns % 1'000'000'000LL);
    t.clock_type = GPR_CLOCK_MONOTONIC;
    return t;
  }
  std::map<std::pair<Clock::time_point, std::uint64_t>, std::function<void()>> timers;
  Clock::time_point last_peek{};  // background mode: when the queue was last looked into
  std::uint64_t next_timer_seq = 1;
  std::map<std::uint64_t, std::function<void()>> shutdown_hooks;
  std::uint64_t next_hook = 1;

  std::mutex inbox_mu;
  std::condition_variable inbox_cv;  // wakes a loop idling without gRPC work
  std::vector<std::function<void()>> inbox;
  // Whether the inbox may hold something: written under inbox_mu, read
  // without it, so an iteration with nothing posted takes no lock.
  std::atomic<bool> inbox_nonempty{false};
  bool closed = false;  // guarded by inbox_mu
  std::atomic<bool> wake_armed{false};
  std::atomic<bool> stop_flag{false};
  grpc::Alarm alarm;
  WakeOp wake_op;

  void wake(grpc::CompletionQueue* cq) {
    if (!wake_armed.exchange(true, std::memory_order_acq_rel)) {
      alarm.Set(cq, gpr_now(GPR_CLOCK_MONOTONIC), &wake_op);
    }
  }
};

namespace {
std::mutex g_loops_mu;
std::vector<EventLoop*>& all_loops() {
  static auto* loops = new std::vector<EventLoop*>();  // never destroyed: loops may end during exit
  return *loops;
}
}  // namespace

EventLoop::EventLoop() : EventLoop(std::make_unique<grpc::CompletionQueue>()) {}

EventLoop::EventLoop(std::unique_ptr<grpc::CompletionQueue> cq)
    : cq_(std::move(cq)), impl_(std::make_unique<Impl>()), thread_(std::this_thread::get_id()),
      id_(g_next_loop_id.fetch_add(1)) {
  if (t_current) throw UsageError("this thread already has an Actio event loop");
  impl_->wake_op.impl = impl_.get();
  t_current = this;
  std::lock_guard lock(g_loops_mu);
  all_loops().push_back(this);
}

EventLoop::~EventLoop() {
  {
    std::lock_guard lock(g_loops_mu);
    auto& loops = all_loops();
    loops.erase(std::remove(loops.begin(), loops.end(), this), loops.end());
  }
  shutdown();
  if (t_current == this) t_current = nullptr;
}

EventLoop* EventLoop::current() noexcept { return t_current; }

EventLoop::Stats EventLoop::stats() const {
  Stats s;
  s.ready = impl_->ready.size();
  s.pending_ops = pending_ops_;
  s.timers = impl_->timers.size();
  std::lock_guard lock(impl_->inbox_mu);
  s.inbox = impl_->inbox.size();
  return s;
}

void EventLoop::for_each_loop(const std::function<void(EventLoop&)>& fn) {
  std::lock_guard lock(g_loops_mu);
  for (EventLoop* l : all_loops()) fn(*l);
}

EventLoop& EventLoop::require(const char* what) {
  if (!t_current) {
    throw UsageError(std::string(what) +
                     " needs an Actio event loop on this thread (run it inside actio::run)");
  }
  return *t_current;
}

void EventLoop::throw_wrong_thread(const char* what) const {
  throw UsageError(std::string(what) +
                   " used from another thread: Actio objects may only be used on the thread "
                   "(event loop) that created them; message their actor instead");
}

void EventLoop::call_soon(std::coroutine_handle<> h) { impl_->ready.push_back({h, nullptr}); }

void EventLoop::call_soon(std::function<void()> fn) {
  impl_->ready.push_back({{}, std::make_unique<std::function<void()>>(std::move(fn))});
}

TimerId EventLoop::call_later(Duration delay, std::function<void()> fn) {
  TimerId id{Clock::now() + std::chrono::duration_cast<Clock::duration>(delay), impl_->next_timer_seq++};
  impl_->timers.emplace(std::make_pair(id.when, id.seq), std::move(fn));
  return id;
}

void EventLoop::cancel_timer(TimerId id) noexcept {
  if (id) impl_->timers.erase({id.when, id.seq});
}

std::uint64_t EventLoop::add_shutdown_hook(std::function<void()> fn) {
  auto id = impl_->next_hook++;
  impl_->shutdown_hooks.emplace(id, std::move(fn));
  return id;
}

void EventLoop::remove_shutdown_hook(std::uint64_t id) noexcept { impl_->shutdown_hooks.erase(id); }

bool EventLoop::post(std::function<void()> fn) {
  // Everything happens under the inbox lock: the loop's destructor takes it
  // to close the inbox, so the loop cannot go away while we touch it.
  std::lock_guard lock(impl_->inbox_mu);
  if (impl_->closed) return false;
  impl_->inbox.push_back(std::move(fn));
  impl_->inbox_nonempty.store(true, std::memory_order_release);
  // A loop in background mode never blocks in its queue: the condition
  // variable alone wakes it (no Alarm, no work for gRPC's timers).
  if (poll_interval_.count() <= 0) impl_->wake(cq_.get());
  impl_->inbox_cv.notify_one();
  return true;
}

void EventLoop::stop() noexcept {
  if (is_current()) {
    impl_->stop_flag.store(true, std::memory_order_release);
    return;
  }
  // From another thread: set the flag under the lock, so the loop cannot see
  // it, return and be destroyed before we are done waking it.
  std::lock_guard lock(impl_->inbox_mu);
  impl_->stop_flag.store(true, std::memory_order_release);
  if (!impl_->closed) impl_->wake(cq_.get());
  impl_->inbox_cv.notify_one();
}

void EventLoop::run() {
  check_thread("EventLoop::run");
  // A stop() that came before run() still counts; run() consumes it.
  while (!impl_->stop_flag.exchange(false, std::memory_order_acq_rel)) run_once(true);
}

void EventLoop::run_once(bool block) {
  Impl& im = *impl_;
  // 1. Work made ready by the previous iteration (bounded: new items wait).
  for (std::size_t n = im.ready.size(); n > 0 && !im.ready.empty(); --n) {
    auto item = std::move(im.ready.front());
    im.ready.pop_front();
    if (item.h) {
      item.h.resume();
    } else {
      (*item.fn)();
    }
  }
  // 2. Posts from other threads (a post that the flag misses here also
  // wakes the loop, and the next iteration sees it).
  if (im.inbox_nonempty.load(std::memory_order_acquire)) {
    std::vector<std::function<void()>> posted;
    {
      std::lock_guard lock(im.inbox_mu);
      posted.swap(im.inbox);
      im.inbox_nonempty.store(false, std::memory_order_relaxed);
    }
    for (auto& fn : posted) fn();
  }
  // 3. Due timers.
  if (!im.timers.empty()) {
    auto now = Clock::now();
    while (!im.timers.empty() && im.timers.begin()->first.first <= now) {
      auto fn = std::move(im.timers.begin()->second);
      im.timers.erase(im.timers.begin());
      fn();
    }
  }
  // 4a. No gRPC operation pending here and no owner that needs I/O (a
  // channel): wait for posts and timers on a condition variable instead of
  // the completion queue. In gRPC 1.51 every thread blocked on a queue helps
  // with all connections' I/O, so an idle loop (a server's home loop, say)
  // polling its queue would steal the serving loops' reads and hand each call
  // across threads. A loop with a channel keeps polling even when idle: with
  // nobody polling, nobody reads the socket, and keepalive pings go
  // unanswered until the transport is closed.
  if (pending_ops_ == 0 && io_interest_ == 0) {
    if (block && im.ready.empty()) {
      std::unique_lock lock(im.inbox_mu);
      auto idle = [&] { return !im.inbox.empty() || im.stop_flag.load(std::memory_order_acquire); };
      if (im.timers.empty()) {
        im.inbox_cv.wait(lock, idle);
      } else {
        im.inbox_cv.wait_until(lock, im.timers.begin()->first.first, idle);
      }
    }
    return;
  }
  // 4b. One gRPC completion (blocking only if nothing else is ready).
  gpr_timespec deadline;
  if (!block || !im.ready.empty() || im.stop_flag.load(std::memory_order_acquire)) {
    deadline = gpr_time_0(GPR_CLOCK_MONOTONIC);
  } else if (!im.timers.empty()) {
    deadline = im.to_gpr(im.timers.begin()->first.first);
  } else {
    deadline = gpr_inf_future(GPR_CLOCK_MONOTONIC);
  }
  if (poll_interval_.count() > 0) {
    // Background mode (set_poll_interval): never block in the queue, and
    // peek into it at most once per interval. A peek polls every connection
    // of the process (gRPC 1.51's one epoll set), so a busy background loop
    // (an inspector feeding a watcher) that peeked on every wake would take
    // the application's reads; its own completions wait for the next peek.
    auto next_peek = im.last_peek + std::chrono::duration_cast<Clock::duration>(poll_interval_);
    if (Clock::now() < next_peek) {
      if (gpr_time_cmp(deadline, gpr_time_0(GPR_CLOCK_MONOTONIC)) != 0) {
        auto until = next_peek;
        if (!im.timers.empty()) until = std::min(until, im.timers.begin()->first.first);
        std::unique_lock lock(im.inbox_mu);
        im.inbox_cv.wait_until(lock, until, [&] {
          return !im.inbox.empty() || im.stop_flag.load(std::memory_order_acquire);
        });
      }
      if (Clock::now() < next_peek) return;
    }
    im.last_peek = Clock::now();
    deadline = gpr_time_0(GPR_CLOCK_MONOTONIC);
  }
  void* tag = nullptr;
  bool ok = false;
  // Drain what is already there without blocking again, a batch at a time,
  // until a successful completion made work ready: then run that first (a
  // handler's next write, say) and come back. Asking the queue once more
  // only to hear "nothing yet" cost a second AsyncNext per message in a
  // stream. A failed one (ok == false) keeps draining: its siblings are
  // usually queued with it (a client's cancel fails the server's read and
  // completes the call's done notice at once), and the code it resumes must
  // see them all (a handler whose read ended learns that the call was
  // cancelled, not that the requests ended).
  for (int i = 0; i < 64; ++i) {
    auto st = cq_->AsyncNext(&tag, &ok, deadline);
    if (st != grpc::CompletionQueue::GOT_EVENT) break;
    static_cast<detail::Op*>(tag)->complete(ok);
    if (ok && !im.ready.empty()) break;
    deadline = gpr_time_0(GPR_CLOCK_MONOTONIC);
  }
}

void EventLoop::shutdown() {
  Impl& im = *impl_;
  // Let owners cancel what they still have running (calls, servers).
  while (!im.shutdown_hooks.empty()) {
    auto hooks = std::move(im.shutdown_hooks);
    im.shutdown_hooks.clear();
    for (auto& [id, fn] : hooks) fn();
  }
  // Finish the operations those cancellations completed, and their follow-ups.
  auto give_up = Clock::now() + std::chrono::seconds(10);
  while ((pending_ops_ > 0 || !im.ready.empty()) && Clock::now() < give_up) run_once(pending_ops_ > 0);
  {
    std::lock_guard lock(im.inbox_mu);
    im.closed = true;
  }
  im.timers.clear();
  run_once(false);  // posts that raced with closing
  im.alarm.Cancel();
  cq_->Shutdown();
  void* tag = nullptr;
  bool ok = false;
  while (cq_->Next(&tag, &ok)) static_cast<detail::Op*>(tag)->complete(ok);
}

// -- sleep --------------------------------------------------------------------

SleepAwaiter::~SleepAwaiter() {
  if (loop_ && timer_) loop_->cancel_timer(timer_);
}

void SleepAwaiter::arm(std::coroutine_handle<> h) {
  loop_ = &EventLoop::require("actio::sleep");
  h_ = h;
  timer_ = loop_->call_later(delay_, [this] {
    timer_ = {};
    h_.resume();
  });
}

void SleepAwaiter::cancel() {
  cancelled_ = true;
  loop_->cancel_timer(std::exchange(timer_, {}));
  loop_->call_soon(h_);
}

// -- Event --------------------------------------------------------------------

Event::~Event() {
  while (head_) head_->unlink();
}

void Event::set() {
  set_ = true;
  while (Waiter* w = head_) {
    w->unlink();
    w->loop_->call_soon(w->h_);
  }
}

void Event::Waiter::link(std::coroutine_handle<> h) {
  loop_ = &EventLoop::require("Event::wait");
  h_ = h;
  prev_ = ev_->tail_;
  next_ = nullptr;
  if (ev_->tail_) {
    ev_->tail_->next_ = this;
  } else {
    ev_->head_ = this;
  }
  ev_->tail_ = this;
  linked_ = true;
}

void Event::Waiter::unlink() noexcept {
  if (!linked_) return;
  if (prev_) {
    prev_->next_ = next_;
  } else {
    ev_->head_ = next_;
  }
  if (next_) {
    next_->prev_ = prev_;
  } else {
    ev_->tail_ = prev_;
  }
  prev_ = next_ = nullptr;
  linked_ = false;
}

void Event::Waiter::cancel() {
  if (!linked_) {
    // Already scheduled by set(): deliver the cancel at the next suspension.
    if (promise_) promise_->request_cancel();
    return;
  }
  unlink();
  cancelled_ = true;
  loop_->call_soon(h_);
}

Event::TimedWaiter::~TimedWaiter() { disarm(); }

void Event::TimedWaiter::arm() {
  timer_ = loop_->call_later(timeout_, [this] {
    timer_ = {};
    if (!linked_) return;
    unlink();
    timed_out_ = true;
    loop_->call_soon(h_);
  });
}

void Event::TimedWaiter::disarm() noexcept {
  if (loop_ && timer_) loop_->cancel_timer(std::exchange(timer_, {}));
}

void Event::TimedWaiter::cancel() {
  disarm();
  Waiter::cancel();
}

}  // namespace actio
