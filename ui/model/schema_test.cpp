// The Schema (descriptors from server reflection) and what the model does
// with it: services and methods, bytes → JSON, JSON → bytes, templates, a
// truncated head left as hex, request/response by side, a restarted process,
// invocations, the dump.
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
  // Only the head of a longer message came: hex, and says so.
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
  EXPECT_FALSE(cut.json.has_value()) << "a head is not decoded: " << *cut.json;
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
  EXPECT_NE(json.find(R"("note":"first 4 of )"), std::string::npos);
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
  EXPECT_FALSE(v.json.has_value());
  EXPECT_EQ(v.note, "first 4 of " + std::to_string(item.size()) + " bytes");
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
