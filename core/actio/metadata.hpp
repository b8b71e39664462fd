#pragma once
/// Metadata: an ordered multimap of (key, value) pairs, as grpc.aio.Metadata.

#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace actio {

/// Ordered multimap of metadata. Keys are lower-cased on insertion and
/// validated (characters `0-9 a-z - _ .`, not starting with ':' or "grpc-"
/// — except kStatusDetailsKey, the rich error model's trailing entry);
/// values of keys ending in "-bin" are arbitrary bytes, other values must be
/// printable ASCII. Invalid input throws UsageError naming the key.
class Metadata {
 public:
  /// "grpc-status-details-bin": a serialized google.rpc.Status (code, message,
  /// details as google.protobuf.Any) sent in the trailing metadata of a failed
  /// call — grpc's rich error model (Python: grpc_status.rpc_status).
  static constexpr std::string_view kStatusDetailsKey = "grpc-status-details-bin";

  using value_type = std::pair<std::string, std::string>;
  using const_iterator = std::vector<value_type>::const_iterator;

  Metadata() = default;
  Metadata(std::initializer_list<value_type> pairs);

  /// Appends a value (keeps insertion order per key).
  Metadata& add(std::string_view key, std::string_view value);
  /// Returns the first value of `key`, or nullopt.
  std::optional<std::string> get(std::string_view key) const;
  /// Returns the first value of `key`; throws std::out_of_range if absent.
  const std::string& operator[](std::string_view key) const;
  /// Returns every value of `key`, in order ([] if none).
  std::vector<std::string> get_all(std::string_view key) const;
  /// Replaces the first value of `key`, or appends it.
  void set(std::string_view key, std::string_view value);
  /// Replaces all values of `key`.
  void set_all(std::string_view key, const std::vector<std::string>& values);
  /// Removes the first value of `key`; throws std::out_of_range if absent.
  void erase(std::string_view key);
  /// Removes every value of `key`.
  void delete_all(std::string_view key);
  bool contains(std::string_view key) const;

  /// Total number of values, duplicates included.
  std::size_t size() const noexcept { return items_.size(); }
  bool empty() const noexcept { return items_.empty(); }
  const_iterator begin() const noexcept { return items_.begin(); }
  const_iterator end() const noexcept { return items_.end(); }

  Metadata operator+(const Metadata& other) const;
  friend bool operator==(const Metadata&, const Metadata&) = default;

  /// `Metadata((('k', 'v'), ...))`, as grpc.aio prints it; -bin values in hex.
  std::string repr() const;

  /// Throws UsageError unless (key, value) is valid gRPC metadata.
  static void validate(std::string_view key, std::string_view value);
  static bool is_binary_key(std::string_view key) noexcept;

  /// Appends without validation (for metadata that came off the wire).
  void add_unchecked(std::string key, std::string value) {
    items_.emplace_back(std::move(key), std::move(value));
  }
  /// Replaces the contents, without validation, with `pairs` (a range of
  /// (key, value) pairs whose parts have data() and size(), as gRPC's
  /// received metadata). The strings already here are assigned in place, so
  /// a Metadata filled again and again keeps its memory (and a string
  /// that already holds the same bytes is left as it is: comparing is
  /// cheaper than assigning).
  template <class Pairs>
  void assign_unchecked(const Pairs& pairs) {
    std::size_t n = 0;
    for (const auto& [key, value] : pairs) {
      if (n == items_.size()) items_.emplace_back();
      set_bytes(items_[n].first, key.data(), key.size());
      set_bytes(items_[n].second, value.data(), value.size());
      ++n;
    }
    items_.resize(n);
  }

 private:
  static void set_bytes(std::string& to, const char* data, std::size_t size) {
    if (std::string_view(to) != std::string_view(data, size)) to.assign(data, size);
  }
  std::vector<value_type> items_;
};

}  // namespace actio
