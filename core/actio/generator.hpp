#pragma once
/// Generator<T>: an asynchronous generator coroutine (Python's async generator).
///
///   actio::Generator<Note> notes() {
///     co_yield first;
///     co_await actio::sleep(10ms);   // may await anything a Task may
///     co_yield second;
///   }
///   auto gen = notes();
///   while (auto n = co_await gen.next()) use(*n);
///
/// Lazy: the body runs only while a consumer awaits next(), up to the next
/// co_yield (or its end). next() gives nullopt at the end and rethrows what
/// the body threw, once. Cancelling the task that awaits next() cancels the
/// await inside the body (it throws CancelledError there). Actio accepts a
/// Generator wherever grpc.aio accepts an async generator: as the request
/// stream of a stream-unary/bidi call and as the reply of a streaming handler.

#include <coroutine>
#include <exception>
#include <optional>
#include <type_traits>
#include <utility>

#include "actio/task.hpp"

namespace actio {

template <class T>
class [[nodiscard]] Generator {
 public:
  struct promise_type : detail::PromiseBase {
    /// Suspends the body after a co_yield and resumes the consumer.
    struct YieldAwaiter {
      bool await_ready() const noexcept { return false; }
      std::coroutine_handle<> await_suspend(std::coroutine_handle<promise_type> h) noexcept {
        auto cont = std::exchange(h.promise().continuation_, {});
        return cont ? cont : std::noop_coroutine();
      }
      void await_resume() const noexcept {}
    };

    Generator get_return_object() noexcept {
      return Generator(std::coroutine_handle<promise_type>::from_promise(*this));
    }
    template <class U = T>
      requires std::is_constructible_v<T, U&&>
    YieldAwaiter yield_value(U&& value) {
      value_.emplace(std::forward<U>(value));
      return {};
    }
    void return_void() noexcept {}

    std::optional<T> value_;
  };
  using handle_type = std::coroutine_handle<promise_type>;
  using value_type = T;

  Generator() noexcept = default;
  explicit Generator(handle_type h) noexcept : h_(h) {}
  Generator(Generator&& other) noexcept : h_(std::exchange(other.h_, {})) {}
  Generator& operator=(Generator&& other) noexcept {
    if (this != &other) {
      if (h_) h_.destroy();
      h_ = std::exchange(other.h_, {});
    }
    return *this;
  }
  Generator(const Generator&) = delete;
  Generator& operator=(const Generator&) = delete;
  ~Generator() {
    if (h_) h_.destroy();
  }

  /// Awaits the next value: resumes the body up to its next co_yield.
  struct NextAwaiter : detail::Cancellable {
    explicit NextAwaiter(handle_type handle) noexcept : h(handle) {}
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
    bool forwarded = false;
    void cancel() override {
      forwarded = true;
      h.promise().request_cancel();
    }
    std::optional<T> await_resume() {
      if (parent) {
        parent->clear_waiting_on(this);
        // A cancel of the consumer that reached the body after its wait
        // had completed, and that the body did not meet before yielding,
        // goes back to the consumer's next await (see Task::Awaiter).
        if (forwarded && h && h.promise().take_pending_cancel()) parent->request_cancel();
      }
      if (!h) throw UsageError("next() on an empty Generator");
      auto& p = h.promise();
      if (h.done()) {
        if (auto e = std::exchange(p.exception_, nullptr)) std::rethrow_exception(e);
        return std::nullopt;
      }
      std::optional<T> out = std::move(p.value_);
      p.value_.reset();
      return out;
    }
  };
  /// The next value, or nullopt once the body has ended.
  NextAwaiter next() noexcept { return NextAwaiter(h_); }

  /// True once the body ran to its end.
  bool done() const noexcept { return !h_ || h_.done(); }
  /// Requests cancellation of the body's current (or next) await.
  void cancel() {
    if (h_ && !h_.done()) h_.promise().request_cancel();
  }

 private:
  handle_type h_;
};

template <class>
inline constexpr bool is_generator_v = false;
template <class T>
inline constexpr bool is_generator_v<Generator<T>> = true;

}  // namespace actio
