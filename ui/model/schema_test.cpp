// The Schema (descriptors from server reflection) and what the model does
// with it: services and methods, bytes → JSON, JSON → bytes, templates, a
// truncated head shown as the fields that fit (hex when none does),
// request/response by side, a restarted process, invocations, the dump.
#include "schema.hpp"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/descriptor.pb.h>
#include <google/protobuf/text_format.h>
#include <gtest/gtest.h>

#include "inspect.pb.h"
#include "model.hpp"

namespace v1 = actio::inspect::v1;
namespace gp = google::protobuf;
using namespace actio::inspector;

namespace {

constexpr double T0 = 1'700'000'000.0;

/// The inspector contract's own file, as reflection would send it.
gp::FileDescriptorProto inspect_file() {
  gp::FileDescriptorProto file;
  v1::Snapshot::descriptor()->file()->CopyTo(&file);
  return file;
}

/// A file of the test's own: nested and recursive messages, an enum, a
/// well-known type it does not send, and every method shape.
gp::FileDescriptorProto shop_file() {
  gp::FileDescriptorProto file;
  bool ok = gp::TextFormat::ParseFromString(
      R"pb(
        name: "shop/shop.proto"
        package: "shop"
        syntax: "proto3"
        dependency: "google/protobuf/timestamp.proto"
        message_type {
          name: "Item"
          field { name: "name" number: 1 label: LABEL_OPTIONAL type: TYPE_STRING json_name: "name" }
          field { name: "unit_count" number: 2 label: LABEL_OPTIONAL type: TYPE_INT32 json_name: "unitCount" }
          field { name: "tags" number: 3 label: LABEL_REPEATED type: TYPE_STRING json_name: "tags" }
          field {
            name: "parent"
            number: 4
            label: LABEL_OPTIONAL
            type: TYPE_MESSAGE
            type_name: ".shop.Item"
            json_name: "parent"
          }
          field {
            name: "created"
            number: 5
            label: LABEL_OPTIONAL
            type: TYPE_MESSAGE
            type_name: ".google.protobuf.Timestamp"
            json_name: "created"
          }
          field {
            name: "kind"
            number: 6
            label: LABEL_OPTIONAL
            type: TYPE_ENUM
            type_name: ".shop.Kind"
            json_name: "kind"
          }
          field {
            name: "price"
            number: 7
            label: LABEL_OPTIONAL
            type: TYPE_MESSAGE
            type_name: ".shop.Price"
            json_name: "price"
          }
        }
        message_type {
          name: "Price"
          field { name: "cents" number: 1 label: LABEL_OPTIONAL type: TYPE_INT64 json_name: "cents" }
        }
        enum_type {
          name: "Kind"
          value { name: "KIND_UNSPECIFIED" number: 0 }
          value { name: "BOOK" number: 1 }
        }
        service {
          name: "Shop"
          method { name: "Get" input_type: ".shop.Item" output_type: ".shop.Price" }
          method { name: "Upload" input_type: ".shop.Item" output_type: ".shop.Price" client_streaming: true }
          method { name: "List" input_type: ".shop.Price" output_type: ".shop.Item" server_streaming: true }
        }
      )pb",
      &file);
  EXPECT_TRUE(ok);
  return file;
}

v1::Call a_call() {
  v1::Call c;
  c.set_id(7);
  c.set_method("/shop.Shop/Get");
  c.set_side(v1::CLIENT);
  auto* md = c.add_invocation_metadata();
  md->set_key("user-agent");
  md->set_value("test");
  return c;
}

v1::Snapshot snapshot_of(int pid) {
  v1::Snapshot s;
  s.set_seq(1);
  s.set_time(T0);
  s.set_pid(pid);
  s.set_process("shop_server");
  auto* server = s.add_endpoints();
  server->set_id(1);
  server->set_kind(v1::SERVER_ENDPOINT);
  server->set_target("0.0.0.0:5050");
  server->add_services("shop.Shop");
  return s;
}

v1::Event started(std::uint64_t seq, std::uint64_t id, const std::string& method, v1::Side side) {
  v1::Event e;
  e.set_seq(seq);
  e.set_time(T0);
  e.set_call_id(id);
  auto* c = e.mutable_started();
  c->set_id(id);
  c->set_method(method);
  c->set_side(side);
  c->set_endpoint_id(1);
  c->set_start_time(T0);
  return e;
}

v1::Event message(std::uint64_t seq, std::uint64_t id, bool in, const std::string& bytes, std::size_t size = 0) {
  v1::Event e;
  e.set_seq(seq);
  e.set_time(T0 + 0.001 * static_cast<double>(seq));
  e.set_call_id(id);
  auto* m = in ? e.mutable_message_in() : e.mutable_message_out();
  m->set_size(static_cast<std::uint32_t>(size ? size : bytes.size()));
  m->set_head(bytes);
  return e;
}

std::string item_bytes(const std::string& name, int count) {
  Schema s;
  s.add_file(shop_file());
  Converted c = s.from_json("shop.Item", R"({"name":")" + name + R"(","unit_count":)" + std::to_string(count) + "}");
  EXPECT_TRUE(c.ok) << c.error;
  return c.text;
}

/// A model attached to one process (pid 42) that serves shop.Shop, with its descriptors.
struct ShopModel {
  Model model;
  ShopModel() {
    model.add_target("127.0.0.1:7777");
    model.connecting(0);
    model.ingest(0, snapshot_of(42));
    Descriptors d;
    d.pid = 42;
    d.files.push_back(shop_file().SerializeAsString());
    d.described.push_back("shop.Shop");
    model.add_descriptors(0, d);
  }
};

