#pragma once
/// The error hierarchy, mirroring grpc.aio's: BaseError <- UsageError,
/// AbortError, InternalError, AioRpcError. CancelledError stands apart (as
/// asyncio.CancelledError does) so `catch (const BaseError&)` never swallows a
/// cancellation.

#include <exception>
#include <stdexcept>
#include <string>

#include "actio/metadata.hpp"
#include "actio/status.hpp"

namespace actio {

/// Root of Actio's own errors.
class BaseError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// API misuse: wrong thread, closed channel, a second abort(), bad metadata...
class UsageError : public BaseError {
 public:
  using BaseError::BaseError;
};

/// Thrown by ServicerContext::abort() once the status has been sent.
class AbortError : public BaseError {
 public:
  AbortError() : BaseError("Locally aborted.") {}
};

/// A failure inside gRPC itself (a batch that could not start, ...).
class InternalError : public BaseError {
 public:
  using BaseError::BaseError;
};

/// Stream-state misuse that grpc.aio reports as asyncio.InvalidStateError,
/// e.g. write() after done_writing().
class InvalidStateError : public BaseError {
 public:
  using BaseError::BaseError;
};

/// The final non-OK status of a client call, as a snapshot.
class AioRpcError : public BaseError {
 public:
  AioRpcError(StatusCode code, std::string details, Metadata initial_metadata = {},
              Metadata trailing_metadata = {}, std::string debug_error_string = {});

  StatusCode code() const noexcept { return code_; }
  const std::string& details() const noexcept { return details_; }
  const Metadata& initial_metadata() const noexcept { return initial_; }
  const Metadata& trailing_metadata() const noexcept { return trailing_; }
  const std::string& debug_error_string() const noexcept { return debug_; }

 private:
  StatusCode code_;
  std::string details_;
  Metadata initial_;
  Metadata trailing_;
  std::string debug_;
};

/// The awaiting point of a cancelled task or call throws this.
class CancelledError : public std::exception {
 public:
  CancelledError() = default;
  explicit CancelledError(std::string why) : why_(std::move(why)) {}
  const char* what() const noexcept override { return why_.c_str(); }

 private:
  std::string why_ = "cancelled";
};

}  // namespace actio
