#pragma once
/// Per-method aggregates: calls started, calls per second over a window,
/// errors by code, and a latency histogram with fixed log-spaced buckets.

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "call_record.hpp"

namespace actio::inspector {

/// Upper bounds (seconds) of the latency buckets, 1-2-5 steps from 100 µs to
/// 50 s; one more bucket holds everything slower.
inline constexpr std::array<double, 18> kLatencyBounds = {1e-4, 2e-4, 5e-4, 1e-3, 2e-3, 5e-3, 1e-2, 2e-2, 5e-2,
                                                          0.1,  0.2,  0.5,  1.0,  2.0,  5.0,  10.0, 20.0, 50.0};
inline constexpr std::size_t kLatencyBuckets = kLatencyBounds.size() + 1;

/// The bucket of a latency: the first whose bound is above it.
std::size_t latency_bucket(double seconds) noexcept;
/// "<100us", "<200us", ..., "<50s", ">=50s".
std::string latency_bucket_label(std::size_t bucket);

class MethodStats {
 public:
  /// Starts are counted per second of the process's clock for this long
  /// (complete seconds, before the current one).
  static constexpr int kRateSeconds = 60;

  // -- recording ------------------------------------------------------------

  /// A call of this method started at `time` (unix seconds).
  void record_start(double time);
  /// A call of this method ended after `latency` seconds with `code`.
  void record_end(double latency, int code);
  /// `calls` calls that the process only counted (a CallSummary at `time`):
  /// started and ended, with their codes (OK included) and latency buckets.
  void record_summary(double time, std::uint64_t calls, const std::map<int, std::uint64_t>& codes,
                      const std::array<std::uint64_t, kLatencyBuckets>& latency);
  /// Calls known only from summaries (a part of started() and finished()).
  std::uint64_t summarized() const noexcept { return summarized_; }
  /// Adds `other` (the same method in another process).
  void merge(const MethodStats& other);

  // -- properties -----------------------------------------------------------

  std::uint64_t started() const noexcept { return started_; }
  std::uint64_t finished() const noexcept { return finished_; }
  /// Finished with a code other than OK.
  std::uint64_t failed() const noexcept { return failed_; }
  /// Finished calls by non-OK code.
  const std::map<int, std::uint64_t>& errors() const noexcept { return errors_; }
  const std::array<std::uint64_t, kLatencyBuckets>& latency() const noexcept { return latency_; }
  /// Calls started per second over the `window` complete seconds before
  /// the one holding `now` (still filling up: counting it over a full
  /// second would read low); window <= kRateSeconds.
  double calls_per_second(double now, int window) const noexcept;
  /// Calls started in each of the `seconds` complete seconds before the one
  /// holding `now`, oldest first (so the last point does not dip).
  std::vector<float> rate_series(double now, int seconds) const;
  /// The latency (seconds, the bucket's upper bound) under which `q` of the
  /// finished calls fall; 0 with no finished call.
  double latency_quantile(double q) const noexcept;

 private:
  std::uint64_t started_ = 0;
  std::uint64_t finished_ = 0;
  std::uint64_t failed_ = 0;
  std::uint64_t summarized_ = 0;
  std::map<int, std::uint64_t> errors_;
  std::array<std::uint64_t, kLatencyBuckets> latency_{};
  // A ring of per-second start counts; slot_second_ says which second a slot
  // holds: kRateSeconds complete seconds plus the one filling up.
  static constexpr int kRingSeconds = kRateSeconds + 1;
  std::array<std::uint32_t, kRingSeconds> per_second_{};
  std::array<std::int64_t, kRingSeconds> slot_second_{};
  bool any_second_ = false;

  std::uint32_t count_at(std::int64_t second) const noexcept;
  void record_starts(double time, std::uint64_t calls);
};

/// One row of the stats panel: a method on one side (client or server) and
/// its aggregates, merged over processes. The sides are kept apart: with both
/// ends of a call inspected, each end counts its own call and its own latency.
struct MethodSummary {
  std::string method;
  Side side = Side::unspecified;
  MethodStats stats;
};

}  // namespace actio::inspector
