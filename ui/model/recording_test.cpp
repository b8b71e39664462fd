// Recordings (--record / --replay): the file format written and read back,
// cut short, from another program or version, bounded by its size cap; a
// recording fed back into a model; the export of the calls the filter shows.
#include "recording.hpp"

#include <gtest/gtest.h>

#include <limits>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "inspect.pb.h"

namespace v1 = actio::inspect::v1;
using namespace actio::inspector;

namespace {

constexpr double T0 = 1'700'000'000.0;

v1::Call make_call(std::uint64_t id, const std::string& method) {
  v1::Call c;
  c.set_id(id);
  c.set_side(v1::SERVER);
  c.set_shape(v1::UNARY_UNARY);
  c.set_method(method);
  c.set_peer("ipv4:127.0.0.1:5000");
  c.set_endpoint_id(1);
  c.set_start_time(T0);
  return c;
}

v1::Snapshot snapshot(std::uint64_t seq, std::vector<v1::Call> live) {
  v1::Snapshot s;
  s.set_seq(seq);
  s.set_time(T0);
  s.set_pid(42);
  s.set_process("server");
  for (auto& c : live) *s.add_live_calls() = c;
  return s;
}

v1::Event started(std::uint64_t seq, const v1::Call& call) {
  v1::Event e;
  e.set_seq(seq);
  e.set_time(T0 + 0.1);
  e.set_call_id(call.id());
  *e.mutable_started() = call;
  return e;
}

v1::Event message_in(std::uint64_t seq, std::uint64_t call, std::string head) {
  v1::Event e;
  e.set_seq(seq);
  e.set_time(T0 + 0.2);
  e.set_call_id(call);
  e.mutable_message_in()->set_size(static_cast<std::uint32_t>(head.size()));
  e.mutable_message_in()->set_head(std::move(head));
  return e;
}

v1::Event status(std::uint64_t seq, std::uint64_t call, int code) {
  v1::Event e;
  e.set_seq(seq);
  e.set_time(T0 + 0.3);
  e.set_call_id(call);
  e.mutable_status()->set_code(code);
  return e;
}

/// A file in the test's temporary folder, removed at the end.
struct TempFile {
  std::string path;
  explicit TempFile(const std::string& name)
      : path((std::filesystem::temp_directory_path() /
              ("actio_recording_test_" + std::to_string(::getpid()) + "_" + name))
                 .string()) {}
  ~TempFile() { std::remove(path.c_str()); }
  std::string bytes() const {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
  }
  void write(const std::string& bytes) const {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << bytes;
  }
};

/// What a live session of two targets could have received.
std::vector<Update> session() {
  std::vector<Update> u;
  u.push_back({0, Update::Connecting{}, T0});
  u.push_back({1, Update::Connecting{}, T0});
  u.push_back({0, snapshot(10, {make_call(1, "/a.S/Live")}), T0 + 0.5});
  // One watch batch of target 0 (the same arrival time), then one of target 1.
  u.push_back({0, started(11, make_call(2, "/a.S/Next")), T0 + 1});
  u.push_back({0, message_in(12, 2, "\x0a\x03" "abc"), T0 + 1});
  u.push_back({0, status(13, 2, 5), T0 + 1});
  u.push_back({1, Update::Lost{"UNAVAILABLE: connection refused"}, T0 + 1.5});
  Descriptors d;
  d.pid = 42;
  d.files = {"not really a file"};
  d.described = {"a.S"};
  d.failed = {{"b.T", "NOT_FOUND: no such service"}};
  u.push_back({0, std::move(d), T0 + 2});
  v1::Snapshot refresh;
  refresh.set_pid(42);
  u.push_back({0, Update::Refresh{refresh}, T0 + 3});
  u.push_back({0, InvocationResult{7, 0, "", {"reply"}}, T0 + 3.5});  // the user's, not recorded
  u.push_back({0, status(14, 1, 0), T0 + 4});
  return u;
}

std::string recorded(const TempFile& file, std::uint64_t max_bytes = 1 << 20) {
  RecordingWriter w(file.path, {"127.0.0.1:1", "127.0.0.1:2"}, max_bytes, T0);
  EXPECT_TRUE(w.write(session()));
  w.close();
  EXPECT_EQ(w.stop_reason(), "stopped");
  EXPECT_EQ(w.bytes(), file.bytes().size());
  return file.bytes();
}

}  // namespace

