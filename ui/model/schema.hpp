#pragma once
/// Schema: what one attached process can tell about its services and
/// messages through server reflection, as a protobuf DescriptorPool built
/// from the FileDescriptorProtos it sent. Lists the services and methods,
/// turns a message's bytes into JSON and JSON into bytes, and writes a JSON
/// template of a message type. No ImGui, no network: the connector fetches
/// the files, the model keeps one Schema per process.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "call_record.hpp"

namespace google::protobuf {
class FileDescriptorProto;
}

namespace actio::inspector {

struct MethodInfo {
  std::string name;         ///< "GetFeature"
  std::string path;         ///< "/routeguide.RouteGuide/GetFeature"
  std::string input_type;   ///< "routeguide.Point"
  std::string output_type;  ///< "routeguide.Feature"
  bool client_streaming = false;
  bool server_streaming = false;

  Shape shape() const noexcept;
};

struct ServiceInfo {
  std::string name;  ///< "routeguide.RouteGuide"
  std::string file;  ///< "route_guide.proto"
  std::vector<MethodInfo> methods;

  const MethodInfo* method(std::string_view name) const;
};

/// A conversion's outcome: `text` (JSON or bytes) when ok, else `error`.
struct Converted {
  bool ok = false;
  std::string text;
  std::string error;
};

/// What the connector fetched by reflection in one go.
struct Descriptors {
  int pid = 0;                         ///< the process that answered (a batch from a process gone since is dropped)
  std::vector<std::string> files;      ///< serialized FileDescriptorProtos
  std::vector<std::string> described;  ///< symbols asked for and found
  std::vector<std::pair<std::string, std::string>> failed;  ///< symbols asked for and not found: why
};

class Schema {
 public:
  Schema();
  ~Schema();
  Schema(Schema&&) noexcept;
  Schema& operator=(Schema&&) noexcept;

  // -- filling --------------------------------------------------------------

  /// Adds the files of a reflection answer (serialized FileDescriptorProtos;
  /// a file already held is kept) and rebuilds the pool. Returns the files
  /// that were new; an unparsable one is reported in errors().
  std::size_t add_files(const std::vector<std::string>& serialized);
  /// The same for one file (tests build one with Descriptor::CopyTo).
  std::size_t add_file(const google::protobuf::FileDescriptorProto& file);
  /// A symbol the process was asked about: found, or not and why.
  void described(const std::string& symbol);
  void failed(const std::string& symbol, std::string error);
  /// Applies a connector batch (files, then what was found and what was not).
  void add(const Descriptors& batch);
  /// Forgets everything (the process was replaced); generation() still grows.
  void clear();

  // -- reading --------------------------------------------------------------

  bool empty() const noexcept;
  /// Bumped by every change; caches of conversions compare it.
  std::uint64_t generation() const noexcept { return generation_; }
  /// Every service of the files held, by name.
  const std::vector<ServiceInfo>& services() const noexcept;
  const ServiceInfo* service(std::string_view name) const;
  /// "/pkg.Service/Method" → the method, if its service is known.
  const MethodInfo* method(std::string_view path) const;
  /// Whether a symbol was asked for and answered (found or not).
  bool knows(std::string_view symbol) const;
  /// Symbols the process could not describe, with the reason.
  const std::map<std::string, std::string, std::less<>>& failures() const noexcept;
  /// Problems building the pool (a file that does not parse or build).
  const std::vector<std::string>& errors() const noexcept;
  /// Whether `type` ("pkg.Message") is known.
  bool has_message(std::string_view type) const;

  // -- conversions ----------------------------------------------------------

  /// A `type` message's wire bytes as JSON (proto field names, every field
  /// printed; `pretty` adds line breaks and indentation). Fails when the type
  /// is unknown or the bytes do not parse as it.
  Converted to_json(std::string_view type, std::string_view bytes, bool pretty = false) const;
  /// The first bytes of a longer `type` message (a truncated head) as JSON of
  /// what fits, printed as to_json prints: the top level's whole fields are
  /// kept; of the first field cut short, a nested message keeps what fits of
  /// it (the same rule, one level down), a string its prefix up to the last
  /// whole UTF-8 character, bytes their prefix, anything else is dropped;
  /// the walk stops there, and at a group or anything malformed. Fails when
  /// the type is unknown, when no field of the type is left (a field number
  /// it does not declare, or sent with another wire type, does not count) or
  /// when what is left does not parse (missing required fields are allowed).
  Converted head_to_json(std::string_view type, std::string_view head, bool pretty = false) const;
  /// JSON (proto field names or their lowerCamelCase) as a `type` message's
  /// wire bytes. Fails on unknown types, bad JSON and unknown fields.
  Converted from_json(std::string_view type, std::string_view json) const;
  /// A `type` message with every field at its default (nested messages
  /// filled a few levels deep) as pretty JSON: what a request editor starts
  /// from. Empty if the type is unknown.
  std::string json_template(std::string_view type) const;

 private:
  struct Impl;
  void rebuild();

  std::unique_ptr<Impl> impl_;
  std::uint64_t generation_ = 0;
};

/// "pkg.Service" of "/pkg.Service/Method" ("" if it is not such a path).
std::string service_of(std::string_view method_path);
/// Whether a call's message is its request: on the server side what comes
/// in, on the client side what goes out.
bool is_request(Side side, TimelineKind kind) noexcept;

/// How the inspector shows one message of a call.
struct MessageView {
  std::uint64_t schema_generation = 0;  ///< the schema it was made with
  bool request = false;                 ///< the call's request (else its response)
  std::string type;                     ///< the message type when the method is known
  std::optional<std::string> json;      ///< pretty JSON when the message (or, partial, its head) decodes
  bool partial = false;                 ///< `json` is only the fields that fit in the head (the note says so)
  std::string note;                     ///< no json: why not (shown by the hex); partial: "first N of M bytes"
};

/// Decodes a timeline message of `call` with `schema` when the method is
/// known: JSON when the head is the whole message; when it is shorter, JSON
/// of the fields that fit (Schema::head_to_json), `partial`, with the note
/// "first N of M bytes"; hex (the note says why) when neither decodes.
MessageView view_message(const Schema& schema, const CallRecord& call, const TimelineEntry& entry);

/// Where to call a server that listens on `server_addresses` (an Endpoint's
/// target: addresses joined by ","): its first address, with a wildcard or
/// empty host (0.0.0.0, [::], "") replaced by `inspected_host`'s host (the
/// host the inspector reaches the process on; 127.0.0.1 if that has none).
std::string dial_address(std::string_view server_addresses, std::string_view inspected_target);

/// One listening address of a server as the inspector dials it, and whether
/// its port uses TLS (as the process says: Endpoint.tls_addresses).
struct DialAddress {
  std::string address;
  bool tls = false;
  bool operator==(const DialAddress&) const = default;
};
/// Every address of `server_addresses` (dial_address's rules for each), with
/// `tls` set for those among `tls_addresses` (as the process wrote them).
std::vector<DialAddress> dial_addresses(std::string_view server_addresses,
                                        const std::vector<std::string>& tls_addresses,
                                        std::string_view inspected_target);

/// `json` (UTF-8) with every non-ASCII character written as \uXXXX, so the
/// text is plain ASCII and still the same JSON.
std::string ascii_json(std::string_view json);

}  // namespace actio::inspector
