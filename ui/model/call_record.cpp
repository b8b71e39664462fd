#include "call_record.hpp"

#include "actio/status.hpp"

namespace actio::inspector {

std::string_view short_method(std::string_view method) noexcept {
  if (method.size() < 2 || method.front() != '/') return method;
  auto slash = method.find('/', 1);
  if (slash == std::string_view::npos || slash + 1 == method.size()) return method;
  auto dot = method.rfind('.', slash);  // the package ends at the service's last dot
  return method.substr(dot == std::string_view::npos ? 1 : dot + 1);
}

std::string_view short_peer(std::string_view peer) noexcept {
  for (std::string_view family : {"ipv4:", "ipv6:"})
    if (peer.size() > family.size() && peer.substr(0, family.size()) == family) return peer.substr(family.size());
  return peer;
}

std::string_view to_string(Side side) noexcept {
  switch (side) {
    case Side::client: return "client";
    case Side::server: return "server";
    default: return "?";
  }
}

std::string_view to_string(Shape shape) noexcept {
  switch (shape) {
    case Shape::unary_unary: return "unary_unary";
    case Shape::unary_stream: return "unary_stream";
    case Shape::stream_unary: return "stream_unary";
    case Shape::stream_stream: return "stream_stream";
    default: return "?";
  }
}

std::string_view to_string(EndpointKind kind) noexcept {
  switch (kind) {
    case EndpointKind::channel: return "channel";
    case EndpointKind::server: return "server";
    default: return "?";
  }
}

std::string_view to_string(Connection connection) noexcept {
  switch (connection) {
    case Connection::connecting: return "connecting";
    case Connection::attached: return "attached";
    case Connection::lost: return "lost";
  }
  return "?";
}

std::string_view to_string(TimelineKind kind) noexcept {
  switch (kind) {
    case TimelineKind::started: return "started";
    case TimelineKind::headers: return "headers";
    case TimelineKind::message_in: return "message in";
    case TimelineKind::message_out: return "message out";
    case TimelineKind::half_closed: return "half-closed";
    case TimelineKind::interceptors: return "interceptors";
    case TimelineKind::status: return "status";
  }
  return "?";
}

std::string code_name(int code) {
  // actio's names for the 17 codes; anything else keeps its number visible.
  if (code >= 0 && code <= 16) return std::string(actio::to_string(static_cast<StatusCode>(code)));
  return "CODE_" + std::to_string(code);
}

std::string Metadatum::display_value() const {
  if (redacted) {
    // The process sends "<redacted N bytes>"; anything else is not shown.
    if (value.starts_with("<redacted")) return value;
    return "<redacted>";
  }
  if (key.ends_with("-bin")) {
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    out.reserve(value.size() * 2);
    for (unsigned char c : value) {
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
    return out;
  }
  return value;
}

std::string_view CallRecord::state() const noexcept {
  if (done) return "done";
  return half_closed ? "half-closed" : "active";
}

std::optional<double> CallRecord::time_left(double now) const noexcept {
  if (done || deadline <= 0) return std::nullopt;
  return deadline - now;
}

}  // namespace actio::inspector