TEST(Recording, RoundTrip) {
  TempFile file("roundtrip");
  RecordingWriter w(file.path, {"127.0.0.1:1", "127.0.0.1:2"}, 1 << 20, T0);
  ASSERT_TRUE(w.write(session()));
  // header, 2 connecting, snapshot, one batch of 3 events, lost, descriptors, refresh, one event
  EXPECT_EQ(w.records(), 9u);
  w.close();
  w.close();  // idempotent
  EXPECT_FALSE(w.write(session())) << "nothing is written after close";

  Recording r = read_recording(file.path);
  EXPECT_EQ(r.targets, (std::vector<std::string>{"127.0.0.1:1", "127.0.0.1:2"}));
  EXPECT_EQ(r.started, T0);
  EXPECT_EQ(r.end_reason, "stopped");
  ASSERT_EQ(r.updates.size(), 10u);  // the invocation's result left out
  EXPECT_TRUE(std::holds_alternative<Update::Connecting>(r.updates[0].what));
  EXPECT_EQ(r.updates[1].target, 1u);
  const auto* snap = std::get_if<v1::Snapshot>(&r.updates[2].what);
  ASSERT_TRUE(snap);
  EXPECT_EQ(snap->seq(), 10u);
  ASSERT_EQ(snap->live_calls_size(), 1);
  EXPECT_EQ(snap->live_calls(0).method(), "/a.S/Live");
  EXPECT_EQ(r.updates[2].time, T0 + 0.5);
  for (int i = 3; i < 6; ++i) {
    const auto* e = std::get_if<v1::Event>(&r.updates[i].what);
    ASSERT_TRUE(e);
    EXPECT_EQ(e->seq(), static_cast<std::uint64_t>(8 + i));
    EXPECT_EQ(r.updates[i].time, T0 + 1);
  }
  EXPECT_EQ(std::get<v1::Event>(r.updates[4].what).message_in().head(), "\x0a\x03" "abc");
  const auto* lost = std::get_if<Update::Lost>(&r.updates[6].what);
  ASSERT_TRUE(lost);
  EXPECT_EQ(r.updates[6].target, 1u);
  EXPECT_EQ(lost->error, "UNAVAILABLE: connection refused");
  const auto* d = std::get_if<Descriptors>(&r.updates[7].what);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->pid, 42);
  EXPECT_EQ(d->files, std::vector<std::string>{"not really a file"});
  EXPECT_EQ(d->described, std::vector<std::string>{"a.S"});
  ASSERT_EQ(d->failed.size(), 1u);
  EXPECT_EQ(d->failed[0].second, "NOT_FOUND: no such service");
  ASSERT_TRUE(std::holds_alternative<Update::Refresh>(r.updates[8].what));
  EXPECT_EQ(std::get<Update::Refresh>(r.updates[8].what).snapshot.pid(), 42);
  EXPECT_EQ(std::get<v1::Event>(r.updates[9].what).seq(), 14u);
}

TEST(Recording, StartsWithMagicAndVersion) {
  TempFile file("magic");
  std::string bytes = recorded(file);
  ASSERT_GE(bytes.size(), 12u);
  EXPECT_EQ(bytes.substr(0, 8), "ACTIOREC");
  EXPECT_EQ(bytes.substr(8, 4), std::string("\x01\x00\x00\x00", 4));
}

TEST(Recording, EveryTruncationIsReportedAsSuch) {
  TempFile file("truncated");
  std::string bytes = recorded(file);
  EXPECT_NO_THROW(parse_recording(bytes));
  for (std::size_t cut = 0; cut < bytes.size(); ++cut) {
    try {
      parse_recording(std::string_view(bytes).substr(0, cut), "f.rec");
      ADD_FAILURE() << "a recording cut at byte " << cut << " of " << bytes.size() << " was read";
    } catch (const RecordingError& e) {
      std::string what = e.what();
      if (cut == 0)
        EXPECT_NE(what.find("f.rec is empty"), std::string::npos) << what;
      else
        EXPECT_NE(what.find("f.rec is truncated"), std::string::npos) << "cut at " << cut << ": " << what;
    }
  }
  // And from a file, as --replay reads it.
  file.write(bytes.substr(0, bytes.size() - 3));
  try {
    read_recording(file.path);
    ADD_FAILURE() << "a truncated file was read";
  } catch (const RecordingError& e) {
    EXPECT_NE(std::string(e.what()).find(file.path + " is truncated"), std::string::npos) << e.what();
  }
}

