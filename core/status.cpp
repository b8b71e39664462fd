#include "actio/status.hpp"

#include <array>

#include "actio/errors.hpp"

namespace actio {

namespace {
constexpr std::array<std::string_view, 17> kNames = {
    "OK",           "CANCELLED",         "UNKNOWN",        "INVALID_ARGUMENT",    "DEADLINE_EXCEEDED",
    "NOT_FOUND",    "ALREADY_EXISTS",    "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
    "ABORTED",      "OUT_OF_RANGE",      "UNIMPLEMENTED",  "INTERNAL",            "UNAVAILABLE",
    "DATA_LOSS",    "UNAUTHENTICATED"};
}  // namespace

std::string_view to_string(StatusCode code) noexcept {
  auto i = static_cast<std::size_t>(code);
  return i < kNames.size() ? kNames[i] : std::string_view("UNKNOWN");
}

StatusCode status_code_from_int(int value) noexcept {
  return value >= 0 && value < static_cast<int>(kNames.size()) ? static_cast<StatusCode>(value)
                                                                 : StatusCode::UNKNOWN;
}

namespace {
std::string rpc_error_text(StatusCode code, const std::string& details, const std::string& debug) {
  std::string s = "<AioRpcError of RPC that terminated with: status=StatusCode.";
  s += to_string(code);
  s += ", details=\"" + details + "\"";
  if (!debug.empty()) s += ", debug_error_string=\"" + debug + "\"";
  s += ">";
  return s;
}
}  // namespace

AioRpcError::AioRpcError(StatusCode code, std::string details, Metadata initial_metadata,
                         Metadata trailing_metadata, std::string debug_error_string)
    : BaseError(rpc_error_text(code, details, debug_error_string)),
      code_(code),
      details_(std::move(details)),
      initial_(std::move(initial_metadata)),
      trailing_(std::move(trailing_metadata)),
      debug_(std::move(debug_error_string)) {}

}  // namespace actio
