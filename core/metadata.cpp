#include "actio/metadata.hpp"

#include <algorithm>
#include <cctype>
#include <stdexcept>

#include "actio/errors.hpp"

namespace actio {

namespace {
std::string lower(std::string_view key) {
  std::string k(key);
  for (char& c : k) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return k;
}
}  // namespace

bool Metadata::is_binary_key(std::string_view key) noexcept {
  return key.size() >= 4 && key.substr(key.size() - 4) == "-bin";
}

void Metadata::validate(std::string_view key, std::string_view value) {
  if (key.empty()) throw UsageError("metadata key must not be empty");
  if (key.front() == ':') {
    throw UsageError("metadata key '" + std::string(key) + "' is reserved (pseudo-headers start with ':')");
  }
  // grpc- keys belong to gRPC; the one an application may set is the rich
  // error model's google.rpc.Status (what grpc's rpc_status module sends).
  if (key.substr(0, 5) == "grpc-" && key != kStatusDetailsKey) {
    throw UsageError("metadata key '" + std::string(key) + "' is reserved (grpc- prefix)");
  }
  for (char c : key) {
    bool okc = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
    if (!okc) {
      throw UsageError("invalid metadata key '" + std::string(key) +
                       "': only 0-9 a-z - _ . are allowed");
    }
  }
  if (is_binary_key(key)) return;
  for (char c : value) {
    if (c < 0x20 || c > 0x7e) {
      throw UsageError("invalid value for metadata key '" + std::string(key) +
                       "': non-binary values must be printable ASCII (use a -bin key for bytes)");
    }
  }
}

Metadata::Metadata(std::initializer_list<value_type> pairs) {
  for (const auto& [k, v] : pairs) add(k, v);
}

Metadata& Metadata::add(std::string_view key, std::string_view value) {
  std::string k = lower(key);
  validate(k, value);
  items_.emplace_back(std::move(k), std::string(value));
  return *this;
}

std::optional<std::string> Metadata::get(std::string_view key) const {
  std::string k = lower(key);
  for (const auto& [ik, iv] : items_) {
    if (ik == k) return iv;
  }
  return std::nullopt;
}

const std::string& Metadata::operator[](std::string_view key) const {
  std::string k = lower(key);
  for (const auto& [ik, iv] : items_) {
    if (ik == k) return iv;
  }
  throw std::out_of_range("metadata key '" + k + "' not found");
}

std::vector<std::string> Metadata::get_all(std::string_view key) const {
  std::string k = lower(key);
  std::vector<std::string> out;
  for (const auto& [ik, iv] : items_) {
    if (ik == k) out.push_back(iv);
  }
  return out;
}

void Metadata::set(std::string_view key, std::string_view value) {
  std::string k = lower(key);
  validate(k, value);
  for (auto& [ik, iv] : items_) {
    if (ik == k) {
      iv = std::string(value);
      return;
    }
  }
  items_.emplace_back(std::move(k), std::string(value));
}

void Metadata::set_all(std::string_view key, const std::vector<std::string>& values) {
  std::string k = lower(key);
  for (const auto& v : values) validate(k, v);
  delete_all(k);
  for (const auto& v : values) items_.emplace_back(k, v);
}

void Metadata::erase(std::string_view key) {
  std::string k = lower(key);
  auto it = std::find_if(items_.begin(), items_.end(), [&](const value_type& p) { return p.first == k; });
  if (it == items_.end()) throw std::out_of_range("metadata key '" + k + "' not found");
  items_.erase(it);
}

void Metadata::delete_all(std::string_view key) {
  std::string k = lower(key);
  std::erase_if(items_, [&](const value_type& p) { return p.first == k; });
}

bool Metadata::contains(std::string_view key) const { return get(key).has_value(); }

Metadata Metadata::operator+(const Metadata& other) const {
  Metadata out = *this;
  out.items_.insert(out.items_.end(), other.items_.begin(), other.items_.end());
  return out;
}

std::string Metadata::repr() const {
  static const char* hex = "0123456789abcdef";
  std::string s = "Metadata((";
  bool first = true;
  for (const auto& [k, v] : items_) {
    if (!first) s += ", ";
    first = false;
    s += "('" + k + "', ";
    if (is_binary_key(k)) {
      s += "b'";
      for (unsigned char c : v) {
        s += "\\x";
        s += hex[c >> 4];
        s += hex[c & 15];
      }
      s += "'";
    } else {
      s += "'" + v + "'";
    }
    s += ")";
  }
  if (items_.size() == 1) s += ",";
  s += "))";
  return s;
}

}  // namespace actio
