#include "method_stats.hpp"

#include <algorithm>
#include <cmath>

namespace actio::inspector {

namespace {

std::int64_t second_of(double time) noexcept { return static_cast<std::int64_t>(std::floor(time)); }

std::size_t slot_of(std::int64_t second, std::size_t slots) noexcept {
  auto n = static_cast<std::int64_t>(slots);
  return static_cast<std::size_t>(((second % n) + n) % n);
}

std::string seconds_label(double s) {
  if (s < 1e-3) return std::to_string(static_cast<int>(std::lround(s * 1e6))) + "us";
  if (s < 1.0) return std::to_string(static_cast<int>(std::lround(s * 1e3))) + "ms";
  return std::to_string(static_cast<int>(std::lround(s))) + "s";
}

}  // namespace

std::size_t latency_bucket(double seconds) noexcept {
  auto it = std::upper_bound(kLatencyBounds.begin(), kLatencyBounds.end(), seconds);
  return static_cast<std::size_t>(it - kLatencyBounds.begin());
}

std::string latency_bucket_label(std::size_t bucket) {
  if (bucket < kLatencyBounds.size()) return "<" + seconds_label(kLatencyBounds[bucket]);
  return ">=" + seconds_label(kLatencyBounds.back());
}

void MethodStats::record_start(double time) { record_starts(time, 1); }

void MethodStats::record_starts(double time, std::uint64_t calls) {
  started_ += calls;
  std::int64_t second = second_of(time);
  std::size_t slot = slot_of(second, per_second_.size());
  if (!any_second_ || slot_second_[slot] < second) {
    // The slot held an older second (or nothing): it now counts this one.
    slot_second_[slot] = second;
    per_second_[slot] = 0;
    any_second_ = true;
  } else if (slot_second_[slot] > second) {
    return;  // older than the ring reaches: only the total counts it
  }
  per_second_[slot] += static_cast<std::uint32_t>(calls);
}

void MethodStats::record_end(double latency, int code) {
  ++finished_;
  ++latency_[latency_bucket(std::max(0.0, latency))];
  if (code != 0) {
    ++failed_;
    ++errors_[code];
  }
}

void MethodStats::record_summary(double time, std::uint64_t calls, const std::map<int, std::uint64_t>& codes,
                                 const std::array<std::uint64_t, kLatencyBuckets>& latency) {
  record_starts(time, calls);
  summarized_ += calls;
  finished_ += calls;
  for (const auto& [code, n] : codes) {
    if (code == 0) continue;
    failed_ += n;
    errors_[code] += n;
  }
  for (std::size_t i = 0; i < kLatencyBuckets; ++i) latency_[i] += latency[i];
}

void MethodStats::merge(const MethodStats& other) {
  started_ += other.started_;
  summarized_ += other.summarized_;
  finished_ += other.finished_;
  failed_ += other.failed_;
  for (const auto& [code, n] : other.errors_) errors_[code] += n;
  for (std::size_t i = 0; i < kLatencyBuckets; ++i) latency_[i] += other.latency_[i];
  if (!other.any_second_) return;
  for (std::size_t slot = 0; slot < per_second_.size(); ++slot) {
    if (other.per_second_[slot] == 0) continue;
    if (!any_second_ || slot_second_[slot] < other.slot_second_[slot]) {
      slot_second_[slot] = other.slot_second_[slot];
      per_second_[slot] = other.per_second_[slot];
    } else if (slot_second_[slot] == other.slot_second_[slot]) {
      per_second_[slot] += other.per_second_[slot];
    }
  }
  any_second_ = true;
}

std::uint32_t MethodStats::count_at(std::int64_t second) const noexcept {
  std::size_t slot = slot_of(second, per_second_.size());
  return any_second_ && slot_second_[slot] == second ? per_second_[slot] : 0;
}

double MethodStats::calls_per_second(double now, int window) const noexcept {
  window = std::clamp(window, 1, kRateSeconds);
  // The last complete second: the one holding `now` is still filling up.
  std::int64_t last = second_of(now) - 1;
  std::uint64_t sum = 0;
  for (std::int64_t s = last - window + 1; s <= last; ++s) sum += count_at(s);
  return static_cast<double>(sum) / window;
}

std::vector<float> MethodStats::rate_series(double now, int seconds) const {
  seconds = std::clamp(seconds, 1, kRateSeconds);
  std::vector<float> out;
  out.reserve(static_cast<std::size_t>(seconds));
  std::int64_t last = second_of(now) - 1;  // as calls_per_second: complete seconds only
  for (std::int64_t s = last - seconds + 1; s <= last; ++s) out.push_back(static_cast<float>(count_at(s)));
  return out;
}

double MethodStats::latency_quantile(double q) const noexcept {
  if (finished_ == 0) return 0;
  auto want = static_cast<std::uint64_t>(std::ceil(q * static_cast<double>(finished_)));
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < kLatencyBuckets; ++i) {
    seen += latency_[i];
    if (seen >= std::max<std::uint64_t>(want, 1))
      return i < kLatencyBounds.size() ? kLatencyBounds[i] : kLatencyBounds.back();
  }
  return kLatencyBounds.back();
}

}  // namespace actio::inspector
