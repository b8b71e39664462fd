#pragma once
/// actio::Mailbox: a CAF actor whose messages queue up on an Actio loop, for
/// a coroutine there to await. It is how an actor pushes to a call: e.g. a
/// chat-room actor sends each new message to every member's mailbox, and each
/// member's handler writes what it receives to its response stream.
///
///   actio::Mailbox inbox;                       // homed on this loop
///   caf::anon_send(room, join_atom::value, inbox.actor());
///   while (auto msg = co_await inbox.receive_as<std::string, std::string>()) {
///     auto& [from, text] = *msg; ...
///   }
///
/// Any message type is accepted and queued in arrival order; receive() gives
/// nullopt once close() was called (or the mailbox is gone, for its actor).

#include <caf/actor.hpp>
#include <caf/message.hpp>

#include <memory>
#include <optional>
#include <string>
#include <tuple>

#include "actio/errors.hpp"
#include "actio/task.hpp"

namespace actio {

class Mailbox {
 public:
  /// A mailbox homed on the calling thread's loop (UsageError outside one);
  /// `name` is what the inspector shows beside it (e.g. its owner).
  Mailbox();
  explicit Mailbox(std::string name);
  ~Mailbox();
  Mailbox(const Mailbox&) = delete;
  Mailbox& operator=(const Mailbox&) = delete;

  /// The actor to send to (from any thread or actor).
  caf::actor actor() const;
  /// The next message, waiting for one; nullopt once closed.
  Task<std::optional<caf::message>> receive();
  /// The next message as a tuple of Ts...; a message of another shape
  /// throws UsageError naming it.
  template <class... Ts>
  Task<std::optional<std::tuple<Ts...>>> receive_as();
  /// Stops accepting messages and wakes receive() with nullopt. Idempotent.
  void close();
  /// Messages waiting.
  std::size_t size() const;

 private:
  struct State;
  std::shared_ptr<State> state_;
};

namespace detail {
[[noreturn]] void throw_unexpected_message(const caf::message& msg);
}

template <class... Ts>
Task<std::optional<std::tuple<Ts...>>> Mailbox::receive_as() {
  auto msg = co_await receive();
  if (!msg) co_return std::nullopt;
  if (!msg->template match_elements<Ts...>()) detail::throw_unexpected_message(*msg);
  co_return [&]<std::size_t... I>(std::index_sequence<I...>) {
    return std::tuple<Ts...>(msg->template get_as<Ts>(I)...);
  }(std::index_sequence_for<Ts...>{});
}

}  // namespace actio
