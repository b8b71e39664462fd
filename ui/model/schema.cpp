#include "schema.hpp"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/descriptor.pb.h>
#include <google/protobuf/descriptor_database.h>
#include <google/protobuf/dynamic_message.h>
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/type_resolver.h>
#include <google/protobuf/util/type_resolver_util.h>
#include <google/protobuf/wire_format_lite.h>

#include <algorithm>
#include <cstdio>
#include <set>

namespace actio::inspector {

namespace gp = google::protobuf;

Shape MethodInfo::shape() const noexcept {
  if (client_streaming) return server_streaming ? Shape::stream_stream : Shape::stream_unary;
  return server_streaming ? Shape::unary_stream : Shape::unary_unary;
}

const MethodInfo* ServiceInfo::method(std::string_view name) const {
  for (const auto& m : methods)
    if (m.name == name) return &m;
  return nullptr;
}

namespace {

/// Build problems of the pool, as "file: element: message".
class Collector final : public gp::DescriptorPool::ErrorCollector {
 public:
  std::vector<std::string> errors;
  void AddError(const std::string& filename, const std::string& element_name, const gp::Message*, ErrorLocation,
                const std::string& message) override {
    errors.push_back(filename + ": " + element_name + ": " + message);
  }
};

/// Well-known types that print as something useful when empty (a template
/// fills them); other google.protobuf messages (Any, Struct, Value) stay unset.
bool fill_well_known(std::string_view type) {
  static const std::set<std::string_view> kFill = {
      "google.protobuf.Timestamp",   "google.protobuf.Duration",    "google.protobuf.Empty",
      "google.protobuf.FieldMask",   "google.protobuf.DoubleValue", "google.protobuf.FloatValue",
      "google.protobuf.Int64Value",  "google.protobuf.UInt64Value", "google.protobuf.Int32Value",
      "google.protobuf.UInt32Value", "google.protobuf.BoolValue",   "google.protobuf.StringValue",
      "google.protobuf.BytesValue"};
  return kFill.count(type) > 0;
}

}  // namespace

struct Schema::Impl {
  std::map<std::string, gp::FileDescriptorProto> files;  // as the process sent them, by name
  std::set<std::string, std::less<>> described;
  std::map<std::string, std::string, std::less<>> failures;
  std::vector<std::string> parse_errors;
  std::vector<std::string> errors;  // parse_errors + the last build's
  // Built from `files` by rebuild(); destroyed in reverse order (factory first).
  std::unique_ptr<gp::SimpleDescriptorDatabase> db;
  Collector collector;
  std::unique_ptr<gp::DescriptorPool> pool;
  std::unique_ptr<gp::DynamicMessageFactory> factory;
  std::vector<ServiceInfo> services;