const TimelineEntry& nth_message(const CallRecord& c, std::size_t n) {
  for (const auto& e : c.timeline)
    if ((e.kind == TimelineKind::message_in || e.kind == TimelineKind::message_out) && n-- == 0) return e;
  throw std::out_of_range("no such message");
}

/// A shop.Item's wire bytes, from JSON.
std::string item_of(const std::string& json) {
  Schema s;
  s.add_file(shop_file());
  Converted c = s.from_json("shop.Item", json);
  EXPECT_TRUE(c.ok) << c.error;
  return c.text;
}

/// How the model shows a shop.Item request of which only the first `head`
/// bytes came; `dump`, if given, gets the model's dump.
MessageView head_view(const std::string& whole, std::size_t head, std::string* dump = nullptr) {
  ShopModel m;
  m.model.ingest(0, started(2, 10, "/shop.Shop/Get", v1::SERVER));
  m.model.ingest(0, message(3, 10, true, whole.substr(0, head), whole.size()));
  const CallRecord* c = m.model.find({0, 10});
  if (!c) {
    ADD_FAILURE() << "no call";
    return {};
  }
  if (dump) *dump = m.model.to_json();
  return m.model.message_view(*c, nth_message(*c, 0));
}

std::string cut_note(std::size_t head, std::size_t size) {
  return "first " + std::to_string(head) + " of " + std::to_string(size) + " bytes";
}

}  // namespace

TEST(Schema, ListsServicesAndMethodsWithTheirShapes) {
  Schema s;
  EXPECT_TRUE(s.empty());
  EXPECT_EQ(s.add_file(inspect_file()), 1u);
  EXPECT_EQ(s.add_file(inspect_file()), 0u);  // held already
  ASSERT_EQ(s.services().size(), 1u);
  const ServiceInfo& svc = s.services()[0];
  EXPECT_EQ(svc.name, "actio.inspect.v1.Inspector");
  ASSERT_EQ(svc.methods.size(), 2u);
  const MethodInfo* snap = s.method("/actio.inspect.v1.Inspector/Snapshot");
  ASSERT_NE(snap, nullptr);
  EXPECT_EQ(snap->input_type, "actio.inspect.v1.SnapshotRequest");
  EXPECT_EQ(snap->output_type, "actio.inspect.v1.Snapshot");
  EXPECT_EQ(snap->shape(), Shape::unary_unary);
  const MethodInfo* watch = s.method("/actio.inspect.v1.Inspector/Watch");
  ASSERT_NE(watch, nullptr);
  EXPECT_EQ(watch->output_type, "actio.inspect.v1.EventBatch");
  EXPECT_TRUE(watch->server_streaming);
  EXPECT_FALSE(watch->client_streaming);
  EXPECT_EQ(s.method("/actio.inspect.v1.Inspector/Nope"), nullptr);
  EXPECT_EQ(s.method("/no.Such/Watch"), nullptr);
  EXPECT_EQ(s.method("Watch"), nullptr);
  EXPECT_TRUE(s.errors().empty());

  s.add_file(shop_file());
  const MethodInfo* upload = s.method("/shop.Shop/Upload");
  ASSERT_NE(upload, nullptr);
  EXPECT_EQ(upload->shape(), Shape::stream_unary);
  EXPECT_EQ(s.method("/shop.Shop/List")->shape(), Shape::unary_stream);
  // The well-known type it did not send came from the inspector's own copy.
  EXPECT_TRUE(s.has_message("google.protobuf.Timestamp"));
  EXPECT_TRUE(s.errors().empty()) << s.errors().front();
}

TEST(Schema, DecodesBytesToJsonAndEncodesJsonBack) {
  Schema s;
  s.add_file(inspect_file());
  v1::Call call = a_call();
  std::string bytes = call.SerializeAsString();
  Converted json = s.to_json("actio.inspect.v1.Call", bytes);
  ASSERT_TRUE(json.ok) << json.error;
  EXPECT_NE(json.text.find(R"("method":"/shop.Shop/Get")"), std::string::npos) << json.text;
  EXPECT_NE(json.text.find(R"("side":"CLIENT")"), std::string::npos) << json.text;
  EXPECT_NE(json.text.find(R"("id":"7")"), std::string::npos) << json.text;  // 64-bit ints are strings in JSON
  EXPECT_NE(json.text.find(R"("start_time":0)"), std::string::npos) << "every field is printed: " << json.text;
  Converted pretty = s.to_json("actio.inspect.v1.Call", bytes, true);
  ASSERT_TRUE(pretty.ok);
  EXPECT_NE(pretty.text.find('\n'), std::string::npos);

  Converted back = s.from_json("actio.inspect.v1.Call", json.text);
  ASSERT_TRUE(back.ok) << back.error;
  v1::Call again;
  ASSERT_TRUE(again.ParseFromString(back.text));
  EXPECT_EQ(again.DebugString(), call.DebugString());
  // lowerCamelCase names are accepted too.
  Converted camel = s.from_json("actio.inspect.v1.Call", R"({"endpointId": "9", "method": "/a.B/C"})");
  ASSERT_TRUE(camel.ok) << camel.error;
  ASSERT_TRUE(again.ParseFromString(camel.text));
  EXPECT_EQ(again.endpoint_id(), 9u);
}

