#pragma once
/// Status codes and the final status of an RPC.

#include <cstdint>
#include <string>
#include <string_view>

#include "actio/metadata.hpp"

namespace actio {

/// The 17 gRPC status codes, with grpc's numbering.
enum class StatusCode : int {
  OK = 0,
  CANCELLED = 1,
  UNKNOWN = 2,
  INVALID_ARGUMENT = 3,
  DEADLINE_EXCEEDED = 4,
  NOT_FOUND = 5,
  ALREADY_EXISTS = 6,
  PERMISSION_DENIED = 7,
  RESOURCE_EXHAUSTED = 8,
  FAILED_PRECONDITION = 9,
  ABORTED = 10,
  OUT_OF_RANGE = 11,
  UNIMPLEMENTED = 12,
  INTERNAL = 13,
  UNAVAILABLE = 14,
  DATA_LOSS = 15,
  UNAUTHENTICATED = 16,
};

/// Returns the canonical upper-case name, e.g. "DEADLINE_EXCEEDED".
std::string_view to_string(StatusCode code) noexcept;

/// Returns the code for a raw integer; out-of-range values map to UNKNOWN.
StatusCode status_code_from_int(int value) noexcept;

/// The final status of an RPC: a code, a human-readable message and the
/// trailing metadata that goes with it (grpc.Status's three fields).
struct Status {
  StatusCode code = StatusCode::OK;
  std::string details;
  Metadata trailing_metadata;

  bool ok() const noexcept { return code == StatusCode::OK; }
  friend bool operator==(const Status&, const Status&) = default;
};

}  // namespace actio
