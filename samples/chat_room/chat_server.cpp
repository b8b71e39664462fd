// The chat room server: the room's state lives in one CAF actor, shared by
// every call on every serving loop without a lock. Handlers talk to it with
// actio::ask (request/reply) and receive its broadcasts in an actio::Mailbox.
#include <CLI/CLI.hpp>
#include <caf/all.hpp>
#include <iostream>

#include "actio/aio.hpp"
#include "actio/ask.hpp"
#include "actio/mailbox.hpp"
#include "chat.actio.h"

using namespace std::chrono_literals;
using chat::ChatMessage;

// [room]
using join_atom = caf::atom_constant<caf::atom("join")>;
using say_atom = caf::atom_constant<caf::atom("say")>;
using leave_atom = caf::atom_constant<caf::atom("leave")>;
using members_atom = caf::atom_constant<caf::atom("members")>;

/// The room: members in joining order, each with the mailbox of its call.
struct Room {
  std::string name;  // the sender of the room's own notices
  std::vector<std::pair<std::string, caf::actor>> members;

  void broadcast(const std::string& from, const std::string& text, const std::string& except) {
    for (auto& [name, inbox] : members)
      if (name != except) caf::anon_send(inbox, from, text);
  }
};

caf::behavior room_actor(caf::stateful_actor<Room>* self, std::string room_name) {
  self->state.name = std::move(room_name);
  return {
      [=](join_atom, const std::string& name, const caf::actor& inbox) {
        auto& members = self->state.members;
        for (auto& m : members)
          if (m.first == name) return false;
        self->state.broadcast(self->state.name, name + " joined", name);  // the room's own notice
        members.emplace_back(name, inbox);
        return true;
      },
      [=](say_atom, const std::string& from, const std::string& text) { self->state.broadcast(from, text, from); },
      [=](leave_atom, const std::string& name) {
        auto& members = self->state.members;
        auto before = members.size();
        std::erase_if(members, [&](auto& m) { return m.first == name; });
        if (members.size() != before) self->state.broadcast(self->state.name, name + " left", name);
      },
      [=](members_atom) {
        std::vector<std::string> names;
        for (auto& m : self->state.members) names.push_back(m.first);
        return names;
      },
  };
}
// [room]

// [servicer]
class ChatRoom final : public chat::ChatRoomServicer {
 public:
  explicit ChatRoom(caf::actor room) : room_(std::move(room)) {}

  actio::Task<void> Join(actio::RequestStream<ChatMessage>& messages, actio::ServicerContext& context) override {
    auto first = co_await messages.read();
    if (!first || first->from().empty() || first->from() == "room")
      context.abort(actio::StatusCode::INVALID_ARGUMENT, "the first message must name the member");
    std::string name = first->from();
    actio::Mailbox inbox(name);  // the room sends (from, text) here
    if (!co_await actio::ask<bool>(room_, 2s, join_atom::value, name, inbox.actor()))
      context.abort(actio::StatusCode::ALREADY_EXISTS, name + " is already in the room");
    std::cout << "chat_server: " << name << " joined" << std::endl;
    // However the call ends (half-close, cancel, deadline), the member leaves.
    context.add_done_callback([room = room_, name](actio::ServicerContext&) {
      caf::anon_send(room, leave_atom::value, name);
    });
    // Say what the member writes while delivering what the room sends.
    co_await actio::gather(listen(messages, name, inbox), deliver(inbox, context));
  }

  actio::Task<chat::MemberList> Members(const chat::MembersRequest&, actio::ServicerContext&) override {
    chat::MemberList list;
    for (auto& name : co_await actio::ask<std::vector<std::string>>(room_, 2s, members_atom::value))
      list.add_names(name);
    co_return list;
  }

 private:
  actio::Task<void> listen(actio::RequestStream<ChatMessage>& messages, std::string name, actio::Mailbox& inbox) {
    while (auto m = co_await messages.read()) caf::anon_send(room_, say_atom::value, name, m->text());
    caf::anon_send(room_, leave_atom::value, name);
    inbox.close();  // ends deliver() once it has written what is queued
  }

  static actio::Task<void> deliver(actio::Mailbox& inbox, actio::ServicerContext& context) {
    while (auto said = co_await inbox.receive_as<std::string, std::string>()) {
      ChatMessage out;
      out.set_from(std::get<0>(*said));
      out.set_text(std::get<1>(*said));
      co_await context.write(out);
    }
  }

  caf::actor room_;
};
// [servicer]

actio::Task<int> serve(int port, int loops) {
  caf::actor room = actio::actor_system().spawn(room_actor, std::string("room"));  // notices come from "room"
  auto server = actio::server({.loops = loops});
  chat::add_ChatRoomServicer_to_server(std::make_shared<ChatRoom>(room), server);
  int bound = server.add_insecure_port("127.0.0.1:" + std::to_string(port));
  co_await server.start();
  std::cout << "chat_server: listening on 127.0.0.1:" << bound << " with " << loops << " serving loops" << std::endl;
  co_await actio::serve_until_signal(server, 1s);
  caf::anon_send_exit(room, caf::exit_reason::user_shutdown);
  co_return 0;
}

int main(int argc, char** argv) {
  CLI::App app{"Actio chat room server"};
  int port = 50053, loops = 2;
  app.add_option("--port", port, "port to listen on (0 picks a free one)");
  app.add_option("--loops", loops, "serving loops (threads)");
  CLI11_PARSE(app, argc, argv);
  int rc = actio::run(serve(port, loops));
  std::cout << "chat_server: stopped" << std::endl;
  return rc;
}