TEST(Schema, RefusesWhatIsNotTheType) {
  Schema s;
  s.add_file(inspect_file());
  Converted bad = s.from_json("actio.inspect.v1.Call", R"({"method": )");
  EXPECT_FALSE(bad.ok);
  EXPECT_NE(bad.error.find("not a valid actio.inspect.v1.Call in JSON"), std::string::npos) << bad.error;
  Converted unknown_field = s.from_json("actio.inspect.v1.Call", R"({"no_such_field": 1})");
  EXPECT_FALSE(unknown_field.ok);
  Converted wrong_type = s.from_json("actio.inspect.v1.Call", R"({"id": "seven"})");
  EXPECT_FALSE(wrong_type.ok);
  Converted no_type = s.from_json("nope.Nothing", "{}");
  EXPECT_FALSE(no_type.ok);
  EXPECT_NE(no_type.error.find("no descriptor for nope.Nothing"), std::string::npos);
  EXPECT_FALSE(s.to_json("nope.Nothing", "").ok);
  Converted garbage = s.to_json("actio.inspect.v1.Call", std::string("\xff\xff\xff", 3));
  EXPECT_FALSE(garbage.ok);
  EXPECT_NE(garbage.error.find("do not parse"), std::string::npos);
}

TEST(Schema, TemplatesFillNestedMessagesButNotRecursion) {
  Schema s;
  s.add_file(shop_file());
  std::string t = s.json_template("shop.Item");
  EXPECT_NE(t.find(R"("name": "")"), std::string::npos) << t;
  EXPECT_NE(t.find(R"("unit_count": 0)"), std::string::npos) << t;
  EXPECT_NE(t.find(R"("tags": [])"), std::string::npos) << t;
  EXPECT_NE(t.find(R"("kind": "KIND_UNSPECIFIED")"), std::string::npos) << t;
  EXPECT_NE(t.find(R"("created": "1970-01-01T00:00:00Z")"), std::string::npos) << t;
  EXPECT_NE(t.find(R"("cents": "0")"), std::string::npos) << "the nested Price is filled: " << t;
  EXPECT_EQ(t.find("parent"), std::string::npos) << "a recursive field stays out: " << t;
  // The template is a valid request.
  EXPECT_TRUE(s.from_json("shop.Item", t).ok) << t;
  EXPECT_EQ(s.json_template("nope.Nothing"), "");
}

TEST(Schema, MissingDependencyIsAnErrorNotACrash) {
  gp::FileDescriptorProto file;
  ASSERT_TRUE(gp::TextFormat::ParseFromString(
      R"pb(
        name: "orphan.proto"
        package: "orphan"
        syntax: "proto3"
        dependency: "elsewhere/missing.proto"
        message_type {
          name: "M"
          field { name: "x" number: 1 label: LABEL_OPTIONAL type: TYPE_MESSAGE type_name: ".elsewhere.X" }
        }
        service {
          name: "S"
          method { name: "Do" input_type: ".orphan.M" output_type: ".orphan.M" }
        }
      )pb",
      &file));
  Schema s;
  s.add_file(file);
  s.add_file(shop_file());
  EXPECT_FALSE(s.errors().empty());
  EXPECT_EQ(s.service("orphan.S"), nullptr);
  EXPECT_NE(s.service("shop.Shop"), nullptr) << "the other files still build";
  EXPECT_EQ(s.add_files({"not a descriptor \xff"}), 0u);
}

TEST(Schema, FailuresAndDescribedSymbols) {
  Schema s;
  auto g = s.generation();
  s.failed("a.B", "NOT_FOUND: Symbol not found: a.B");
  EXPECT_TRUE(s.knows("a.B"));
  EXPECT_FALSE(s.knows("c.D"));
  EXPECT_GT(s.generation(), g);
  s.described("a.B");  // a later answer wins
  EXPECT_TRUE(s.failures().empty());
  s.failed("a.B", "UNAVAILABLE");  // a passing failure after a success changes nothing
  EXPECT_TRUE(s.failures().empty());
  g = s.generation();
  s.clear();
  EXPECT_FALSE(s.knows("a.B"));
  EXPECT_GT(s.generation(), g);
}

TEST(Schema, HelpersForPathsSidesAddressesAndAscii) {
  EXPECT_EQ(service_of("/routeguide.RouteGuide/GetFeature"), "routeguide.RouteGuide");
  EXPECT_EQ(service_of("GetFeature"), "");
  EXPECT_EQ(service_of("//x"), "");
  EXPECT_TRUE(is_request(Side::server, TimelineKind::message_in));
  EXPECT_FALSE(is_request(Side::server, TimelineKind::message_out));
  EXPECT_TRUE(is_request(Side::client, TimelineKind::message_out));
  EXPECT_FALSE(is_request(Side::client, TimelineKind::message_in));

  EXPECT_EQ(dial_address("127.0.0.1:50051", "127.0.0.1:7777"), "127.0.0.1:50051");
  EXPECT_EQ(dial_address("0.0.0.0:50051", "127.0.0.1:7777"), "127.0.0.1:50051");
  EXPECT_EQ(dial_address("[::]:50051", "127.0.0.1:7777"), "127.0.0.1:50051");
  EXPECT_EQ(dial_address(":50051", "localhost:7777"), "localhost:50051");
  EXPECT_EQ(dial_address("0.0.0.0:5,[::1]:6", "10.1.2.3:7777"), "10.1.2.3:5");
  EXPECT_EQ(dial_address("[::1]:6", "10.1.2.3:7777"), "[::1]:6");
  EXPECT_EQ(dial_address("[::]:6", "[::1]:7777"), "[::1]:6");
  EXPECT_EQ(dial_address("0.0.0.0:6", "0.0.0.0:7777"), "127.0.0.1:6");
  // Every address, with the TLS ones (as the process wrote them) marked.
  EXPECT_EQ(dial_addresses("0.0.0.0:5,[::1]:6, 127.0.0.1:7", {"[::1]:6", "127.0.0.1:7"}, "10.1.2.3:7777"),
            (std::vector<DialAddress>{{"10.1.2.3:5", false}, {"[::1]:6", true}, {"127.0.0.1:7", true}}));
  EXPECT_EQ(dial_addresses("0.0.0.0:5", {"0.0.0.0:5"}, "127.0.0.1:7777"),
            (std::vector<DialAddress>{{"127.0.0.1:5", true}}));
  EXPECT_TRUE(dial_addresses("", {}, "127.0.0.1:7777").empty());

  EXPECT_EQ(ascii_json("{\"a\":\"x\"}"), "{\"a\":\"x\"}");
  EXPECT_EQ(ascii_json("\"\xc3\xa9\""), "\"\\u00e9\"");
  EXPECT_EQ(ascii_json("\"\xf0\x9f\x98\x80\""), "\"\\ud83d\\ude00\"");
  EXPECT_EQ(ascii_json("\"\xff\""), "\"\\ufffd\"");
  EXPECT_EQ(ascii_json("\"\xc3\""), "\"\\ufffd\"");  // cut short
}

