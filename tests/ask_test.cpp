// actio::ask: awaiting CAF actors from coroutines, and a servicer whose state
// lives in an actor (no locks, shared by calls on several serving loops).
#include <caf/all.hpp>

#include "actio/ask.hpp"
#include "test_util.hpp"

namespace {

using namespace actio;
using namespace actio::testing;

using add_atom = caf::atom_constant<caf::atom("add")>;
using get_atom = caf::atom_constant<caf::atom("get")>;
using hold_atom = caf::atom_constant<caf::atom("hold")>;
using fail_atom = caf::atom_constant<caf::atom("fail")>;

/// A counter actor: its state is touched only by the actor itself.
struct CounterState {
  int total = 0;
  std::vector<caf::response_promise> held;  // requests it never answers
};
caf::behavior counter(caf::stateful_actor<CounterState>* self, int start) {
  self->state.total = start;
  return {
      [=](add_atom, int by) { return self->state.total += by; },
      [=](get_atom) { return self->state.total; },
      [=](hold_atom) {
        self->state.held.push_back(self->make_response_promise());
        return self->state.held.back();
      },
      [=](fail_atom) -> caf::result<int> { return make_grpc_error(StatusCode::NOT_FOUND, "no such counter"); },
  };
}

TEST(Ask, RepliesAndEveryErrorMapping) {
  auto actor = actor_system().spawn(counter, 0);
  actio::run([](caf::actor c) -> Task<void> {
    EXPECT_EQ(co_await ask<int>(c, 1s, add_atom::value, 5), 5);
    EXPECT_EQ(co_await ask<int>(c, 1s, add_atom::value, 2), 7);
    EXPECT_EQ(co_await ask<int>(c, 1s, get_atom::value), 7);

    auto timeout = co_await expect_rpc_error(ask<int>(c, 100ms, hold_atom::value));
    EXPECT_EQ(timeout.code(), StatusCode::DEADLINE_EXCEEDED);
    EXPECT_EQ(timeout.details(), "ask: no reply within 100 ms");

    auto mapped = co_await expect_rpc_error(ask<int>(c, 1s, fail_atom::value));
    EXPECT_EQ(mapped.code(), StatusCode::NOT_FOUND);
    EXPECT_EQ(mapped.details(), "no such counter");

    auto unknown = co_await expect_rpc_error(ask<int>(c, 1s, std::string("what?")));
    EXPECT_EQ(unknown.code(), StatusCode::UNIMPLEMENTED);

    auto nobody = co_await expect_rpc_error(ask<int>(caf::actor{}, 1s, get_atom::value));
    EXPECT_EQ(nobody.code(), StatusCode::UNAVAILABLE);
  }(actor));
  caf::anon_send_exit(actor, caf::exit_reason::user_shutdown);
}

TEST(Ask, ADeadActorIsUnavailable) {
  auto actor = actor_system().spawn(counter, 0);
  caf::anon_send_exit(actor, caf::exit_reason::kill);
  actio::run([](caf::actor c) -> Task<void> {
    for (int i = 0; i < 100; ++i) {  // the exit is asynchronous: wait until it took effect
      try {
        co_await ask<int>(c, 1s, get_atom::value);
      } catch (const AioRpcError& e) {
        EXPECT_EQ(e.code(), StatusCode::UNAVAILABLE);
        co_return;
      }
      co_await sleep(5ms);
    }
    ADD_FAILURE() << "the killed actor kept answering";
  }(actor));
}

TEST(Ask, CancellingTheAskingTaskStopsTheWaitAndALateReplyIsDropped) {
  auto actor = actor_system().spawn(counter, 0);
  actio::run([](caf::actor c) -> Task<void> {
    auto waiting = [](caf::actor who) -> Task<bool> {
      try {
        co_await ask<int>(who, 200ms, hold_atom::value);
      } catch (const CancelledError&) {
        co_return true;
      }
      co_return false;
    };
    Task<bool> t = waiting(c);
    auto canceller = [](Task<bool>& victim) -> Task<void> {
      co_await sleep(20ms);
      victim.cancel();
    };
    auto forward = [](Task<bool>& v) -> Task<bool> { co_return co_await v; };
    auto [cancelled, unused] = co_await gather(forward(t), canceller(t));
    EXPECT_TRUE(cancelled);
    co_await sleep(300ms);  // the helper actor's timeout error arrives and is dropped
    EXPECT_EQ(co_await ask<int>(c, 1s, get_atom::value), 0);
  }(actor));
  caf::anon_send_exit(actor, caf::exit_reason::user_shutdown);
}

TEST(Ask, AServicerWhoseStateLivesInAnActor) {
  // Calls on two serving loops at once all add to the same actor-held total.
  auto total = actor_system().spawn(counter, 0);
  auto add = raw([total](const std::string& by, ServicerContext&) -> Task<std::string> {
    int now = co_await ask<int>(total, 2s, add_atom::value, std::stoi(by));
    co_return std::to_string(now);
  });
  ServerOptions two_loops;
  two_loops.loops = 2;
  with_server(
      {{"Add", add}},
      [](Fixture& f) -> Task<void> {
        std::vector<Task<std::string>> calls;
        for (int i = 0; i < 50; ++i) {
          calls.push_back([](Fixture& fx) -> Task<std::string> { co_return co_await fx.method("Add")("1"); }(f));
        }
        auto replies = co_await gather(std::move(calls));
        std::set<std::string> distinct(replies.begin(), replies.end());
        EXPECT_EQ(distinct.size(), 50u);  // every call saw its own total: no lost update
        EXPECT_EQ(distinct.count("50"), 1u);
      },
      two_loops);
  caf::anon_send_exit(total, caf::exit_reason::user_shutdown);
}

}  // namespace