TEST(Recording, WrongMagicOrVersionOrNoFile) {
  TempFile file("wrong");
  std::string bytes = recorded(file);
  auto error_of = [](std::string_view b) -> std::string {
    try {
      parse_recording(b, "f.rec");
    } catch (const RecordingError& e) {
      return e.what();
    }
    return "read";
  };
  std::string other = bytes;
  other[0] = 'X';
  EXPECT_NE(error_of(other).find("f.rec is not an actio-inspector recording"), std::string::npos) << error_of(other);
  EXPECT_NE(error_of("{\"json\": true}").find("not an actio-inspector recording"), std::string::npos);
  std::string v2 = bytes;
  v2[8] = 2;
  EXPECT_NE(error_of(v2).find("format version 2; this actio-inspector reads version 1"), std::string::npos)
      << error_of(v2);
  std::string big = bytes;
  big[11] = 1;
  EXPECT_NE(error_of(big).find("format version 16777217"), std::string::npos) << error_of(big);
  // Corrupt: bytes after the end, a record that is not one, a bad target.
  EXPECT_NE(error_of(bytes + "x").find("bytes after its end record"), std::string::npos) << error_of(bytes + "x");
  std::string garbage = bytes.substr(0, 12) + std::string("\x03\xff\xff\xff", 4);
  EXPECT_NE(error_of(garbage).find("is corrupt: record 0 at byte 12 does not parse"), std::string::npos)
      << error_of(garbage);
  {  // a record whose time is not one (the writer keeps any positive time it is given)
    TempFile timeless("timeless");
    RecordingWriter w(timeless.path, {"127.0.0.1:1"}, 1 << 20, T0);
    EXPECT_TRUE(w.write(Update{0, Update::Connecting{}, std::numeric_limits<double>::infinity()}));
    w.close();
    EXPECT_NE(error_of(timeless.bytes()).find("has no valid time"), std::string::npos)
        << error_of(timeless.bytes());
  }
  std::string oversized = bytes.substr(0, 12) + std::string(11, '\xff');
  EXPECT_NE(error_of(oversized).find("has no valid size"), std::string::npos) << error_of(oversized);

  try {
    read_recording(std::filesystem::temp_directory_path().string());
    ADD_FAILURE() << "a folder was read";
  } catch (const RecordingError& e) {
    EXPECT_NE(std::string(e.what()).find("is a folder, not a recording"), std::string::npos) << e.what();
  }
  // From a file: a foreign one is refused from its first bytes, a short one is truncated.
  TempFile foreign("foreign");
  foreign.write(std::string(100000, 'x'));
  EXPECT_THROW(read_recording(foreign.path), RecordingError);
  foreign.write("ACTIO");
  try {
    read_recording(foreign.path);
    ADD_FAILURE() << "5 bytes were read";
  } catch (const RecordingError& e) {
    EXPECT_NE(std::string(e.what()).find("is truncated: it ends inside its header"), std::string::npos) << e.what();
  }

  TempFile missing("missing");
  try {
    read_recording(missing.path);
    ADD_FAILURE() << "a missing file was read";
  } catch (const RecordingError& e) {
    EXPECT_NE(std::string(e.what()).find("cannot open " + missing.path), std::string::npos) << e.what();
  }
}

TEST(Recording, StopsAtItsSizeCapWithAnEnd) {
  TempFile file("cap");
  const std::uint64_t cap = 4000;
  RecordingWriter w(file.path, {"127.0.0.1:1"}, cap, T0);
  v1::Snapshot big = snapshot(1, {make_call(1, "/a.S/" + std::string(200, 'm'))});
  int written = 0;
  for (int i = 0; i < 1000 && w.write(Update{0, big, T0 + i}); ++i) ++written;
  EXPECT_TRUE(w.stopped());
  EXPECT_TRUE(w.capped());
  EXPECT_GT(written, 5);
  EXPECT_LT(written, 20);
  EXPECT_NE(w.stop_reason().find("size cap"), std::string::npos) << w.stop_reason();
  EXPECT_FALSE(w.write(Update{0, big, T0}));
  std::string bytes = file.bytes();
  EXPECT_LE(bytes.size(), cap);
  EXPECT_EQ(bytes.size(), w.bytes());
  // What was written reads back, ended by the cap.
  Recording r = parse_recording(bytes);
  EXPECT_EQ(r.updates.size(), static_cast<std::size_t>(written));
  EXPECT_EQ(r.end_reason, "size cap");

  // A cap with no room for the header is refused at once.
  TempFile tiny("tiny");
  EXPECT_THROW(RecordingWriter(tiny.path, {"127.0.0.1:1"}, 40, T0), RecordingError);
  // And a file that cannot be made.
  EXPECT_THROW(RecordingWriter("/nonexistent-dir/x.rec", {"127.0.0.1:1"}, cap, T0), RecordingError);
}

