// The cancellation server (grpc's examples/python/cancellation/server.py): a
// HashFinder whose searches run long. It takes one call at a time
// (maximum_concurrent_rpcs = 1, as the Python server), so a cancelled call
// must really stop before the next one can be served.
//
// Where the Python server runs the search in a thread and stops it from a
// done callback (context.add_callback sets a threading.Event the search
// polls), an Actio handler is a coroutine on the server's loop: it searches in
// slices and yields between them, and a client cancel makes the point where
// it is suspended throw CancelledError. context.cancelled() is then true and
// the done callbacks run once the handler has ended.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdint>
#include <iostream>
#include <optional>

#include "actio/aio.hpp"
#include "hash_name.actio.h"

using hash_name::HashNameRequest;
using hash_name::HashNameResponse;
using namespace std::chrono_literals;

// -- the search (this project's own; grpc's search.py hashes with SHA-256) -----

/// The hash of `secret` as 13 letters a-z (FNV-1a, 64 bits, in base 26).
std::string hash_letters(const std::string& secret) {
  std::uint64_t h = 14695981039346656037ull;
  for (unsigned char c : secret) {
    h ^= c;
    h *= 1099511628211ull;
  }
  std::string out;
  for (int i = 0; i < 13; ++i) {
    out += static_cast<char>('a' + h % 26);
    h /= 26;
  }
  return out;
}

/// The smallest Hamming distance between `name` and a same-length part of `hash`.
int distance(const std::string& name, const std::string& hash) {
  if (name.size() > hash.size()) return static_cast<int>(name.size());
  int best = static_cast<int>(name.size());
  for (std::size_t at = 0; at + name.size() <= hash.size(); ++at) {
    int d = 0;
    for (std::size_t i = 0; i < name.size(); ++i) d += name[i] != hash[at + i];
    best = std::min(best, d);
  }
  return best;
}

/// Walks the candidate secrets "0", "1", ... in base 36.
struct Search {
  std::string name;
  std::uint64_t hashed = 0;  // candidates tried so far

  /// Tries up to `count` more candidates; returns the first one within
  /// `limit` of the name, if any.
  std::optional<HashNameResponse> scan(std::uint64_t count, int limit) {
    for (std::uint64_t end = hashed + count; hashed < end;) {
      std::string secret;
      for (std::uint64_t v = hashed++; secret.empty() || v; v /= 36) secret += "0123456789abcdefghijklmnopqrstuvwxyz"[v % 36];
      std::string hash = hash_letters(secret);
      int d = distance(name, hash);
      if (d <= limit) {
        HashNameResponse r;
        r.set_secret(secret);
        r.set_hashed_name(hash);
        r.set_hamming_distance(d);
        return r;
      }
    }
    return std::nullopt;
  }
};

constexpr std::uint64_t kSlice = 10000;  // candidates between two yields to the loop

// -- the service ---------------------------------------------------------------

class HashFinder final : public hash_name::HashFinderServicer {
 public:
  explicit HashFinder(std::uint64_t maximum_hashes) : maximum_hashes_(maximum_hashes) {}

  actio::Task<HashNameResponse> Find(const HashNameRequest& request, actio::ServicerContext& context) override {
    std::cout << "Find('" << request.desired_name() << "', ideal " << request.ideal_hamming_distance()
              << "): searching" << std::endl;
    // Python: context.add_callback(on_rpc_done)
    context.add_done_callback([](actio::ServicerContext& c) {
      std::cout << "Find: done callback: cancelled() = " << std::boolalpha << c.cancelled() << std::endl;
    });
    Search search{request.desired_name()};
    try {
      while (search.hashed < maximum_hashes_) {
        auto hit = search.scan(std::min(kSlice, maximum_hashes_ - search.hashed), request.ideal_hamming_distance());
        if (hit) {
          std::cout << "Find: found '" << hit->secret() << "' after " << search.hashed << " hashes" << std::endl;
          co_return *hit;
        }
        co_await actio::sleep(0s);  // yield: the loop sees a cancel here
      }
    } catch (const actio::CancelledError&) {
      std::cout << "Find: cancelled by the client after " << search.hashed
                << " hashes (cancelled() = " << std::boolalpha << context.cancelled() << "); search stopped"
                << std::endl;
      throw;
    }
    // Python cancels the RPC when the search runs out of budget.
    std::cout << "Find: gave up after " << search.hashed << " hashes" << std::endl;
    context.abort(actio::StatusCode::RESOURCE_EXHAUSTED, "no match within the maximum number of hashes");
  }

  actio::Task<void> FindRange(const HashNameRequest& request, actio::ServicerContext& context) override {
    std::cout << "FindRange('" << request.desired_name() << "', ideal " << request.ideal_hamming_distance()
              << ", interesting " << request.interesting_hamming_distance() << "): searching" << std::endl;
    context.add_done_callback([](actio::ServicerContext& c) {
      std::cout << "FindRange: done callback: cancelled() = " << std::boolalpha << c.cancelled() << std::endl;
    });
    Search search{request.desired_name()};
    int limit = std::max(request.ideal_hamming_distance(), request.interesting_hamming_distance());
    int sent = 0;
    bool ideal_found = false;
    try {
      while (!ideal_found && search.hashed < maximum_hashes_) {
        auto hit = search.scan(std::min(kSlice, maximum_hashes_ - search.hashed), limit);
        if (hit) {
          ideal_found = hit->hamming_distance() <= request.ideal_hamming_distance();
          co_await context.write(*hit);  // Python: yield candidate
          ++sent;
        } else {
          co_await actio::sleep(0s);
        }
      }
    } catch (const actio::CancelledError&) {
      std::cout << "FindRange: cancelled by the client after " << search.hashed << " hashes and " << sent
                << " candidates sent (cancelled() = " << std::boolalpha << context.cancelled()
                << "); search stopped" << std::endl;
      throw;
    }
    std::cout << "FindRange: finished after " << search.hashed << " hashes, " << sent << " candidates sent"
              << std::endl;
  }

 private:
  std::uint64_t maximum_hashes_;
};

actio::Task<int> serve(int port, std::uint64_t maximum_hashes) {
  // One call at a time, as the Python server's single worker thread.
  auto server = actio::server({.maximum_concurrent_rpcs = 1});
  hash_name::add_HashFinderServicer_to_server(std::make_shared<HashFinder>(maximum_hashes), server);
  int bound = server.add_insecure_port("127.0.0.1:" + std::to_string(port));
  co_await server.start();
  std::cout << "cancellation_server: listening on 127.0.0.1:" << bound << std::endl;
  co_await actio::serve_until_signal(server, 1s);
  co_return 0;
}

int main(int argc, char** argv) {
  CLI::App app{"Actio cancellation server: a HashFinder"};
  int port = 50051;
  std::uint64_t maximum_hashes = 100'000'000;
  app.add_option("--port", port, "port to listen on (0 picks a free one)");
  app.add_option("--maximum-hashes", maximum_hashes, "hashes a search may try before it gives up");
  CLI11_PARSE(app, argc, argv);
  int rc = actio::run(serve(port, maximum_hashes));
  std::cout << "cancellation_server: stopped" << std::endl;
  return rc;
}