TEST(ModelSchema, DecodesWholeMessagesByTheirSideAndLeavesHeadsAsHex) {
  ShopModel m;
  Model& model = m.model;
  std::string item = item_bytes("book", 3);
  Schema price_schema;
  price_schema.add_file(shop_file());
  std::string price = price_schema.from_json("shop.Price", R"({"cents": "1250"})").text;
  ASSERT_FALSE(price.empty());

  // A server-side call: in is the request (Item), out the response (Price).
  model.ingest(0, started(2, 10, "/shop.Shop/Get", v1::SERVER));
  model.ingest(0, message(3, 10, true, item));
  model.ingest(0, message(4, 10, false, price));
  // A client-side call: out is the request, in the response.
  model.ingest(0, started(5, 11, "/shop.Shop/Get", v1::CLIENT));
  model.ingest(0, message(6, 11, false, item));
  model.ingest(0, message(7, 11, true, price));
  // Only the head of a longer message came, and nothing of it fits the type
  // (an Item's name cut short, where a Price has its cents, a varint): hex,
  // and says so.
  model.ingest(0, message(8, 11, true, item.substr(0, 4), item.size()));
  // A method the process could not describe.
  model.ingest(0, started(9, 12, "/other.Svc/Do", v1::SERVER));
  model.ingest(0, message(10, 12, true, item));

  const CallRecord* server = model.find({0, 10});
  ASSERT_NE(server, nullptr);
  const MessageView& in = model.message_view(*server, nth_message(*server, 0));
  EXPECT_TRUE(in.request);
  EXPECT_EQ(in.type, "shop.Item");
  ASSERT_TRUE(in.json.has_value()) << in.note;
  EXPECT_NE(in.json->find(R"("name": "book")"), std::string::npos) << *in.json;
  EXPECT_NE(in.json->find(R"("unit_count": 3)"), std::string::npos) << *in.json;
  const MessageView& out = model.message_view(*server, nth_message(*server, 1));
  EXPECT_FALSE(out.request);
  EXPECT_EQ(out.type, "shop.Price");
  ASSERT_TRUE(out.json.has_value()) << out.note;
  EXPECT_NE(out.json->find(R"("cents": "1250")"), std::string::npos);

  const CallRecord* client = model.find({0, 11});
  ASSERT_NE(client, nullptr);
  const MessageView& c_out = model.message_view(*client, nth_message(*client, 0));
  EXPECT_TRUE(c_out.request);
  EXPECT_EQ(c_out.type, "shop.Item");
  EXPECT_TRUE(c_out.json.has_value());
  const MessageView& c_in = model.message_view(*client, nth_message(*client, 1));
  EXPECT_EQ(c_in.type, "shop.Price");
  EXPECT_TRUE(c_in.json.has_value());
  const MessageView& cut = model.message_view(*client, nth_message(*client, 2));
  EXPECT_FALSE(c_in.partial);
  EXPECT_EQ(cut.type, "shop.Price");
  EXPECT_FALSE(cut.json.has_value()) << "nothing of a Price in the head: " << *cut.json;
  EXPECT_FALSE(cut.partial);
  EXPECT_EQ(cut.note, "first 4 of " + std::to_string(item.size()) + " bytes");

  const CallRecord* other = model.find({0, 12});
  ASSERT_NE(other, nullptr);
  const MessageView& unknown = model.message_view(*other, nth_message(*other, 0));
  EXPECT_FALSE(unknown.json.has_value());
  EXPECT_NE(unknown.note.find("no descriptors for other.Svc"), std::string::npos) << unknown.note;
  std::vector<std::string> undescribed = model.undescribed_services(0);
  EXPECT_EQ(undescribed, std::vector<std::string>{"other.Svc"});
  Descriptors failure;
  failure.pid = 42;
  failure.failed.emplace_back("other.Svc", "NOT_FOUND: Symbol not found: other.Svc");
  model.add_descriptors(0, failure);
  EXPECT_TRUE(model.undescribed_services(0).empty());
  const MessageView& refused = model.message_view(*other, nth_message(*other, 0));  // made again: the schema changed
  EXPECT_NE(refused.note.find("NOT_FOUND"), std::string::npos) << refused.note;

  // The dump: the services, and the messages as JSON or hex.
  std::string json = model.to_json();
  EXPECT_NE(json.find(R"("name":"shop.Shop")"), std::string::npos);
  EXPECT_NE(json.find(R"("path":"/shop.Shop/List")"), std::string::npos);
  EXPECT_NE(json.find(R"("server_streaming":true)"), std::string::npos);
  EXPECT_NE(json.find(R"("name": "book")"), std::string::npos);
  EXPECT_NE(json.find(R"("hex":"0a04626f","note":"first 4 of )"), std::string::npos) << json;
  EXPECT_NE(json.find(R"("other.Svc":"NOT_FOUND: Symbol not found: other.Svc")"), std::string::npos);
}

TEST(ModelSchema, TheModelCutsHeadsToItsLimit) {
  Limits limits;
  limits.head_bytes = 4;
  Model model(limits);
  model.add_target("127.0.0.1:7777");
  model.ingest(0, snapshot_of(42));
  Descriptors d;
  d.pid = 42;
  d.files.push_back(shop_file().SerializeAsString());
  model.add_descriptors(0, d);
  std::string item = item_bytes("a longer name", 3);
  model.ingest(0, started(2, 10, "/shop.Shop/Get", v1::SERVER));
  model.ingest(0, message(3, 10, true, item));
  const CallRecord* c = model.find({0, 10});
  ASSERT_NE(c, nullptr);
  const MessageView& v = model.message_view(*c, nth_message(*c, 0));
  ASSERT_TRUE(v.json.has_value()) << v.note;
  EXPECT_TRUE(v.partial);
  EXPECT_NE(v.json->find(R"("name": "a ")"), std::string::npos) << "the name's tag, length and 2 letters: " << *v.json;
  EXPECT_EQ(v.note, "first 4 of " + std::to_string(item.size()) + " bytes");
}

TEST(ModelSchema, AHeadCutInALaterScalarShowsTheFieldsBeforeIt) {
  // name (2 + 4 bytes), unit_count 300 (1 + 2), kind BOOK (1 + 1).
  std::string whole = item_of(R"({"name": "book", "unit_count": 300, "kind": "BOOK"})");
  ASSERT_EQ(whole.size(), 11u);
  std::string dump;
  MessageView v = head_view(whole, 8, &dump);  // unit_count's last byte did not come
  EXPECT_EQ(v.type, "shop.Item");
  ASSERT_TRUE(v.json.has_value()) << v.note;
  EXPECT_TRUE(v.partial);
  EXPECT_EQ(v.note, cut_note(8, 11));
  EXPECT_NE(v.json->find(R"("name": "book")"), std::string::npos) << *v.json;
  EXPECT_NE(v.json->find(R"("unit_count": 0)"), std::string::npos) << "the cut field is dropped: " << *v.json;
  EXPECT_NE(v.json->find(R"("kind": "KIND_UNSPECIFIED")"), std::string::npos) << "so is what follows: " << *v.json;
  EXPECT_NE(v.json->find('\n'), std::string::npos) << "pretty, as a whole message";
  // The dump: the JSON, and that it is cut.
  EXPECT_NE(dump.find(R"("json":{)"), std::string::npos) << dump;
  EXPECT_NE(dump.find(R"("name": "book")"), std::string::npos) << dump;
  EXPECT_NE(dump.find(R"(},"partial":true,"note":"first 8 of 11 bytes"})"), std::string::npos) << dump;
  EXPECT_EQ(dump.find(R"("hex")"), std::string::npos) << dump;

  // Cut between two fields: every field before the cut.
  v = head_view(whole, 9);
  ASSERT_TRUE(v.json.has_value()) << v.note;
  EXPECT_TRUE(v.partial);
  EXPECT_NE(v.json->find(R"("unit_count": 300)"), std::string::npos) << *v.json;
  EXPECT_NE(v.json->find(R"("kind": "KIND_UNSPECIFIED")"), std::string::npos) << *v.json;
  // A whole message is not partial.
  v = head_view(whole, whole.size());
  ASSERT_TRUE(v.json.has_value()) << v.note;
  EXPECT_FALSE(v.partial);
  EXPECT_EQ(v.note, "");
  EXPECT_NE(v.json->find(R"("kind": "BOOK")"), std::string::npos) << *v.json;
}

TEST(ModelSchema, AHeadCutInAStringShowsItsPrefix) {
  std::string whole = item_of(R"({"name": "a longer name", "unit_count": 3, "tags": ["red", "blue"]})");
  MessageView v = head_view(whole, 6);  // the name's tag and length, then "a lo"
  ASSERT_TRUE(v.json.has_value()) << v.note;
  EXPECT_TRUE(v.partial);
  EXPECT_EQ(v.note, cut_note(6, whole.size()));
  EXPECT_NE(v.json->find(R"("name": "a lo",)"), std::string::npos) << *v.json;
  EXPECT_NE(v.json->find(R"("unit_count": 0)"), std::string::npos) << *v.json;
  // A repeated string: the whole ones, then what fits of the one cut.
  v = head_view(whole, whole.size() - 2);
  ASSERT_TRUE(v.json.has_value()) << v.note;
  EXPECT_NE(v.json->find(R"("unit_count": 3)"), std::string::npos) << *v.json;
  EXPECT_NE(v.json->find(R"("red",)"), std::string::npos) << *v.json;
  EXPECT_NE(v.json->find(R"("bl")"), std::string::npos) << *v.json;
}

TEST(ModelSchema, AHeadCutInANestedMessageShowsItsWholeFields) {
  // name "outer" (2 + 5), parent (2 + 10: name "inner" 2 + 5, unit_count 300 1 + 2), kind BOOK (2).
  std::string whole =
      item_of(R"({"name": "outer", "parent": {"name": "inner", "unit_count": 300}, "kind": "BOOK"})");
  ASSERT_EQ(whole.size(), 21u);
  MessageView v = head_view(whole, 18);  // in the parent's unit_count
  ASSERT_TRUE(v.json.has_value()) << v.note;
  EXPECT_TRUE(v.partial);
  EXPECT_EQ(v.note, cut_note(18, 21));
  EXPECT_NE(v.json->find(R"("name": "outer")"), std::string::npos) << *v.json;
  auto parent = v.json->find(R"("parent": {)");
  ASSERT_NE(parent, std::string::npos) << *v.json;
  EXPECT_NE(v.json->find(R"("name": "inner")", parent), std::string::npos) << *v.json;
  EXPECT_EQ(v.json->find("300"), std::string::npos) << "the parent's cut field is dropped: " << *v.json;
  EXPECT_NE(v.json->find(R"("kind": "KIND_UNSPECIFIED")"), std::string::npos) << *v.json;

  // Cut in the parent's name: the same rules one level down.
  v = head_view(whole, 13);
  ASSERT_TRUE(v.json.has_value()) << v.note;
  parent = v.json->find(R"("parent": {)");
  ASSERT_NE(parent, std::string::npos) << *v.json;
  EXPECT_NE(v.json->find(R"("name": "in")", parent), std::string::npos) << *v.json;
  // Nothing of the parent fits (its first tag only): it is left out, not shown empty.
  v = head_view(whole, 10);
  ASSERT_TRUE(v.json.has_value()) << v.note;
  EXPECT_NE(v.json->find(R"("name": "outer")"), std::string::npos) << *v.json;
  EXPECT_EQ(v.json->find("parent"), std::string::npos) << *v.json;
  // Nothing of it the type declares fits (a field 127 it does not know, then a cut tag): left out too.
  std::string unknown_only("\x0a\x05" "outer" "\x22\x0a\xf8\x07\x01\x10", 13);
  v = head_view(unknown_only + std::string(8, '\0'), unknown_only.size());
  ASSERT_TRUE(v.json.has_value()) << v.note;
  EXPECT_NE(v.json->find(R"("name": "outer")"), std::string::npos) << *v.json;
  EXPECT_EQ(v.json->find("parent"), std::string::npos) << *v.json;
}

TEST(ModelSchema, AHeadCutInAUtf8CharacterEndsBeforeIt) {
  // "a", then a 3-byte and a 4-byte character; each cut inside one ends before it.
  std::string whole = item_of("{\"name\": \"a\xe2\x82\xac\xf0\x9f\x98\x80\", \"unit_count\": 3}");
  ASSERT_EQ(whole.size(), 2u + 8 + 2);
  for (std::size_t head = 3; head < 10; ++head) {
    std::string dump;
    MessageView v = head_view(whole, head, &dump);
    ASSERT_TRUE(v.json.has_value()) << "head " << head << ": " << v.note;
    EXPECT_TRUE(v.partial);
    std::string name = head < 6 ? "a" : "a\xe2\x82\xac";
    EXPECT_NE(v.json->find(R"("name": ")" + name + R"(",)"), std::string::npos) << "head " << head << ": " << *v.json;
    EXPECT_EQ(dump.find("fffd"), std::string::npos) << "no broken character in the dump: " << dump;
  }
  MessageView v = head_view(whole, 10);  // the whole name, not unit_count
  ASSERT_TRUE(v.json.has_value()) << v.note;
  EXPECT_NE(v.json->find("\"a\xe2\x82\xac\xf0\x9f\x98\x80\""), std::string::npos) << *v.json;
}

TEST(ModelSchema, AHeadWhereNothingFitsStaysHex) {
  std::string dump;
  MessageView v = head_view(std::string(5, '\xff') + std::string(95, '\0'), 5, &dump);
  EXPECT_FALSE(v.json.has_value()) << *v.json;
  EXPECT_FALSE(v.partial);
  EXPECT_EQ(v.note, cut_note(5, 100));
  EXPECT_NE(dump.find(R"("hex":"ffffffffff","note":"first 5 of 100 bytes")"), std::string::npos) << dump;
  EXPECT_EQ(dump.find(R"("partial")"), std::string::npos) << dump;
  // Only a cut field, with nothing of its value: hex too.
  std::string whole = item_of(R"({"unit_count": 300})");
  v = head_view(whole, 2);
  EXPECT_FALSE(v.json.has_value()) << *v.json;
  EXPECT_EQ(v.note, cut_note(2, 3));

  Schema s;
  s.add_file(shop_file());
  auto refused = [&](std::string_view type, const std::string& head, const std::string& why) {
    Converted c = s.head_to_json(type, head);
    EXPECT_FALSE(c.ok) << c.text;
    EXPECT_NE(c.error.find(why), std::string::npos) << c.error;
  };
  refused("shop.Item", "", "no field of shop.Item fits in the first 0 bytes");
  refused("shop.Item", std::string("\x0f\x01\x02", 3), "no field");                // wire type 7
  refused("shop.Item", std::string("\x02\x01\x02", 3), "no field");                // field number 0
  refused("shop.Item", std::string("\x0b\x08\x01\x0c", 4), "no field");           // a group
  refused("shop.Item", std::string("\xf8\x07\x01", 3), "no field");                // field 127: not declared
  refused("shop.Item", std::string("\x08\x01", 2), "no field");                     // name sent as a varint
  refused("shop.Item", std::string("\x0a\x02\xff\xfe\x10\x01", 6), "do not parse");  // a whole name, not UTF-8
  refused("nope.Nothing", "\x08\x01", "no descriptor for nope.Nothing");
  // A field it does not declare does not count, but is skipped over.
  Converted c = s.head_to_json("shop.Item", std::string("\xf8\x07\x01\x10\x05\x18", 6));
  ASSERT_TRUE(c.ok) << c.error;
  EXPECT_NE(c.text.find(R"("unit_count":5)"), std::string::npos) << c.text;
}

TEST(Schema, HeadsOfProto2MessagesAndBytes) {
  gp::FileDescriptorProto file;
  ASSERT_TRUE(gp::TextFormat::ParseFromString(
      R"pb(
        name: "legacy.proto"
        package: "legacy"
        message_type {
          name: "Record"
          field { name: "id" number: 1 label: LABEL_REQUIRED type: TYPE_STRING }
          field { name: "blob" number: 2 label: LABEL_OPTIONAL type: TYPE_BYTES }
          field { name: "count" number: 3 label: LABEL_REQUIRED type: TYPE_INT32 }
        }
      )pb",
      &file));
  Schema s;
  s.add_file(file);
  ASSERT_TRUE(s.has_message("legacy.Record")) << (s.errors().empty() ? "" : s.errors().front());
  // id "x" (2 + 1), blob 00 01 02 03 04 (2 + 5), count 7 (2): cut in the blob.
  std::string whole("\x0a\x01x\x12\x05\x00\x01\x02\x03\x04\x18\x07", 12);
  ASSERT_TRUE(s.to_json("legacy.Record", whole).ok);
  Converted c = s.head_to_json("legacy.Record", whole.substr(0, 8));
  ASSERT_TRUE(c.ok) << "the required count is missing, and that is fine: " << c.error;
  EXPECT_NE(c.text.find(R"("id":"x")"), std::string::npos) << c.text;
  EXPECT_NE(c.text.find(R"("blob":"AAEC")"), std::string::npos) << "00 01 02 in base64: " << c.text;
  EXPECT_FALSE(s.to_json("legacy.Record", whole.substr(0, 10)).ok) << "a whole message must have them";
  c = s.head_to_json("legacy.Record", whole.substr(0, 10));
  ASSERT_TRUE(c.ok) << c.error;
  EXPECT_NE(c.text.find(R"("blob":"AAECAwQ=")"), std::string::npos) << c.text;
}