TEST(Replayer, FeedsAModelAtThePaceRecordedOrAllAtOnce) {
  TempFile file("replay");
  recorded(file);
  {
    Replayer replay(read_recording(file.path));
    Model model;
    replay.add_targets(model);
    ASSERT_EQ(model.target_count(), 2u);
    EXPECT_EQ(model.target(1).address, "127.0.0.1:2");
    EXPECT_DOUBLE_EQ(replay.length(), 4.0);
    // 0.75 s in at speed 2: what arrived in the first 1.5 s.
    replay.feed(model, 0.75, 2);
    EXPECT_EQ(replay.applied(), 7u);
    EXPECT_FALSE(replay.done());
    EXPECT_DOUBLE_EQ(replay.position(), 1.5);
    EXPECT_DOUBLE_EQ(model.now(), T0 + 1.5);
    EXPECT_EQ(model.call_count(), 2u);
    EXPECT_EQ(model.live_count(), 1u);
    EXPECT_EQ(model.target(1).connection, Connection::lost);
    replay.feed(model, 100, 2);
    EXPECT_TRUE(replay.done());
    EXPECT_DOUBLE_EQ(replay.position(), 4.0);
    EXPECT_EQ(model.live_count(), 0u);
  }
  {
    Replayer replay(read_recording(file.path));
    Model model;
    replay.add_targets(model);
    EXPECT_EQ(replay.feed(model, 0, 0), replay.total());
    EXPECT_TRUE(replay.done());
    EXPECT_EQ(model.call_count(), 2u);
    EXPECT_EQ(model.target(0).connection, Connection::attached);
    const CallRecord* next = model.find({0, 2});
    ASSERT_TRUE(next);
    EXPECT_TRUE(next->done);
    EXPECT_EQ(next->code, 5);
    EXPECT_EQ(next->messages_in, 1u);
  }
}

TEST(Export, TheCallsTheFilterShowsWithTheirTimeline) {
  Model model;
  TargetId t = model.add_target("127.0.0.1:1");
  model.connecting(t);
  model.ingest(t, snapshot(10, {make_call(1, "/a.S/Live")}));
  model.ingest(t, started(11, make_call(2, "/a.S/Next")));
  model.ingest(t, message_in(12, 2, "hi"));
  model.ingest(t, status(13, 2, 5));
  model.set_now(T0 + 1);
  std::string all = model.export_json();
  EXPECT_NE(all.find("\"format\":\"actio-inspector export\""), std::string::npos) << all;
  EXPECT_NE(all.find("\"count\":2"), std::string::npos) << all;
  EXPECT_NE(all.find("/a.S/Live"), std::string::npos);
  Filter f;
  f.method = "next";
  model.set_filter(f);
  std::string next = model.export_json();
  EXPECT_NE(next.find("\"count\":1"), std::string::npos) << next;
  EXPECT_EQ(next.find("/a.S/Live"), std::string::npos) << next;
  EXPECT_NE(next.find("\"method\":\"next\""), std::string::npos) << next;
  EXPECT_NE(next.find("\"code\":\"NOT_FOUND\""), std::string::npos) << next;
  EXPECT_NE(next.find("\"steps\":[{\"kind\":\"started\""), std::string::npos) << next;
  EXPECT_NE(next.find("{\"kind\":\"message in\""), std::string::npos) << next;
  EXPECT_NE(next.find("{\"kind\":\"status\""), std::string::npos) << next;
  EXPECT_NE(next.find("\"hex\":\"6869\""), std::string::npos) << next;
}
