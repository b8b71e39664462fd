// The chat room client: two members, alice and bob, on one channel, each a
// bidi Join call; they greet each other and leave, printing what they hear.
#include <CLI/CLI.hpp>
#include <iostream>

#include "actio/aio.hpp"
#include "chat.actio.h"

using namespace std::chrono_literals;
using chat::ChatMessage;

ChatMessage says(const std::string& from, const std::string& text) {
  ChatMessage m;
  m.set_from(from);
  m.set_text(text);
  return m;
}

/// Reads the next message of `member`'s stream and prints it.
actio::Task<void> hear(const std::string& member, const actio::StreamStreamCall<ChatMessage, ChatMessage>& call) {
  auto m = co_await call.read();
  if (!m) throw std::runtime_error(member + "'s stream ended early");
  std::cout << member << " hears " << m->from() << ": " << m->text() << std::endl;
}

actio::Task<std::string> members(const chat::ChatRoomStub& stub) {
  auto list = co_await stub.Members(chat::MembersRequest{}, {.timeout = 5s});
  std::string out;
  for (const auto& n : list.names()) out += (out.empty() ? "" : ", ") + n;
  co_return out;
}

// [client]
actio::Task<int> chat_between_two(std::string target) {
  auto channel = actio::insecure_channel(target);
  chat::ChatRoomStub stub(channel);
  auto alice = stub.Join({.timeout = 30s});
  auto bob = stub.Join({.timeout = 30s});

  co_await alice.write(says("alice", ""));  // the first message names the member
  for (;;) {  // wait until alice is in, so that she hears bob join
    std::string in = co_await members(stub);
    if (in == "alice") break;
    co_await actio::sleep(10ms);
  }
  co_await bob.write(says("bob", ""));
  co_await hear("alice", alice);  // room: bob joined

  co_await alice.write(says("alice", "Hello, Bob!"));
  co_await hear("bob", bob);
  co_await bob.write(says("bob", "Hi, Alice!"));
  co_await hear("alice", alice);
  std::cout << "members: " << co_await members(stub) << std::endl;

  co_await alice.done_writing();  // alice leaves
  while (co_await alice.read()) {
  }
  co_await hear("bob", bob);  // room: alice left
  co_await bob.done_writing();
  while (co_await bob.read()) {
  }
  std::cout << "left: alice " << actio::to_string(co_await alice.code()) << ", bob "
            << actio::to_string(co_await bob.code()) << std::endl;
  co_await channel.close();
  co_return 0;
}
// [client]

int main(int argc, char** argv) {
  std::string target = "localhost:50053";
  CLI::App app{"Actio chat room client"};
  app.add_option("--target", target, "server address");
  CLI11_PARSE(app, argc, argv);
  try {
    return actio::run(chat_between_two(target));
  } catch (const std::exception& e) {
    std::cerr << "chat_client: " << e.what() << std::endl;
    return 1;
  }
}