TEST(ModelSchema, AnotherProcessForgetsTheDescriptors) {
  ShopModel m;
  Model& model = m.model;
  ASSERT_NE(model.schema(0).service("shop.Shop"), nullptr);
  model.lost(0, "gone");
  model.connecting(0);
  model.ingest(0, snapshot_of(42));  // the same process again: kept
  EXPECT_NE(model.schema(0).service("shop.Shop"), nullptr);
  model.connecting(0);
  model.ingest(0, snapshot_of(43));  // restarted: forgotten
  EXPECT_EQ(model.schema(0).service("shop.Shop"), nullptr);
  EXPECT_EQ(model.undescribed_services(0), std::vector<std::string>{"shop.Shop"});
  Descriptors late;  // asked of the old process
  late.pid = 42;
  late.files.push_back(shop_file().SerializeAsString());
  late.described.push_back("shop.Shop");
  model.add_descriptors(0, late);
  EXPECT_EQ(model.schema(0).service("shop.Shop"), nullptr);
  late.pid = 43;
  model.add_descriptors(0, late);
  EXPECT_NE(model.schema(0).service("shop.Shop"), nullptr);
}

TEST(ModelSchema, Invocations) {
  ShopModel m;
  Model& model = m.model;
  EXPECT_EQ(model.serving_address(0, "shop.Shop"), "127.0.0.1:5050");
  EXPECT_FALSE(model.serving_address(0, "other.Svc").has_value());

  std::uint64_t id = 0;
  auto out = model.begin_invocation({0, "127.0.0.1:5050", "/shop.Shop/Get", R"({"name": "pen"})", 2.5}, &id);
  ASSERT_TRUE(out.has_value()) << model.invocation(id)->details;
  EXPECT_EQ(out->id, id);
  EXPECT_EQ(out->address, "127.0.0.1:5050");
  EXPECT_FALSE(out->server_streaming);
  EXPECT_EQ(out->timeout, 2.5);
  EXPECT_EQ(out->request, item_bytes("pen", 0));
  EXPECT_FALSE(model.invocation(id)->done);
  Schema s;
  s.add_file(shop_file());
  model.end_invocation({id, 0, "", {s.from_json("shop.Price", R"({"cents": "99"})").text}});
  const Invocation* inv = model.invocation(id);
  ASSERT_TRUE(inv->done);
  EXPECT_EQ(inv->code, 0);
  ASSERT_EQ(inv->replies.size(), 1u);
  ASSERT_TRUE(inv->replies[0].json.has_value());
  EXPECT_NE(inv->replies[0].json->find(R"("cents": "99")"), std::string::npos);

  auto streaming = model.begin_invocation({0, "127.0.0.1:5050", "/shop.Shop/List", "{}", 10}, &id);
  ASSERT_TRUE(streaming.has_value());
  EXPECT_TRUE(streaming->server_streaming);
  model.end_invocation({id, 14, "connection refused", {}});
  EXPECT_EQ(model.invocation(id)->code, 14);
  EXPECT_FALSE(model.invocation(id)->not_sent);

  auto refused = [&](InvokeRequest request, const std::string& why) {
    std::uint64_t rid = 0;
    EXPECT_FALSE(model.begin_invocation(request, &rid).has_value()) << request.method;
    const Invocation* r = model.invocation(rid);
    ASSERT_NE(r, nullptr);
    EXPECT_TRUE(r->done && r->not_sent);
    EXPECT_NE(r->details.find(why), std::string::npos) << r->details;
  };
  refused({0, "127.0.0.1:5050", "/shop.Shop/Get", R"({"name": )", 10}, "not a valid shop.Item in JSON");
  refused({0, "127.0.0.1:5050", "/shop.Shop/Get", R"({"colour": "red"})", 10}, "not a valid shop.Item");
  refused({0, "127.0.0.1:5050", "/shop.Shop/Nope", "{}", 10},
          "shop.Shop has no method Nope (it has Get, Upload, List)");
  refused({0, "127.0.0.1:5050", "/shop.Shop/Get", "{}", 10, {}, std::vector<std::string>{"{}", "{}"}},
          "/shop.Shop/Get takes one request, not 2");
  refused({0, "127.0.0.1:5050", "/shop.Shop/Upload", "{}", 10, {},
           std::vector<std::string>{R"({"name": "a"})", R"({"colour": "red"})"}},
          "request 2: ");
  refused({0, "127.0.0.1:5050", "/other.Svc/Do", "{}", 10}, "no descriptors for other.Svc");
  refused({0, "127.0.0.1:5050", "Get", "{}", 10}, "not a method path");
  refused({0, "", "/shop.Shop/Get", "{}", 10}, "no address");
  refused({3, "127.0.0.1:5050", "/shop.Shop/Get", "{}", 10}, "no process 3");
  std::string json = model.to_json();
  EXPECT_NE(json.find(R"("invocations":[)"), std::string::npos);
  EXPECT_NE(json.find(R"("cents": "99")"), std::string::npos);
}