  const gp::Descriptor* message(std::string_view type) const {
    return pool ? pool->FindMessageTypeByName(std::string(type)) : nullptr;
  }
  std::unique_ptr<gp::Message> make(const gp::Descriptor* d) const {
    return std::unique_ptr<gp::Message>(factory->GetPrototype(d)->New());
  }
  void fill_template(gp::Message& m, std::vector<const gp::Descriptor*>& path) const {
    const gp::Descriptor* d = m.GetDescriptor();
    const gp::Reflection* r = m.GetReflection();
    for (int i = 0; i < d->field_count(); ++i) {
      const gp::FieldDescriptor* f = d->field(i);
      if (f->cpp_type() != gp::FieldDescriptor::CPPTYPE_MESSAGE || f->is_repeated() || f->real_containing_oneof())
        continue;
      const gp::Descriptor* t = f->message_type();
      if (t->full_name().rfind("google.protobuf.", 0) == 0) {
        if (fill_well_known(t->full_name())) r->MutableMessage(&m, f, factory.get());
        continue;
      }
      // A few levels deep, and never into a type already being filled (recursive messages).
      if (path.size() >= 4 || std::find(path.begin(), path.end(), t) != path.end()) continue;
      path.push_back(t);
      fill_template(*r->MutableMessage(&m, f, factory.get()), path);
      path.pop_back();
    }
  }
};

Schema::Schema() : impl_(std::make_unique<Impl>()) {}
Schema::~Schema() = default;
Schema::Schema(Schema&&) noexcept = default;
Schema& Schema::operator=(Schema&&) noexcept = default;

// -- filling ------------------------------------------------------------------

std::size_t Schema::add_files(const std::vector<std::string>& serialized) {
  std::size_t added = 0;
  for (const auto& bytes : serialized) {
    gp::FileDescriptorProto file;
    if (!file.ParseFromString(bytes)) {
      impl_->parse_errors.push_back("a FileDescriptorProto of " + std::to_string(bytes.size()) +
                                    " bytes does not parse");
      continue;
    }
    if (file.name().empty()) {
      impl_->parse_errors.push_back("a FileDescriptorProto without a name");
      continue;
    }
    added += impl_->files.try_emplace(file.name(), std::move(file)).second;
  }
  if (added) rebuild();
  return added;
}

std::size_t Schema::add_file(const gp::FileDescriptorProto& file) { return add_files({file.SerializeAsString()}); }

void Schema::described(const std::string& symbol) {
  impl_->failures.erase(symbol);
  if (impl_->described.insert(symbol).second) ++generation_;
}

void Schema::failed(const std::string& symbol, std::string error) {
  if (impl_->described.count(symbol)) return;  // found once: a later transient failure changes nothing
  impl_->failures[symbol] = std::move(error);
  ++generation_;
}

void Schema::add(const Descriptors& batch) {
  add_files(batch.files);
  for (const auto& s : batch.described) described(s);
  for (const auto& [symbol, why] : batch.failed) failed(symbol, why);
}

void Schema::clear() {
  impl_ = std::make_unique<Impl>();
  ++generation_;
}

void Schema::rebuild() {
  Impl& s = *impl_;
  s.factory.reset();
  s.pool.reset();
  s.db = std::make_unique<gp::SimpleDescriptorDatabase>();
  s.collector.errors.clear();

  std::set<std::string> added;
  std::vector<std::string> wanted;
  for (const auto& [name, file] : s.files) {
    s.db->Add(file);
    added.insert(name);
    wanted.insert(wanted.end(), file.dependency().begin(), file.dependency().end());
  }
  // A dependency the process did not send: the well-known types are the
  // same everywhere, so the inspector's own copies stand in for them.
  while (!wanted.empty()) {
    std::string name = std::move(wanted.back());
    wanted.pop_back();
    if (!added.insert(name).second || name.rfind("google/protobuf/", 0) != 0) continue;
    const gp::FileDescriptor* own = gp::DescriptorPool::generated_pool()->FindFileByName(name);
    if (!own) continue;
    gp::FileDescriptorProto copy;
    own->CopyTo(&copy);
    wanted.insert(wanted.end(), copy.dependency().begin(), copy.dependency().end());
    s.db->Add(copy);
  }

  s.pool = std::make_unique<gp::DescriptorPool>(s.db.get(), &s.collector);
  s.services.clear();
  std::vector<std::string> unbuilt;
  for (const auto& [name, file] : s.files) {
    const gp::FileDescriptor* fd = s.pool->FindFileByName(name);
    if (!fd) {
      unbuilt.push_back(name + ": does not build");
      continue;
    }
    for (int i = 0; i < fd->service_count(); ++i) {
      const gp::ServiceDescriptor* svc = fd->service(i);
      ServiceInfo info{svc->full_name(), name, {}};
      for (int m = 0; m < svc->method_count(); ++m) {
        const gp::MethodDescriptor* md = svc->method(m);
        info.methods.push_back({md->name(), "/" + svc->full_name() + "/" + md->name(), md->input_type()->full_name(),
                                md->output_type()->full_name(), md->client_streaming(), md->server_streaming()});
      }
      s.services.push_back(std::move(info));
    }
  }
  std::sort(s.services.begin(), s.services.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  s.factory = std::make_unique<gp::DynamicMessageFactory>(s.pool.get());

  s.errors = s.parse_errors;
  s.errors.insert(s.errors.end(), s.collector.errors.begin(), s.collector.errors.end());
  s.errors.insert(s.errors.end(), unbuilt.begin(), unbuilt.end());
  ++generation_;
}

// -- reading ------------------------------------------------------------------

bool Schema::empty() const noexcept { return impl_->files.empty(); }
const std::vector<ServiceInfo>& Schema::services() const noexcept { return impl_->services; }

const ServiceInfo* Schema::service(std::string_view name) const {
  for (const auto& s : impl_->services)
    if (s.name == name) return &s;
  return nullptr;
}

const MethodInfo* Schema::method(std::string_view path) const {
  auto slash = path.rfind('/');
  if (path.size() < 3 || path[0] != '/' || slash == 0 || slash == std::string_view::npos) return nullptr;
  const ServiceInfo* s = service(path.substr(1, slash - 1));
  return s ? s->method(path.substr(slash + 1)) : nullptr;
}

bool Schema::knows(std::string_view symbol) const {
  return impl_->described.count(symbol) > 0 || impl_->failures.count(symbol) > 0;
}

const std::map<std::string, std::string, std::less<>>& Schema::failures() const noexcept { return impl_->failures; }
const std::vector<std::string>& Schema::errors() const noexcept { return impl_->errors; }
bool Schema::has_message(std::string_view type) const { return impl_->message(type) != nullptr; }

// -- conversions --------------------------------------------------------------

namespace {
gp::util::JsonPrintOptions print_options(bool pretty) {
  gp::util::JsonPrintOptions o;
  o.add_whitespace = pretty;
  o.always_print_primitive_fields = true;
  o.preserve_proto_field_names = true;
  return o;
}

std::string trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

Converted print_json(const gp::Message& m, std::string_view type, bool pretty) {
  std::string out;
  auto status = gp::util::MessageToJsonString(m, &out, print_options(pretty));
  if (!status.ok()) return {false, {}, std::string(type) + " to JSON: " + status.message().ToString()};
  return {true, trimmed(std::move(out)), {}};
}

// -- what fits of a truncated head --

using WireFormatLite = gp::internal::WireFormatLite;

/// Nested messages cut short that head_to_json still opens (deeper ones are dropped).
constexpr int kMaxCutDepth = 32;

/// What is kept of a message's first bytes: wire bytes that parse as far as
/// they go, and how many of their fields the type declares with that wire type.
struct Kept {
  std::string bytes;
  int known = 0;
};

void append_varint(std::string& out, std::uint64_t value) {
  std::uint8_t buf[10];
  std::uint8_t* end = gp::io::CodedOutputStream::WriteVarint64ToArray(value, buf);
  out.append(reinterpret_cast<const char*>(buf), static_cast<std::size_t>(end - buf));
}

/// The length of `s`'s longest prefix that does not end inside a multi-byte
/// UTF-8 character (bytes that are not UTF-8 anyway are left as they are).
std::size_t utf8_prefix(std::string_view s) {
  const std::size_t n = s.size();
  for (std::size_t back = 1; back <= 4 && back <= n; ++back) {
    auto c = static_cast<unsigned char>(s[n - back]);
    if ((c & 0xc0) == 0x80) continue;  // a continuation byte: look further back for its lead
    std::size_t length = (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 ? 4 : 1;
    return length > back ? n - back : n;
  }
  return n;
}

/// Whether `f` is sent with `wire` (a packable repeated field also packed).
bool sent_as(const gp::FieldDescriptor* f, WireFormatLite::WireType wire) {
  auto expected = WireFormatLite::WireTypeForFieldType(static_cast<WireFormatLite::FieldType>(f->type()));
  return wire == expected || (f->is_packable() && wire == WireFormatLite::WIRETYPE_LENGTH_DELIMITED);
}

/// The top level of a `d` message's first bytes `head`: every whole field,
/// then what fits of the first one cut short (see Schema::head_to_json).
Kept keep_what_fits(const gp::Descriptor* d, std::string_view head, int depth) {
  Kept out;
  gp::io::CodedInputStream in(reinterpret_cast<const std::uint8_t*>(head.data()), static_cast<int>(head.size()));
  for (;;) {
    const int start = in.CurrentPosition();
    const std::uint32_t tag = in.ReadTag();
    const int number = WireFormatLite::GetTagFieldNumber(tag);
    if (tag == 0 || number == 0) return out;  // the end, a tag cut short, or a malformed one
    const WireFormatLite::WireType wire = WireFormatLite::GetTagWireType(tag);
    const gp::FieldDescriptor* f = d->FindFieldByNumber(number);
    bool whole = false;
    switch (wire) {
      case WireFormatLite::WIRETYPE_VARINT: {
        std::uint64_t v = 0;
        whole = in.ReadVarint64(&v);
        break;
      }
      case WireFormatLite::WIRETYPE_FIXED64: {
        std::uint64_t v = 0;
        whole = in.ReadLittleEndian64(&v);
        break;
      }
      case WireFormatLite::WIRETYPE_FIXED32: {
        std::uint32_t v = 0;
        whole = in.ReadLittleEndian32(&v);
        break;
      }
      case WireFormatLite::WIRETYPE_LENGTH_DELIMITED: {
        std::uint64_t length = 0;
        if (!in.ReadVarint64(&length) || length > static_cast<std::uint64_t>(INT32_MAX)) return out;
        const auto at = static_cast<std::size_t>(in.CurrentPosition());
        if (length <= head.size() - at) {
          whole = in.Skip(static_cast<int>(length));
          break;
        }
        // The first field cut short: what of it fits, then stop.
        std::string_view part = head.substr(at);
        std::string value;
        if (!f) return out;
        if (f->type() == gp::FieldDescriptor::TYPE_MESSAGE) {
          if (depth >= kMaxCutDepth) return out;
          Kept inner = keep_what_fits(f->message_type(), part, depth + 1);
          if (inner.known == 0) return out;  // an empty message would show defaults it was not sent with
          value = std::move(inner.bytes);
        } else if (f->type() == gp::FieldDescriptor::TYPE_STRING) {
          value = std::string(part.substr(0, utf8_prefix(part)));
        } else if (f->type() == gp::FieldDescriptor::TYPE_BYTES) {
          value = std::string(part);
        }
        if (value.empty()) return out;
        append_varint(out.bytes, tag);
        append_varint(out.bytes, value.size());
        out.bytes += value;
        ++out.known;
        return out;
      }
      default:  // groups (deprecated; their end is hard to find cut short) and wire types that do not exist
        return out;
    }
    if (!whole) return out;  // a value cut short: dropped
    const auto end = static_cast<std::size_t>(in.CurrentPosition());
    out.bytes.append(head.substr(static_cast<std::size_t>(start), end - static_cast<std::size_t>(start)));
    if (f && sent_as(f, wire)) ++out.known;
  }
}
}  // namespace

Converted Schema::to_json(std::string_view type, std::string_view bytes, bool pretty) const {
  const gp::Descriptor* d = impl_->message(type);
  if (!d) return {false, {}, "no descriptor for " + std::string(type)};
  auto m = impl_->make(d);
  if (!m->ParseFromArray(bytes.data(), static_cast<int>(bytes.size())))
    return {false, {}, "the bytes do not parse as " + std::string(type)};
  return print_json(*m, type, pretty);
}

Converted Schema::head_to_json(std::string_view type, std::string_view head, bool pretty) const {
  const gp::Descriptor* d = impl_->message(type);
  if (!d) return {false, {}, "no descriptor for " + std::string(type)};
  Kept kept = keep_what_fits(d, head, 0);
  if (kept.known == 0)
    return {false, {},
            "no field of " + std::string(type) + " fits in the first " + std::to_string(head.size()) + " bytes"};
  auto m = impl_->make(d);
  if (!m->ParsePartialFromArray(kept.bytes.data(), static_cast<int>(kept.bytes.size())))
    return {false, {}, "the fields in the first " + std::to_string(head.size()) + " bytes do not parse as " +
                           std::string(type)};
  if (m->IsInitialized()) return print_json(*m, type, pretty);
  // Required fields (proto2) missing: MessageToJsonString would serialize
  // the message whole, which refuses; the same printer from its partial bytes.
  static constexpr std::string_view kUrlPrefix = "type.googleapis.com";
  std::unique_ptr<gp::util::TypeResolver> resolver(
      gp::util::NewTypeResolverForDescriptorPool(std::string(kUrlPrefix), d->file()->pool()));
  std::string out;
  auto status = gp::util::BinaryToJsonString(resolver.get(), std::string(kUrlPrefix) + "/" + d->full_name(),
                                             m->SerializePartialAsString(), &out, print_options(pretty));
  if (!status.ok()) return {false, {}, std::string(type) + " to JSON: " + status.message().ToString()};
  return {true, trimmed(std::move(out)), {}};
}

Converted Schema::from_json(std::string_view type, std::string_view json) const {
  const gp::Descriptor* d = impl_->message(type);
  if (!d) return {false, {}, "no descriptor for " + std::string(type)};
  auto m = impl_->make(d);
  gp::util::JsonParseOptions options;
  auto status = gp::util::JsonStringToMessage(gp::StringPiece(json.data(), json.size()), m.get(), options);
  if (!status.ok()) return {false, {}, "not a valid " + std::string(type) + " in JSON: " + status.message().ToString()};
  std::string out;
  if (!m->SerializeToString(&out)) return {false, {}, "cannot serialize " + std::string(type)};
  return {true, std::move(out), {}};
}

std::string Schema::json_template(std::string_view type) const {
  const gp::Descriptor* d = impl_->message(type);
  if (!d) return {};
  auto m = impl_->make(d);
  std::vector<const gp::Descriptor*> path{d};
  impl_->fill_template(*m, path);
  std::string out;
  if (!gp::util::MessageToJsonString(*m, &out, print_options(true)).ok()) return "{}";
  return trimmed(std::move(out));
}

// -- free functions -------------------------------------------------------------

std::string service_of(std::string_view path) {
  auto slash = path.rfind('/');
  if (path.size() < 3 || path[0] != '/' || slash == 0 || slash == std::string_view::npos) return {};
  return std::string(path.substr(1, slash - 1));
}

bool is_request(Side side, TimelineKind kind) noexcept {
  return side == Side::client ? kind == TimelineKind::message_out : kind == TimelineKind::message_in;
}

MessageView view_message(const Schema& schema, const CallRecord& call, const TimelineEntry& entry) {
  MessageView v;
  v.schema_generation = schema.generation();
  v.request = is_request(call.side, entry.kind);
  const MethodInfo* m = schema.method(call.method);
  if (!m) {
    std::string service = service_of(call.method);
    auto failure = schema.failures().find(service);
    if (failure != schema.failures().end())
      v.note = "no descriptors for " + service + ": " + failure->second;
    else if (schema.service(service))
      v.note = service + " has no method " + call.method.substr(call.method.rfind('/') + 1);
    else
      v.note = "no descriptors for " + (service.empty() ? call.method : service) + " (yet)";
    return v;
  }
  v.type = v.request ? m->input_type : m->output_type;
  if (entry.head.size() < entry.size) {
    v.note = "first " + std::to_string(entry.head.size()) + " of " + std::to_string(entry.size) + " bytes";
    Converted fits = schema.head_to_json(v.type, entry.head, true);
    if (fits.ok) {
      v.json = std::move(fits.text);
      v.partial = true;
    }
    return v;
  }
  Converted json = schema.to_json(v.type, entry.head, true);
  if (json.ok)
    v.json = std::move(json.text);
  else
    v.note = std::move(json.error);
  return v;
}

namespace {
/// (host, port) of "host:port", "[v6]:port" or "host".
std::pair<std::string_view, std::string_view> split_host(std::string_view address) {
  if (!address.empty() && address[0] == '[') {
    auto close = address.find(']');
    if (close == std::string_view::npos) return {address, {}};
    std::string_view port = close + 1 < address.size() && address[close + 1] == ':' ? address.substr(close + 2) : "";
    return {address.substr(1, close - 1), port};
  }
  auto colon = address.rfind(':');
  if (colon == std::string_view::npos || address.find(':') != colon) return {address, {}};  // no port, or bare v6
  return {address.substr(0, colon), address.substr(colon + 1)};
}

bool wildcard(std::string_view host) { return host.empty() || host == "0.0.0.0" || host == "::" || host == "*"; }
}  // namespace

namespace {
/// One listening address as the inspector dials it (see dial_address).
std::string dial_one(std::string_view address, std::string_view inspected_target) {
  while (!address.empty() && address.front() == ' ') address.remove_prefix(1);
  while (!address.empty() && address.back() == ' ') address.remove_suffix(1);
  if (address.find("://") != std::string_view::npos || address.rfind("unix:", 0) == 0) return std::string(address);
  auto [host, port] = split_host(address);
  if (!wildcard(host)) return std::string(address);
  auto [inspected_host, inspected_port] = split_host(inspected_target);
  std::string h = wildcard(inspected_host) ? "127.0.0.1" : std::string(inspected_host);
  if (h.find(':') != std::string::npos) h = "[" + h + "]";
  return h + ":" + std::string(port);
}

std::string_view trimmed(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return s;
}
}  // namespace

std::string dial_address(std::string_view server_addresses, std::string_view inspected_target) {
  return dial_one(server_addresses.substr(0, server_addresses.find(',')), inspected_target);
}

std::vector<DialAddress> dial_addresses(std::string_view server_addresses,
                                        const std::vector<std::string>& tls_addresses,
                                        std::string_view inspected_target) {
  std::vector<DialAddress> out;
  std::size_t start = 0;
  while (start <= server_addresses.size()) {
    auto end = server_addresses.find(',', start);
    std::string_view one =
        trimmed(server_addresses.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
    if (!one.empty()) {
      bool tls = std::find(tls_addresses.begin(), tls_addresses.end(), one) != tls_addresses.end();
      out.push_back({dial_one(one, inspected_target), tls});
    }
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  return out;
}

std::string ascii_json(std::string_view json) {
  std::string out;
  out.reserve(json.size());
  auto escape = [&out](unsigned u) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "\\u%04x", u);
    out += buf;
  };
  for (std::size_t i = 0; i < json.size();) {
    auto c = static_cast<unsigned char>(json[i]);
    if (c < 0x80) {
      out += static_cast<char>(c);
      ++i;
      continue;
    }
    int extra = c >= 0xf0 && c < 0xf8 ? 3 : c >= 0xe0 ? 2 : c >= 0xc0 ? 1 : -1;
    unsigned cp = extra == 3 ? c & 0x07u : extra == 2 ? c & 0x0fu : c & 0x1fu;
    bool valid = extra > 0;
    for (int k = 1; valid && k <= extra; ++k) {
      if (i + static_cast<std::size_t>(k) >= json.size()) {
        valid = false;
        break;
      }
      auto cc = static_cast<unsigned char>(json[i + static_cast<std::size_t>(k)]);
      if ((cc & 0xc0) != 0x80) valid = false;
      cp = (cp << 6) | (cc & 0x3fu);
    }
    if (!valid || cp > 0x10ffff) {
      escape(0xfffd);
      ++i;
      continue;
    }
    if (cp >= 0x10000) {
      cp -= 0x10000;
      escape(0xd800 + (cp >> 10));
      escape(0xdc00 + (cp & 0x3ff));
    } else {
      escape(cp);
    }
    i += static_cast<std::size_t>(extra) + 1;
  }
  return out;
}

}  // namespace actio::inspector
