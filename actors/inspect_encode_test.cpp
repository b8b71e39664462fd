// The hand-written wire format of watch events against the generated
// classes: for every kind of event, the same bytes, and the same message
// when parsed.
#include "detail/inspect_encode.hpp"

#include <google/protobuf/util/message_differencer.h>
#include <grpcpp/support/byte_buffer.h>
#include <gtest/gtest.h>

namespace {

using namespace actio;
namespace v1 = actio::inspect::v1;
namespace reg = actio::detail::inspect;
namespace encode = actio::inspect::encode;
using Kind = reg::EventRef::Kind;

std::shared_ptr<reg::CallRecord> full_record() {
  auto r = std::make_shared<reg::CallRecord>();
  r->id = 300;  // two varint bytes
  r->side = reg::Side::server;
  r->shape = reg::Shape::stream_stream;
  r->method = "/pkg.Svc/Method";
  r->peer = "ipv4:127.0.0.1:5555";
  r->endpoint = std::make_shared<reg::EndpointRecord>();
  r->endpoint->id = 7;
  r->loop = 2;
  r->start_time = 1795000000.125;
  r->deadline = 1795000030.5;
  r->invocation_metadata = Metadata{{"authorization", "Bearer secret"},
                                    {"x-trace-bin", std::string("\x00\x01", 2)},
                                    {"x-user", "ada"},
                                    {"x-long", std::string(300, 'v')}};  // a nested length of two bytes
  r->initial_metadata = Metadata{{"set-cookie", "a=b"}, {"x-shown", "yes"}};
  r->trailing_metadata = Metadata{{"x-trailer", "t"}};
  r->messages_in = 3;
  r->messages_out = 200;
  r->bytes_in = 1u << 20;
  r->bytes_out = 0;  // left out, as proto3 does
  r->half_closed = true;
  r->done = true;
  r->code = StatusCode::RESOURCE_EXHAUSTED;
  r->details = "too much";
  r->cancelled_by = "peer";
  r->end_time = 1795000001.75;
  InterceptorRecord step;
  step.name = "logging";
  step.runs = 2;
  step.total = Duration(0.004);
  step.in_continuation = Duration(0.003);
  step.continuation_calls = 2;
  step.changes = {"metadata +x", ""};  // an empty entry of a repeated string is still written
  r->interceptors = {step, InterceptorRecord{"empty", 1, Duration(0), Duration(0), 0, {}}};
  return r;
}

void expect_same(const reg::EventRef& e, std::size_t head_bytes, const inspect::Options& options,
                 const char* what) {
  v1::Event built;
  encode::fill_event(&built, e, head_bytes, options);
  std::string by_hand;
  encode::append_event(by_hand, e, head_bytes, options);
  v1::Event parsed;
  ASSERT_TRUE(parsed.ParseFromString(by_hand)) << what;
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(built, parsed))
      << what << "\nbuilt:  " << built.ShortDebugString() << "\nparsed: " << parsed.ShortDebugString();
  EXPECT_EQ(by_hand, built.SerializeAsString()) << what;
}

TEST(InspectEncode, VarintsAreProtobufs) {
  auto bytes = [](std::uint64_t v) {
    std::string out = "x";  // appended to what is there
    reg::put_varint(out, v);
    return out.substr(1);
  };
  EXPECT_EQ(bytes(0), std::string(1, '\0'));
  EXPECT_EQ(bytes(127), "\x7f");
  EXPECT_EQ(bytes(128), "\x80\x01");
  EXPECT_EQ(bytes(300), "\xac\x02");
  EXPECT_EQ(bytes(~std::uint64_t{0}), std::string(9, '\xff') + "\x01");
}

TEST(InspectEncode, EveryKindOfEventMatchesTheGeneratedClasses) {
  auto r = full_record();
  inspect::Options options;
  grpc::Slice slice(std::string("\x0a\x05hello world", 13));
  grpc::ByteBuffer message(&slice, 1);
  for (Kind kind : {Kind::started, Kind::headers, Kind::message_in, Kind::message_out, Kind::half_closed,
                    Kind::status, Kind::interceptors}) {
    reg::EventRef e;
    e.kind = kind;
    e.time = 1795000000.5;
    e.call = r.get();
    e.message = &message;
    e.size = 13;
    for (std::size_t head : {std::size_t{0}, std::size_t{3}, std::size_t{4096}}) {
      expect_same(e, head, options, ("kind " + std::to_string(static_cast<int>(kind)) + " head " +
                                     std::to_string(head)).c_str());
    }
  }
  // An empty message event is still an event of that kind.
  reg::EventRef empty;
  empty.kind = Kind::message_out;
  empty.call = r.get();
  expect_same(empty, 64, options, "empty message");
}

TEST(InspectEncode, RedactionFollowsTheOptions) {
  auto r = full_record();
  inspect::Options options;
  options.show_keys = {"authorization"};
  reg::EventRef e;
  e.kind = Kind::started;
  e.call = r.get();
  expect_same(e, 0, options, "show authorization");
  std::string by_hand;
  encode::append_event(by_hand, e, 0, options);
  v1::Event parsed;
  ASSERT_TRUE(parsed.ParseFromString(by_hand));
  const auto& md = parsed.started().invocation_metadata();
  ASSERT_EQ(md.size(), 4);
  EXPECT_EQ(md[0].value(), "Bearer secret");  // shown on request
  EXPECT_FALSE(md[0].redacted());
  EXPECT_EQ(md[1].value(), "<redacted 2 bytes>");  // -bin stays redacted
  EXPECT_TRUE(md[1].redacted());
}

TEST(InspectEncode, EndpointEvents) {
  reg::EndpointView v;
  v.id = 5;
  v.kind = reg::EndpointRecord::Kind::server;
  v.target = "127.0.0.1:1,[::1]:1";
  v.state = "running";
  v.calls_started = 9;
  v.history = {{1.5, "created"}, {2.5, "running"}};
  v.services = {"a.B"};
  v.tls_addresses = {"[::1]:1"};
  reg::EventRef e;
  e.kind = Kind::endpoint;
  e.time = 3;
  e.endpoint = &v;
  expect_same(e, 0, {}, "endpoint");
  v1::Event built;
  encode::fill_event(&built, e, 0, {});
  ASSERT_EQ(built.endpoint().tls_addresses_size(), 1);
  EXPECT_EQ(built.endpoint().tls_addresses(0), "[::1]:1");
}

}  // namespace