TEST(ModelSchema, StreamingInvocations) {
  ShopModel m;
  Model& model = m.model;
  Schema s;
  s.add_file(shop_file());
  // Client streaming: every request encoded, in order; the one reply at the end.
  std::uint64_t id = 0;
  InvokeRequest upload{0, "127.0.0.1:5050", "/shop.Shop/Upload", "{}", 5};
  upload.requests = std::vector<std::string>{R"({"name": "a", "unit_count": 1})", R"({"name": "b", "unit_count": 2})", "{}"};
  upload.security = {true, "ca.pem", "c.pem", "k.pem", "localhost"};
  auto out = model.begin_invocation(upload, &id);
  ASSERT_TRUE(out.has_value()) << model.invocation(id)->details;
  EXPECT_TRUE(out->client_streaming);
  EXPECT_FALSE(out->server_streaming);
  EXPECT_EQ(out->requests, (std::vector<std::string>{item_bytes("a", 1), item_bytes("b", 2), ""}));
  EXPECT_TRUE(out->security.tls);
  EXPECT_EQ(out->security.ca_file, "ca.pem");
  EXPECT_EQ(out->security.authority, "localhost");
  EXPECT_EQ(model.invocation(id)->requests, 3u);
  InvocationResult done{id, 0, "", {s.from_json("shop.Price", R"({"cents": "3"})").text}};
  done.sent = 3;
  model.end_invocation(done);
  const Invocation* inv = model.invocation(id);
  ASSERT_TRUE(inv->done);
  EXPECT_EQ(inv->sent, 3u);
  ASSERT_EQ(inv->replies.size(), 1u);
  EXPECT_NE(inv->replies[0].json->find(R"("cents": "3")"), std::string::npos);
  EXPECT_NE(model.to_json().find(R"("tls":true,"requests":3,"sent":3)"), std::string::npos);

  // Without a list, the one JSON request; an empty list sends none.
  out = model.begin_invocation({0, "127.0.0.1:5050", "/shop.Shop/Upload", R"({"name": "x"})", 5}, &id);
  ASSERT_TRUE(out.has_value());
  EXPECT_EQ(out->requests, std::vector<std::string>{item_bytes("x", 0)});
  InvokeRequest none{0, "127.0.0.1:5050", "/shop.Shop/Upload", "{}", 5};
  none.requests = std::vector<std::string>{};
  out = model.begin_invocation(none, &id);
  ASSERT_TRUE(out.has_value());
  EXPECT_TRUE(out->requests.empty());

  // Server streaming: replies come one by one while the call runs; late ones are dropped.
  out = model.begin_invocation({0, "127.0.0.1:5050", "/shop.Shop/List", "{}", 5}, &id);
  ASSERT_TRUE(out.has_value());
  model.add_invocation_reply({id, item_bytes("first", 1)});
  model.add_invocation_reply({id, "\xff\xff"});
  inv = model.invocation(id);
  EXPECT_FALSE(inv->done);
  ASSERT_EQ(inv->replies.size(), 2u);
  EXPECT_NE(inv->replies[0].json->find(R"("name": "first")"), std::string::npos);
  EXPECT_FALSE(inv->replies[1].json.has_value());
  model.end_invocation({id, 0, "", {}});
  model.add_invocation_reply({id, item_bytes("late", 1)});
  EXPECT_EQ(model.invocation(id)->replies.size(), 2u);

  // A long stream: the first Limits::invocation_replies replies are kept, the rest counted.
  out = model.begin_invocation({0, "127.0.0.1:5050", "/shop.Shop/List", "{}", 5}, &id);
  ASSERT_TRUE(out.has_value());
  for (int i = 0; i < 1005; ++i) model.add_invocation_reply({id, item_bytes("x", 1)});
  EXPECT_EQ(model.invocation(id)->replies.size(), Limits{}.invocation_replies);
  EXPECT_EQ(model.invocation(id)->replies_not_kept, 1005 - Limits{}.invocation_replies);
}

TEST(ModelSchema, ServersSayWhichPortsUseTls) {
  ShopModel m;
  Model& model = m.model;
  EXPECT_EQ(model.serving_addresses(0, "shop.Shop"), (std::vector<DialAddress>{{"127.0.0.1:5050", false}}));
  v1::Event e;
  e.set_seq(2);
  e.set_time(T0);
  auto* server = e.mutable_endpoint();
  server->set_id(1);
  server->set_kind(v1::SERVER_ENDPOINT);
  server->set_target("0.0.0.0:5050,0.0.0.0:5051");
  server->add_services("shop.Shop");
  server->add_tls_addresses("0.0.0.0:5051");
  model.ingest(0, e);
  EXPECT_EQ(model.serving_addresses(0, "shop.Shop"),
            (std::vector<DialAddress>{{"127.0.0.1:5050", false}, {"127.0.0.1:5051", true}}));
  EXPECT_TRUE(model.serving_addresses(0, "other.Svc").empty());
  EXPECT_NE(model.to_json().find(R"("tls_addresses":["0.0.0.0:5051"])"), std::string::npos);
}
