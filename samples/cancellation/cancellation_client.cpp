// The cancellation client (grpc's examples/python/cancellation/client.py).
// The Python client cancels when the user presses Ctrl-C (future.cancel() /
// result_generator.cancel() in a SIGINT handler); this one cancels on its own
// so that a run can be checked:
//  1. a unary Find that cannot succeed, cancelled after 0.3 s by cancelling
//     the task that awaits it (which cancels the RPC, as in grpc.aio);
//  2. a server-streaming FindRange, cancelled with call.cancel() after three
//     candidates.
// After each, a quick Find shows the server (one call at a time) is free
// again: the cancelled search really stopped.
#include <CLI/CLI.hpp>
#include <iostream>

#include "actio/aio.hpp"
#include "hash_name.actio.h"

using hash_name::HashNameRequest;
using hash_name::HashNameResponse;
using namespace std::chrono_literals;

HashNameRequest request_for(const std::string& name, int ideal, int interesting = 0) {
  HashNameRequest r;
  r.set_desired_name(name);
  r.set_ideal_hamming_distance(ideal);
  r.set_interesting_hamming_distance(interesting);
  return r;
}

void print_candidate(const HashNameResponse& r) {
  std::cout << "  secret: '" << r.secret() << "' hashed_name: '" << r.hashed_name()
            << "' hamming_distance: " << r.hamming_distance() << std::endl;
}

/// Awaits the Find call; true if this task was cancelled while waiting.
actio::Task<bool> await_find(actio::UnaryUnaryCall<HashNameResponse>& call) {
  try {
    HashNameResponse r = co_await call;
    std::cout << "Find: unexpectedly found" << std::endl;
    print_candidate(r);
  } catch (const actio::CancelledError&) {
    co_return true;
  }
  co_return false;
}

/// Plays the user's Ctrl-C: cancels `victim` after `delay`.
actio::Task<void> cancel_after(actio::Task<bool>& victim, actio::Duration delay) {
  co_await actio::sleep(delay);
  victim.cancel();
}

/// Awaits `task` where gather can run it beside the canceller.
actio::Task<bool> forward(actio::Task<bool>& task) { co_return co_await task; }

/// Finds a secret for "a" (the first few hashes do); the server takes one call
/// at a time and answers RESOURCE_EXHAUSTED while another runs, so this
/// retries briefly until the cancelled call is gone.
actio::Task<void> check_server_is_free(const hash_name::HashFinderStub& stub, std::string after) {
  HashNameRequest probe = request_for("a", 0);
  bool done = false;
  for (int attempt = 1; attempt <= 20 && !done; ++attempt) {
    try {
      HashNameResponse r = co_await stub.Find(probe, {.timeout = 2s});
      std::cout << "after " << after << " was cancelled the server is free again: Find('a') found '" << r.secret()
                << "'" << std::endl;
      done = true;
    } catch (const actio::AioRpcError& e) {
      if (e.code() != actio::StatusCode::RESOURCE_EXHAUSTED) throw;
    }
    if (!done) co_await actio::sleep(50ms);
  }
  if (!done) std::cout << "after " << after << " was cancelled the server stayed busy" << std::endl;
}

/// Python: run_unary_client, with the Ctrl-C played by cancel_after.
actio::Task<void> cancel_unary(const hash_name::HashFinderStub& stub) {
  // No secret's hash holds this whole name: the search would run for ever.
  auto call = stub.Find(request_for("cancellation", 0), {.timeout = 10s, .wait_for_ready = true});
  std::cout << "Find: started a search that cannot succeed" << std::endl;
  actio::Task<bool> waiting = await_find(call);
  auto [cancelled, unused] = co_await actio::gather(forward(waiting), cancel_after(waiting, 0.3s));
  if (cancelled) std::cout << "Find: cancelled the awaiting task after 0.3 s; it got CancelledError" << std::endl;
  std::cout << "Find: the call ended " << actio::to_string(co_await call.code()) << ", details '"
            << co_await call.details() << "'" << std::endl;
}

/// Python: run_streaming_client, cancelling after three candidates.
actio::Task<void> cancel_stream(const hash_name::HashFinderStub& stub, int interesting) {
  auto call = stub.FindRange(request_for("cancellation", 0, interesting), {.timeout = 10s, .wait_for_ready = true});
  std::cout << "FindRange: started, streaming candidates within " << interesting << " letters" << std::endl;
  int received = 0;
  bool ended = false;
  while (received < 3 && !ended) {
    auto candidate = co_await call.read();
    if (candidate) {
      print_candidate(*candidate);
      ++received;
    } else {
      ended = true;
    }
  }
  std::cout << "FindRange: got " << received << " candidates, cancelling the call" << std::endl;
  call.cancel();
  std::cout << "FindRange: the call ended " << actio::to_string(co_await call.code()) << ", details '"
            << co_await call.details() << "'" << std::endl;
}

actio::Task<int> run(std::string target, int interesting) {
  auto channel = actio::insecure_channel(target);
  hash_name::HashFinderStub stub(channel);
  co_await cancel_unary(stub);
  co_await check_server_is_free(stub, "Find");
  co_await cancel_stream(stub, interesting);
  co_await check_server_is_free(stub, "FindRange");
  co_await channel.close();
  co_return 0;
}

int main(int argc, char** argv) {
  std::string target = "localhost:50051";
  CLI::App app{"Actio cancellation client"};
  int interesting = 7;
  app.add_option("--target", target, "server address");
  app.add_option("--interesting", interesting, "FindRange streams candidates at most this many letters off");
  CLI11_PARSE(app, argc, argv);
  try {
    return actio::run(run(target, interesting));
  } catch (const std::exception& e) {
    std::cerr << "cancellation_client: " << e.what() << std::endl;
    return 1;
  }
}
