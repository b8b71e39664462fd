#pragma once
/// What one interceptor did to a call (client: Call::interceptors(); server:
/// ServicerContext::interceptors()), for logs, tests and the inspector.

#include <string>
#include <vector>

#include "actio/options.hpp"

namespace actio {

/// One interceptor a call went through (Call::interceptors()).
struct InterceptorRecord {
  std::string name;
  /// Times it ran (more than one when an outer interceptor retried).
  int runs = 0;
  /// Time from entering the interceptor to its answer, and the part of it
  /// spent in its continuation(s) (the inner interceptors and the RPC's start).
  Duration total{};
  Duration in_continuation{};
  int continuation_calls = 0;
  /// What it changed, e.g. "timeout 5s -> 1s", "metadata +authorization",
  /// "answered without an RPC", "replaced the response stream", "failed: ...".
  std::vector<std::string> changes;
};

}  // namespace actio
