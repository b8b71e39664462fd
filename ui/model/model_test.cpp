// The headless model: ingestion order, snapshot + events, reconnects,
// filters, sorting, aggregates, redaction, bounds, JSON.
#include "model.hpp"

#include <gtest/gtest.h>

#include "inspect.pb.h"

namespace v1 = actio::inspect::v1;
using namespace actio::inspector;

namespace {

constexpr double T0 = 1'700'000'000.0;  // a round unix time

v1::Call make_call(std::uint64_t id, const std::string& method, v1::Side side = v1::SERVER, double start = T0) {
  v1::Call c;
  c.set_id(id);
  c.set_side(side);
  c.set_shape(v1::UNARY_UNARY);
  c.set_method(method);
  c.set_peer("ipv4:127.0.0.1:5000");
  c.set_endpoint_id(1);
  c.set_start_time(start);
  return c;
}

v1::Call done_call(std::uint64_t id, const std::string& method, int code, double start, double end) {
  v1::Call c = make_call(id, method, v1::SERVER, start);
  c.set_done(true);
  c.set_code(code);
  c.set_end_time(end);
  return c;
}

v1::Event started(std::uint64_t seq, const v1::Call& call, double time = T0) {
  v1::Event e;
  e.set_seq(seq);
  e.set_time(time);
  e.set_call_id(call.id());
  *e.mutable_started() = call;
  return e;
}

v1::Event status(std::uint64_t seq, std::uint64_t call, int code, double time = T0 + 0.01) {
  v1::Event e;
  e.set_seq(seq);
  e.set_time(time);
  e.set_call_id(call);
  e.mutable_status()->set_code(code);
  e.mutable_status()->set_details(code ? "failed" : "");
  return e;
}

v1::Event message(std::uint64_t seq, std::uint64_t call, bool in, std::uint32_t size, std::string head = "") {
  v1::Event e;
  e.set_seq(seq);
  e.set_time(T0 + 0.001 * static_cast<double>(seq));
  e.set_call_id(call);
  auto* m = in ? e.mutable_message_in() : e.mutable_message_out();
  m->set_size(size);
  m->set_head(head);
  return e;
}

/// A server-side CallSummary event of `calls` calls of `method` (codes and
/// latencies for the caller to add to its summary()).
v1::Event summary_event(std::uint64_t seq, double time, const std::string& method, std::uint64_t calls) {
  v1::Event e;
  e.set_seq(seq);
  e.set_time(time);
  auto* s = e.mutable_summary();
  s->set_method(method);
  s->set_side(v1::SERVER);
  s->set_calls(calls);
  return e;
}

v1::Snapshot snapshot(std::uint64_t seq, std::vector<v1::Call> live, std::vector<v1::Call> recent = {}) {
  v1::Snapshot s;
  s.set_seq(seq);
  s.set_time(T0);
  s.set_pid(42);
  s.set_process("server");
  for (auto& c : live) *s.add_live_calls() = c;
  for (auto& c : recent) *s.add_recent_calls() = c;
  return s;
}

std::vector<std::uint64_t> ids(const Model& m) {
  std::vector<std::uint64_t> out;
  for (const CallRecord* c : m.rows()) out.push_back(c->key.id);
  return out;
}

}  // namespace

TEST(Model, EventsBeforeTheSnapshotWaitAndOnlyNewerOnesApply) {
  Model m;
  TargetId t = m.add_target("127.0.0.1:1");
  m.connecting(t);
  // The watch started first: events 4..6 arrive before the snapshot of seq 5.
  m.ingest(t, started(4, make_call(7, "/a.S/Old")));
  m.ingest(t, status(5, 1, 0));
  m.ingest(t, started(6, make_call(2, "/a.S/New")));
  EXPECT_EQ(m.call_count(), 0u);
  m.ingest(t, snapshot(5, {make_call(1, "/a.S/One")}));
  // seq 4 and 5 are in the snapshot already: call 1 stays live, call 7 unknown.
  EXPECT_EQ(m.call_count(), 2u);
  EXPECT_FALSE(m.find({t, 1})->done);
  EXPECT_EQ(m.find({t, 7}), nullptr);
  EXPECT_NE(m.find({t, 2}), nullptr);
  EXPECT_EQ(m.target(t).last_seq, 6u);
  EXPECT_EQ(m.target(t).stale_events, 2u);
  EXPECT_EQ(m.target(t).connection, Connection::attached);
}

TEST(Model, StaleAndDuplicateEventsAreIgnoredAndGapsCounted) {
  Model m;
  TargetId t = m.add_target("x");
  m.ingest(t, snapshot(10, {make_call(1, "/a.S/M")}));
  m.ingest(t, message(11, 1, true, 100));
  m.ingest(t, message(11, 1, true, 100));  // duplicate
  m.ingest(t, message(9, 1, true, 100));   // older than the snapshot
  m.ingest(t, message(14, 1, false, 7));   // 12 and 13 never came
  const CallRecord* c = m.find({t, 1});
  EXPECT_EQ(c->messages_in, 1u);
  EXPECT_EQ(c->bytes_in, 100u);
  EXPECT_EQ(c->messages_out, 1u);
  EXPECT_EQ(m.target(t).stale_events, 2u);
  EXPECT_EQ(m.target(t).missed_events, 2u);
}

TEST(Model, EventsAlreadyInASnapshotsCopyOfTheCallAreNotCountedTwice) {
  // The snapshot's seq is 10, but call 1 was copied after its message 11
  // (Call.last_event_seq = 11): event 11 is in the copy, event 12 is new.
  // Call 2 was copied before its message 13: that one counts.
  Model m;
  TargetId t = m.add_target("x");
  v1::Call one = make_call(1, "/a.S/M");
  one.set_messages_in(1);
  one.set_bytes_in(100);
  one.set_last_event_seq(11);
  v1::Call two = make_call(2, "/a.S/M");
  two.set_last_event_seq(4);
  m.ingest(t, snapshot(10, {one, two}));
  m.ingest(t, message(11, 1, true, 100));
  m.ingest(t, message(12, 1, true, 50));
  m.ingest(t, message(13, 2, false, 7));
  EXPECT_EQ(m.find({t, 1})->messages_in, 2u);
  EXPECT_EQ(m.find({t, 1})->bytes_in, 150u);
  EXPECT_EQ(m.find({t, 2})->messages_out, 1u);
  EXPECT_EQ(m.target(t).stale_events, 1u);
  EXPECT_EQ(m.target(t).missed_events, 0u);
  EXPECT_EQ(m.target(t).last_seq, 13u);
}

TEST(Model, TheStatusCarriesTheFinalCounts) {
  // A message event also counted in the snapshot, and one never sent
  // (a calls-only watch): the status puts the counts right.
  Model m;
  TargetId t = m.add_target("x");
  v1::Call c = make_call(1, "/a.S/M");
  c.set_messages_in(1);
  c.set_bytes_in(10);
  m.ingest(t, snapshot(10, {c}));
  m.ingest(t, message(11, 1, true, 10));  // the same message, seen again
  EXPECT_EQ(m.find({t, 1})->messages_in, 2u);
  v1::Event end = status(13, 1, 0);
  end.mutable_status()->set_messages_in(1);
  end.mutable_status()->set_bytes_in(10);
  end.mutable_status()->set_messages_out(1);
  end.mutable_status()->set_bytes_out(4);
  m.ingest(t, end);
  const CallRecord* r = m.find({t, 1});
  EXPECT_TRUE(r->done);
  EXPECT_EQ(r->messages_in, 1u);
  EXPECT_EQ(r->bytes_in, 10u);
  EXPECT_EQ(r->messages_out, 1u);
  EXPECT_EQ(r->bytes_out, 4u);
}

TEST(Model, ARefreshReplacesLoopsAndActorsAndUpdatesCountersOfThatProcessOnly) {
  Model m;
  TargetId t = m.add_target("x");
  v1::Snapshot s = snapshot(3, {make_call(1, "/a.S/M")});
  auto* e = s.add_endpoints();
  e->set_id(1);
  e->set_kind(v1::SERVER_ENDPOINT);
  e->set_state("running");
  e->set_calls_started(1);
  s.add_loops()->set_index(0);
  m.ingest(t, s);
  ASSERT_EQ(m.loops().size(), 1u);
  EXPECT_TRUE(m.loops()[0]->actors.empty());

  v1::Snapshot r;  // what skip_calls answers: no calls
  r.set_pid(42);
  auto* re = r.add_endpoints();
  re->set_id(1);
  re->set_kind(v1::SERVER_ENDPOINT);
  re->set_state("running");
  re->set_calls_started(7);
  re->set_calls_ok(6);
  auto* l = r.add_loops();
  l->set_index(0);
  l->set_inbox(3);
  auto* a = l->add_actors();
  a->set_id(9);
  a->set_kind("mailbox");
  a->set_waiting(2);
  a->set_handled(5);
  r.add_loops()->set_index(1);
  m.refresh(t, r);
  ASSERT_EQ(m.loops().size(), 2u);
  EXPECT_EQ(m.loops()[0]->inbox, 3u);
  ASSERT_EQ(m.loops()[0]->actors.size(), 1u);
  EXPECT_EQ(m.loops()[0]->actors[0].kind, "mailbox");
  EXPECT_EQ(m.loops()[0]->actors[0].waiting, 2u);
  EXPECT_EQ(m.endpoints()[0]->calls_started, 7u);
  EXPECT_EQ(m.endpoints()[0]->calls_ok, 6u);
  EXPECT_EQ(m.call_count(), 1u);  // the calls stay
  EXPECT_NE(m.to_json().find("\"kind\":\"mailbox\""), std::string::npos);

  // Another process on that address (not attached yet): ignored.
  r.set_pid(43);
  r.mutable_loops(0)->set_inbox(99);
  m.refresh(t, r);
  EXPECT_EQ(m.loops()[0]->inbox, 3u);
}

TEST(Model, TimelineFollowsTheEventsInOrder) {
  Model m;
  TargetId t = m.add_target("x");
  m.ingest(t, snapshot(0, {}));
  m.ingest(t, started(1, make_call(3, "/a.S/Chat")));
  v1::Event h;
  h.set_seq(2);
  h.set_time(T0 + 0.002);
  h.set_call_id(3);
  auto* md = h.mutable_headers()->add_metadata();
  md->set_key("x-trace");
  md->set_value("abc");
  m.ingest(t, h);
  m.ingest(t, message(3, 3, true, 5, "\x0a\x03hey"));
  v1::Event hc;
  hc.set_seq(4);
  hc.set_time(T0 + 0.004);
  hc.set_call_id(3);
  hc.set_half_closed(true);
  m.ingest(t, hc);
  m.ingest(t, message(5, 3, false, 9));
  m.ingest(t, status(6, 3, 0, T0 + 0.25));
  const CallRecord* c = m.find({t, 3});
  ASSERT_NE(c, nullptr);
  std::vector<TimelineKind> kinds;
  for (const auto& e : c->timeline) kinds.push_back(e.kind);
  EXPECT_EQ(kinds,
            (std::vector<TimelineKind>{TimelineKind::started, TimelineKind::headers, TimelineKind::message_in,
                                       TimelineKind::half_closed, TimelineKind::message_out, TimelineKind::status}));
  EXPECT_EQ(c->timeline[2].size, 5u);
  EXPECT_EQ(c->timeline[2].head, "\x0a\x03hey");
  EXPECT_TRUE(c->done);
  EXPECT_TRUE(c->half_closed);
  EXPECT_DOUBLE_EQ(c->duration(0), 0.25);
  EXPECT_EQ(c->initial_metadata.at(0).key, "x-trace");
  EXPECT_EQ(m.live_count(), 0u);
}

TEST(Model, APromotedCallStartsWhenItStartedAndItsTimelineIsMarkedPartial) {
  // Past the rate a call is only counted; promoted (it runs long, or fails)
  // it is sent one by one: a started event 0.4 s after it began, with the
  // request already received.
  Model m;
  TargetId t = m.add_target("x");
  m.ingest(t, snapshot(10, {}));
  v1::Call promoted = make_call(1, "/a.S/M", v1::SERVER, T0 + 0.1);
  promoted.set_messages_in(1);
  promoted.set_bytes_in(12);
  m.ingest(t, started(11, promoted, T0 + 0.5));
  // And one sent from its start, for contrast.
  m.ingest(t, started(12, make_call(2, "/a.S/M", v1::SERVER, T0 + 0.6), T0 + 0.6));

  const CallRecord* c = m.find({t, 1});
  ASSERT_NE(c, nullptr);
  ASSERT_FALSE(c->timeline.empty());
  EXPECT_EQ(c->timeline.front().kind, TimelineKind::started);
  EXPECT_DOUBLE_EQ(c->timeline.front().time, T0 + 0.1);
  EXPECT_TRUE(c->from_snapshot) << "the view warns that earlier steps are missing";
  EXPECT_EQ(c->messages_in, 1u);

  const CallRecord* fresh = m.find({t, 2});
  ASSERT_NE(fresh, nullptr);
  EXPECT_DOUBLE_EQ(fresh->timeline.front().time, T0 + 0.6);
  EXPECT_FALSE(fresh->from_snapshot);
}

TEST(Model, ANewSnapshotAfterAReconnectReplacesTheProcessState) {
  Model m;
  TargetId a = m.add_target("a");
  TargetId b = m.add_target("b");
  m.ingest(a, snapshot(100, {make_call(1, "/a.S/M"), make_call(2, "/a.S/M")}));
  m.ingest(b, snapshot(3, {make_call(1, "/b.S/M")}));
  m.ingest(a, started(101, make_call(3, "/a.S/M")));
  EXPECT_EQ(m.call_count(), 4u);

  m.set_now(5000);
  m.lost(a, "UNAVAILABLE: connection refused");
  EXPECT_EQ(m.target(a).connection, Connection::lost);
  m.set_now(5010);
  m.lost(a, "UNAVAILABLE: still refused");  // a retry that fails again
  EXPECT_DOUBLE_EQ(m.target(a).lost_at, 5000) << "when it was first lost (the table freezes its live calls' ages there)";
  EXPECT_EQ(m.call_count(), 4u);  // the last state stays visible
  m.connecting(a);
  // The process restarted: its seq starts again, and its events wait for the snapshot.
  m.ingest(a, started(2, make_call(9, "/a.S/Other")));
  m.ingest(a, snapshot(1, {make_call(8, "/a.S/Other")}));
  EXPECT_EQ(m.find({a, 1}), nullptr);
  EXPECT_NE(m.find({a, 8}), nullptr);
  EXPECT_NE(m.find({a, 9}), nullptr);
  EXPECT_NE(m.find({b, 1}), nullptr);  // the other process is untouched
  EXPECT_EQ(m.call_count(), 3u);
  EXPECT_EQ(m.target(a).sessions, 2u);
  EXPECT_EQ(m.target(a).last_seq, 2u);
  EXPECT_EQ(m.target(a).connection, Connection::attached);
  // Aggregates were rebuilt from the new state.
  auto stats = m.method_stats();
  ASSERT_EQ(stats.size(), 2u);
  EXPECT_EQ(stats[0].method, "/a.S/Other");
  EXPECT_EQ(stats[0].stats.started(), 2u);
  EXPECT_EQ(stats[1].method, "/b.S/M");
}

TEST(Model, FiltersByMethodSideStateCodeAndTarget) {
  Model m;
  TargetId a = m.add_target("a");
  TargetId b = m.add_target("b");
  m.ingest(a, snapshot(1,
                       {make_call(1, "/helloworld.Greeter/SayHello", v1::CLIENT),
                        make_call(2, "/routeguide.RouteGuide/ListFeatures", v1::SERVER)},
                       {done_call(3, "/helloworld.Greeter/SayHello", 14, T0, T0 + 1),
                        done_call(4, "/helloworld.Greeter/SayHello", 0, T0, T0 + 1)}));
  m.ingest(b, snapshot(1, {make_call(1, "/helloworld.Greeter/SayHello", v1::SERVER)}));
  EXPECT_EQ(m.rows().size(), 5u);

  m.set_filter({.method = "sayhello"});  // case-insensitive substring
  EXPECT_EQ(m.rows().size(), 4u);
  m.set_filter({.method = "hello", .side = Side::client});
  EXPECT_EQ(ids(m), (std::vector<std::uint64_t>{1}));
  m.set_filter({.state = StateFilter::done});
  EXPECT_EQ(m.rows().size(), 2u);
  m.set_filter({.state = StateFilter::live});
  EXPECT_EQ(m.rows().size(), 3u);
  m.set_filter({.code = 14});
  EXPECT_EQ(ids(m), (std::vector<std::uint64_t>{3}));
  m.set_filter({.target = b});
  ASSERT_EQ(m.rows().size(), 1u);
  EXPECT_EQ(m.rows()[0]->key.target, b);
  EXPECT_EQ(m.method_stats().size(), 1u);  // the stats follow the target filter
  m.set_filter({});
  EXPECT_EQ(m.rows().size(), 5u);
}

TEST(Model, SortsByAnyColumnBothWays) {
  Model m;
  TargetId t = m.add_target("x");
  auto c1 = make_call(1, "/b.S/M", v1::SERVER, T0 + 1);
  c1.set_messages_in(5);
  c1.set_deadline(T0 + 30);
  auto c2 = make_call(2, "/a.S/M", v1::CLIENT, T0 + 3);
  c2.set_messages_in(1);
  c2.set_deadline(T0 + 10);
  auto c3 = make_call(3, "/c.S/M", v1::SERVER, T0 + 2);
  c3.set_messages_in(3);
  m.ingest(t, snapshot(1, {c1, c2, c3}, {done_call(4, "/d.S/M", 5, T0, T0 + 0.5)}));

  EXPECT_EQ(ids(m), (std::vector<std::uint64_t>{2, 3, 1, 4}));  // default: newest first
  m.set_sort({Column::age, false});
  EXPECT_EQ(ids(m), (std::vector<std::uint64_t>{4, 1, 3, 2}));
  m.set_sort({Column::method, true});
  EXPECT_EQ(ids(m), (std::vector<std::uint64_t>{2, 1, 3, 4}));
  m.set_sort({Column::messages_in, false});
  EXPECT_EQ(ids(m), (std::vector<std::uint64_t>{1, 3, 2, 4}));
  m.set_sort({Column::deadline, true});  // soonest first; none last (newest first among them)
  EXPECT_EQ(ids(m), (std::vector<std::uint64_t>{2, 1, 3, 4}));
  m.set_sort({Column::side, true});  // client before server; ties newest first
  EXPECT_EQ(ids(m), (std::vector<std::uint64_t>{2, 3, 1, 4}));
  m.set_sort({Column::code, false});
  EXPECT_EQ(ids(m).front(), 4u);
  m.set_sort({Column::id, false});
  EXPECT_EQ(ids(m), (std::vector<std::uint64_t>{4, 3, 2, 1}));
  m.set_sort({Column::state, false});
  EXPECT_EQ(ids(m).front(), 4u);
}

TEST(Model, RowsAreInRowBeforeOrderForEveryColumn) {
  // rows() sorts numeric columns on keys copied out of the records: the same
  // order as row_before(), ties included, on calls with many equal fields.
  Model m;
  TargetId t = m.add_target("x");
  std::vector<v1::Call> live;
  std::uint64_t x = 12345;
  auto next = [&x](std::uint64_t n) { x = x * 6364136223846793005ull + 1442695040888963407ull; return (x >> 33) % n; };
  for (std::uint64_t id = 1; id <= 300; ++id) {
    v1::Call c = make_call(id, "/m.S/M" + std::to_string(next(5)), next(2) ? v1::SERVER : v1::CLIENT,
                           T0 + static_cast<double>(next(20)));
    c.set_messages_in(next(4));
    c.set_messages_out(next(4));
    if (next(2)) c.set_deadline(T0 + 30 + static_cast<double>(next(3)));
    c.set_half_closed(next(2));
    if (next(3) == 0) {
      c.set_done(true);
      c.set_code(static_cast<int>(next(3)));
      c.set_end_time(T0 + 40);
    }
    live.push_back(c);
  }
  m.ingest(t, snapshot(1, live));
  for (Column col : {Column::id, Column::target, Column::method, Column::side, Column::peer, Column::state,
                     Column::age, Column::deadline, Column::messages_in, Column::messages_out, Column::code}) {
    for (bool ascending : {true, false}) {
      Sort sort{col, ascending};
      m.set_sort(sort);
      std::vector<const CallRecord*> expected = m.rows();
      std::sort(expected.begin(), expected.end(),
                [&sort](const CallRecord* a, const CallRecord* b) { return row_before(sort, *a, *b); });
      EXPECT_EQ(m.rows(), expected) << "column " << static_cast<int>(col) << (ascending ? " up" : " down");
    }
  }
}

TEST(CallRecord, ShortMethodAndPeerForNarrowColumns) {
  EXPECT_EQ(short_method("/routeguide.RouteGuide/GetFeature"), "RouteGuide/GetFeature");
  EXPECT_EQ(short_method("/grpc.health.v1.Health/Check"), "Health/Check");
  EXPECT_EQ(short_method("/Svc/M"), "Svc/M");
  for (std::string_view odd : {"", "/", "M", "pkg.Svc/M", "/pkg.Svc/", "/pkg.Svc"}) EXPECT_EQ(short_method(odd), odd);
  EXPECT_EQ(short_peer("ipv4:127.0.0.1:50051"), "127.0.0.1:50051");
  EXPECT_EQ(short_peer("ipv6:[::1]:50051"), "[::1]:50051");
  for (std::string_view odd : {"", "ipv4:", "unix:/tmp/s", "127.0.0.1:1"}) EXPECT_EQ(short_peer(odd), odd);
}

TEST(Model, RowByIndexFollowsEventsInSortOrder) {
  // The table view reads row(i) for the rows on screen only: after every
  // event it must be the i-th call in row_before() order of the calls that
  // pass the filter, as a full sort of them would give.
  Model m({.finished_calls = 20});
  TargetId t = m.add_target("x");
  std::vector<v1::Call> live;
  for (std::uint64_t id = 1; id <= 40; ++id)
    live.push_back(make_call(id, id % 3 ? "/m.S/A" : "/m.S/B", v1::SERVER, T0 + static_cast<double>(id % 7)));
  m.ingest(t, snapshot(1, live));
  m.set_sort({Column::messages_out, false});
  m.set_filter({.method = "S/A"});
  std::uint64_t seq = 2, next_id = 41, x = 7;
  auto next = [&x](std::uint64_t n) { x = x * 6364136223846793005ull + 1442695040888963407ull; return (x >> 33) % n; };
  for (int step = 0; step < 300; ++step) {
    std::uint64_t id = 1 + next(next_id - 1);
    switch (next(4)) {
      case 0: m.ingest(t, started(seq++, make_call(next_id, next_id % 3 ? "/m.S/A" : "/m.S/B"))); ++next_id; break;
      case 1: m.ingest(t, status(seq++, id, static_cast<int>(next(3)))); break;
      default: m.ingest(t, message(seq++, id, false, 10)); break;
    }
    std::vector<const CallRecord*> expected;
    for (std::uint64_t k = 1; k < next_id; ++k)
      if (const CallRecord* c = m.find({t, k}); c && matches(m.filter(), *c)) expected.push_back(c);
    std::sort(expected.begin(), expected.end(),
              [&m](const CallRecord* a, const CallRecord* b) { return row_before(m.sort(), *a, *b); });
    ASSERT_EQ(m.row_count(), expected.size()) << "step " << step;
    for (std::size_t i = 0; i < expected.size(); ++i) ASSERT_EQ(&m.row(i), expected[i]) << "step " << step << " row " << i;
  }
  EXPECT_GT(m.row_count(), 20u);
  EXPECT_THROW(m.row(m.row_count()), std::out_of_range);
}

TEST(Model, RowsFollowNewData) {
  Model m;
  TargetId t = m.add_target("x");
  m.ingest(t, snapshot(0, {}));
  EXPECT_TRUE(m.rows().empty());
  auto gen = m.generation();
  m.ingest(t, started(1, make_call(1, "/a.S/M")));
  EXPECT_GT(m.generation(), gen);
  EXPECT_EQ(m.rows().size(), 1u);
}

TEST(Model, AggregatesPerMethod) {
  Model m;
  TargetId t = m.add_target("x");
  m.ingest(t, snapshot(0, {}));
  std::uint64_t seq = 0;
  // 10 calls in second T0+5 and 20 in T0+9; latencies 1.5 ms (OK) or 300 ms (UNAVAILABLE).
  for (std::uint64_t id = 1; id <= 30; ++id) {
    double start = id <= 10 ? T0 + 5.1 : T0 + 9.2;
    m.ingest(t, started(++seq, make_call(id, "/a.S/M", v1::SERVER, start), start));
    bool fail = id % 3 == 0;
    m.ingest(t, status(++seq, id, fail ? 14 : 0, start + (fail ? 0.3 : 0.0015)));
  }
  auto stats = m.method_stats();
  ASSERT_EQ(stats.size(), 1u);
  const MethodStats& s = stats[0].stats;
  EXPECT_EQ(s.started(), 30u);
  EXPECT_EQ(s.finished(), 30u);
  EXPECT_EQ(s.failed(), 10u);
  EXPECT_EQ(s.errors().at(14), 10u);
  EXPECT_EQ(s.latency()[latency_bucket(0.0015)], 20u);
  EXPECT_EQ(s.latency()[latency_bucket(0.3)], 10u);
  EXPECT_EQ(latency_bucket_label(latency_bucket(0.0015)), "<2ms");
  EXPECT_EQ(latency_bucket_label(kLatencyBuckets - 1), ">=50s");
  // Over the complete seconds before now's.
  EXPECT_DOUBLE_EQ(s.calls_per_second(T0 + 10.5, 10), 3.0);  // 30 calls in the 10 s window
  EXPECT_DOUBLE_EQ(s.calls_per_second(T0 + 10.5, 1), 20.0);
  EXPECT_DOUBLE_EQ(s.calls_per_second(T0 + 15.5, 5), 0.0);
  auto series = s.rate_series(T0 + 10.5, 5);
  EXPECT_EQ(series, (std::vector<float>{10, 0, 0, 0, 20}));
  EXPECT_DOUBLE_EQ(s.latency_quantile(0.5), 2e-3);
  EXPECT_DOUBLE_EQ(s.latency_quantile(0.99), 0.5);
}

TEST(Model, TheRateCountsCompleteSecondsOnly) {
  // 10 calls a second, steadily; 0.3 s into second 9, 3 of its calls so far.
  MethodStats s;
  for (int second = 0; second < 9; ++second)
    for (int i = 0; i < 10; ++i) s.record_start(T0 + second + 0.05 + 0.1 * i);
  for (int i = 0; i < 3; ++i) s.record_start(T0 + 9.05 + 0.1 * i);
  const double now = T0 + 9.3;
  // Not (4 * 10 + 3) / 5 = 8.6: the second still filling up is left out.
  EXPECT_DOUBLE_EQ(s.calls_per_second(now, 5), 10.0);
  EXPECT_DOUBLE_EQ(s.calls_per_second(now, 1), 10.0);
  // The plot ends on second 8, not on the 3 calls of second 9.
  EXPECT_EQ(s.rate_series(now, 5), (std::vector<float>{10, 10, 10, 10, 10}));
  // The whole minute: its oldest second is kept beside the one filling up.
  MethodStats minute;
  minute.record_start(T0 + 9.0 - MethodStats::kRateSeconds);  // the first second of the minute before now's
  minute.record_start(T0 + 9.1);
  auto series = minute.rate_series(now, MethodStats::kRateSeconds);
  ASSERT_EQ(series.size(), static_cast<std::size_t>(MethodStats::kRateSeconds));
  EXPECT_EQ(series.front(), 1.0f);
  EXPECT_EQ(series.back(), 0.0f);
}

TEST(Model, SummariesCountCallsTheProcessDidNotSendOneByOne) {
  Model m;
  TargetId t = m.add_target("x");
  m.ingest(t, snapshot(0, {}));
  // One call one by one, then a summary of 50 more: 45 OK, 5 UNAVAILABLE;
  // 40 under 2 ms (the process's bucket [1 ms, 2 ms)), 10 of 50 s or more.
  m.ingest(t, started(1, make_call(1, "/a.S/M", v1::SERVER, T0 + 1.1), T0 + 1.1));
  m.ingest(t, status(2, 1, 0, T0 + 1.1015));
  v1::Event e = summary_event(3, T0 + 1.2, "/a.S/M", 50);
  auto* s = e.mutable_summary();
  auto* ok = s->add_codes();
  ok->set_code(0);
  ok->set_calls(45);
  auto* failed = s->add_codes();
  failed->set_code(14);
  failed->set_calls(5);
  for (double b : {1e-4, 2e-4, 5e-4, 1e-3, 2e-3, 5e-3, 1e-2, 2e-2, 5e-2, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0}) {
    s->add_latency_bounds(b);
    s->add_latency_counts(b == 2e-3 ? 40 : 0);
  }
  s->add_latency_counts(10);  // the slower rest
  m.ingest(t, e);

  EXPECT_EQ(m.call_count(), 1u);  // the table holds the call sent one by one only
  EXPECT_EQ(m.target(t).summarized_calls, 50u);
  EXPECT_EQ(m.target(t).missed_events, 0u);
  auto stats = m.method_stats();
  ASSERT_EQ(stats.size(), 1u);
  const MethodStats& st = stats[0].stats;
  EXPECT_EQ(st.started(), 51u);
  EXPECT_EQ(st.finished(), 51u);
  EXPECT_EQ(st.summarized(), 50u);
  EXPECT_EQ(st.failed(), 5u);
  EXPECT_EQ(st.errors().at(14), 5u);
  EXPECT_EQ(st.latency()[latency_bucket(0.0015)], 41u);
  EXPECT_EQ(st.latency()[kLatencyBuckets - 1], 10u);
  EXPECT_DOUBLE_EQ(st.calls_per_second(T0 + 2.5, 1), 51.0);
  EXPECT_NE(m.to_json().find("\"summarized_calls\":50"), std::string::npos);
}

TEST(Model, AggregatesKeepTheClientAndServerSidesApartAndFollowTheSideFilter) {
  // Both ends of one call inspected (two processes): the client saw it take
  // 300 ms, the server 1.5 ms. Plus a summary of 4 client calls.
  Model m;
  TargetId client = m.add_target("client");
  TargetId server = m.add_target("server");
  m.ingest(client, snapshot(0, {}));
  m.ingest(server, snapshot(0, {}));
  m.ingest(client, started(1, make_call(1, "/a.S/M", v1::CLIENT, T0 + 0.1), T0 + 0.1));
  m.ingest(server, started(1, make_call(7, "/a.S/M", v1::SERVER, T0 + 0.2), T0 + 0.2));
  m.ingest(server, status(2, 7, 0, T0 + 0.2015));
  m.ingest(client, status(2, 1, 0, T0 + 0.4));
  v1::Event counted = summary_event(3, T0 + 0.5, "/a.S/M", 4);
  counted.mutable_summary()->set_side(v1::CLIENT);
  m.ingest(client, counted);

  auto stats = m.method_stats();
  ASSERT_EQ(stats.size(), 2u);  // one row per side, client first
  EXPECT_EQ(stats[0].method, "/a.S/M");
  EXPECT_EQ(stats[0].side, Side::client);
  EXPECT_EQ(stats[0].stats.started(), 5u);
  EXPECT_EQ(stats[0].stats.summarized(), 4u);
  EXPECT_EQ(stats[0].stats.latency()[latency_bucket(0.3)], 1u);
  EXPECT_EQ(stats[0].stats.latency()[latency_bucket(0.0015)], 0u);
  EXPECT_EQ(stats[1].method, "/a.S/M");
  EXPECT_EQ(stats[1].side, Side::server);
  EXPECT_EQ(stats[1].stats.started(), 1u);  // the call once per side, not twice in one row
  EXPECT_EQ(stats[1].stats.latency()[latency_bucket(0.0015)], 1u);
  EXPECT_EQ(stats[1].stats.latency()[latency_bucket(0.3)], 0u);

  m.set_filter({.side = Side::server});
  stats = m.method_stats();
  ASSERT_EQ(stats.size(), 1u);
  EXPECT_EQ(stats[0].side, Side::server);
  EXPECT_EQ(stats[0].stats.started(), 1u);
  m.set_filter({.side = Side::client, .target = server});
  EXPECT_TRUE(m.method_stats().empty());  // the server process made no client call
  m.set_filter({});
  EXPECT_NE(m.to_json().find("\"method\":\"/a.S/M\",\"side\":\"server\",\"calls\":1,"), std::string::npos)
      << m.to_json();
}

TEST(Model, AggregatesMergeAcrossProcesses) {
  MethodStats a, b;
  a.record_start(T0 + 1.5);
  b.record_start(T0 + 1.7);
  b.record_start(T0 + 2.1);
  b.record_end(0.01, 4);
  a.merge(b);
  EXPECT_EQ(a.started(), 3u);
  EXPECT_EQ(a.rate_series(T0 + 3.5, 2), (std::vector<float>{2, 1}));
  EXPECT_EQ(a.errors().at(4), 1u);
}

TEST(Model, RedactedMetadataStaysRedacted) {
  Model m;
  TargetId t = m.add_target("x");
  auto c = make_call(1, "/a.S/M");
  auto* auth = c.add_invocation_metadata();
  auth->set_key("authorization");
  auth->set_value("<redacted 23 bytes>");
  auth->set_redacted(true);
  auto* odd = c.add_invocation_metadata();
  odd->set_key("cookie");
  odd->set_value("session=secret");  // a process that marks it but sends the value anyway
  odd->set_redacted(true);
  auto* bin = c.add_invocation_metadata();
  bin->set_key("trace-bin");
  bin->set_value(std::string("\x01\xff", 2));
  auto* plain = c.add_invocation_metadata();
  plain->set_key("user-agent");
  plain->set_value("grpc-c++");
  m.ingest(t, snapshot(1, {c}));
  const auto& md = m.find({t, 1})->invocation_metadata;
  EXPECT_EQ(md[0].display_value(), "<redacted 23 bytes>");
  EXPECT_EQ(md[1].display_value(), "<redacted>");
  EXPECT_EQ(md[2].display_value(), "01ff");
  EXPECT_EQ(md[3].display_value(), "grpc-c++");
  std::string json = m.to_json();
  EXPECT_EQ(json.find("session=secret"), std::string::npos);
  EXPECT_NE(json.find(R"({"key":"authorization","value":"<redacted 23 bytes>","redacted":true})"), std::string::npos);
}

TEST(Model, FinishedCallsAreABoundedRing) {
  Model m({.finished_calls = 3});
  TargetId t = m.add_target("x");
  m.ingest(t, snapshot(0, {}, {done_call(100, "/a.S/M", 0, T0, T0 + 1)}));
  std::uint64_t seq = 0;
  for (std::uint64_t id = 1; id <= 5; ++id) m.ingest(t, started(++seq, make_call(id, "/a.S/M")));
  for (std::uint64_t id = 1; id <= 4; ++id) m.ingest(t, status(++seq, id, 0));
  // Live: 5. Finished, oldest first: 100, 1, 2, 3, 4 -> only 2, 3, 4 are kept.
  EXPECT_EQ(m.call_count(), 4u);
  EXPECT_EQ(m.live_count(), 1u);
  EXPECT_EQ(m.find({t, 100}), nullptr);
  EXPECT_EQ(m.find({t, 1}), nullptr);
  EXPECT_NE(m.find({t, 2}), nullptr);
  EXPECT_NE(m.find({t, 5}), nullptr);
  // Events about an evicted call are counted, not applied.
  m.ingest(t, message(++seq, 1, true, 3));
  EXPECT_EQ(m.target(t).orphan_events, 1u);
  // The aggregates still count every call.
  EXPECT_EQ(m.method_stats()[0].stats.started(), 6u);
}

TEST(Model, TimelineAndHeadsAreBounded) {
  Model m({.timeline_entries = 4, .head_bytes = 3});
  TargetId t = m.add_target("x");
  m.ingest(t, snapshot(0, {}));
  m.ingest(t, started(1, make_call(1, "/a.S/M")));
  for (std::uint64_t seq = 2; seq < 10; ++seq) m.ingest(t, message(seq, 1, seq % 2, 10, "abcdef"));
  const CallRecord* c = m.find({t, 1});
  ASSERT_EQ(c->timeline.size(), 4u);
  EXPECT_EQ(c->timeline.front().kind, TimelineKind::started);
  EXPECT_EQ(c->timeline_dropped, 5u);
  EXPECT_EQ(c->timeline.back().head, "abc");
  EXPECT_EQ(c->messages_in + c->messages_out, 8u);
}

TEST(Model, LiveCallsAreBoundedToo) {
  Model m({.live_calls = 2});
  TargetId t = m.add_target("x");
  m.ingest(t, snapshot(0, {}));
  for (std::uint64_t id = 1; id <= 3; ++id) m.ingest(t, started(id, make_call(id, "/a.S/M")));
  EXPECT_EQ(m.live_count(), 2u);
  EXPECT_EQ(m.target(t).dropped_calls, 1u);
}

TEST(Model, EndpointsKeepTheirStateHistory) {
  Model m;
  TargetId t = m.add_target("x");
  v1::Snapshot s = snapshot(1, {});
  auto* ch = s.add_endpoints();
  ch->set_id(5);
  ch->set_kind(v1::CHANNEL);
  ch->set_target("127.0.0.1:9");
  ch->set_state("IDLE");
  auto* h = ch->add_history();
  h->set_time(T0);
  h->set_state("IDLE");
  m.ingest(t, s);
  v1::Event e;
  e.set_seq(2);
  e.set_time(T0 + 1);
  auto* upd = e.mutable_endpoint();
  upd->set_id(5);
  upd->set_kind(v1::CHANNEL);
  upd->set_state("READY");
  upd->set_calls_started(3);
  m.ingest(t, e);
  auto eps = m.endpoints();
  ASSERT_EQ(eps.size(), 1u);
  EXPECT_EQ(eps[0]->state, "READY");
  EXPECT_EQ(eps[0]->calls_started, 3u);
  ASSERT_EQ(eps[0]->history.size(), 2u);
  EXPECT_EQ(eps[0]->history[1].state, "READY");
  EXPECT_DOUBLE_EQ(eps[0]->history[1].time, T0 + 1);
}

TEST(Model, SelectionIsSharedByCallMethodAndEndpoint) {
  Model m;
  TargetId t = m.add_target("x");
  m.ingest(t, snapshot(1, {make_call(1, "/a.S/M"), make_call(2, "/a.S/N")}));
  m.select_call({t, 1});
  ASSERT_NE(m.selected_call(), nullptr);
  EXPECT_EQ(m.selection().method, "/a.S/M");
  EXPECT_EQ(m.selection().endpoint, (std::pair<TargetId, std::uint64_t>{t, 1}));
  m.select_method("/a.S/M");
  EXPECT_NE(m.selected_call(), nullptr);  // same method: the call stays selected
  m.select_method("/a.S/N");
  EXPECT_EQ(m.selected_call(), nullptr);
  m.select_call({t, 2});
  m.select_endpoint(t, 1);  // call 2's own endpoint: it stays selected
  EXPECT_NE(m.selected_call(), nullptr);
  m.select_endpoint(t, 9);
  EXPECT_EQ(m.selected_call(), nullptr);
  EXPECT_FALSE(m.selection().method);
  m.clear_selection();
  EXPECT_FALSE(m.selection().method);
}

TEST(Model, JsonHasCountsRowsAndAggregates) {
  Model m;
  TargetId t = m.add_target("127.0.0.1:7");
  m.ingest(t, snapshot(1, {make_call(1, "/a.S/M")}, {done_call(2, "/a.S/N", 14, T0, T0 + 0.1)}));
  m.set_now(T0 + 1);
  std::string json = m.to_json();
  EXPECT_NE(json.find(R"("counts":{"calls":2,"live":1,"done":1,"shown":2})"), std::string::npos) << json;
  EXPECT_NE(json.find(R"("method":"/a.S/N","side":"server","shape":"unary_unary")"), std::string::npos);
  EXPECT_NE(json.find(R"("state":"done","live":false,"code":"UNAVAILABLE")"), std::string::npos);
  EXPECT_NE(json.find(R"("errors":{"UNAVAILABLE":1})"), std::string::npos);
  EXPECT_NE(json.find(R"("connection":"attached")"), std::string::npos);
}

// The table is kept in order as events arrive (a call's row moves, the rest
// stay): after every event its rows must be what a sort of every call gives.
// The oracle is a second model fed the same events, whose table is rebuilt
// from scratch each time (its sort is changed and set back).
TEST(Model, TheTableKeptInOrderAsCallsChangeIsWhatASortOfEveryCallGives) {
  const std::vector<Column> columns = {Column::id,          Column::method,      Column::side,
                                       Column::peer,        Column::state,       Column::age,
                                       Column::deadline,    Column::messages_in, Column::messages_out,
                                       Column::code};
  for (Column column : columns) {
    for (bool live_only : {false, true}) {
      Model kept({.finished_calls = 6});
      Model fresh({.finished_calls = 6});
      for (Model* m : {&kept, &fresh}) {
        TargetId t = m->add_target("x");
        m->ingest(t, snapshot(1, {make_call(1, "/a.S/Snap", v1::CLIENT, T0 - 5)}, {done_call(2, "/a.S/Old", 5, T0 - 9, T0 - 8)}));
        m->set_sort({column, column != Column::method});
        Filter f;
        if (live_only) f.state = StateFilter::live;
        m->set_filter(f);
      }
      ASSERT_EQ(ids(kept), ids(fresh));
      std::uint64_t seq = 1, next = 3;
      unsigned rng = 12345;
      auto roll = [&rng](unsigned n) {
        rng = rng * 1103515245u + 12345u;
        return (rng >> 16) % n;
      };
      std::vector<std::uint64_t> running = {1};
      for (int step = 0; step < 120; ++step) {
        v1::Event e;
        unsigned what = running.empty() ? 0 : roll(5);
        if (what == 0) {  // a call starts (some with a deadline, some ties on start time)
          v1::Call c = make_call(next, "/a.S/M" + std::to_string(roll(3)), roll(2) ? v1::SERVER : v1::CLIENT,
                                 T0 + static_cast<double>(roll(5)));
          c.set_peer("ipv4:127.0.0.1:" + std::to_string(5000 + roll(4)));
          if (roll(2)) c.set_deadline(T0 + 30 + static_cast<double>(roll(7)));
          e = started(++seq, c);
          running.push_back(next++);
        } else if (what == 3) {  // one ends (its code decides where it goes)
          std::size_t i = roll(static_cast<unsigned>(running.size()));
          e = status(++seq, running[i], static_cast<int>(roll(3)) * 7);
          running.erase(running.begin() + static_cast<std::ptrdiff_t>(i));
        } else if (what == 4) {  // a half-close (the state column's order)
          e.set_seq(++seq);
          e.set_time(T0);
          e.set_call_id(running[roll(static_cast<unsigned>(running.size()))]);
          e.set_half_closed(true);
        } else {  // a message in or out
          e = message(++seq, running[roll(static_cast<unsigned>(running.size()))], what == 1, 10);
        }
        kept.ingest(0, e);
        fresh.ingest(0, e);
        Sort s = fresh.sort();
        fresh.set_sort({s.column == Column::id ? Column::code : Column::id, true});
        fresh.set_sort(s);
        ASSERT_EQ(ids(kept), ids(fresh)) << "column " << to_string(column) << (live_only ? ", live only" : "")
                                         << ", step " << step;
      }
      EXPECT_EQ(kept.live_count(), running.size());
    }
  }
}

TEST(Model, LiveCallsPerLoopFollowStartsEndsAndSnapshots) {
  Model m({.finished_calls = 2});
  TargetId t = m.add_target("x");
  v1::Call a = make_call(1, "/a.S/M"), b = make_call(2, "/a.S/M"), c = make_call(3, "/a.S/M");
  a.set_loop(0);
  b.set_loop(1);
  c.set_loop(1);
  m.ingest(t, snapshot(1, {a, b}));
  EXPECT_EQ(m.live_calls_on_loop(t, 0), 1u);
  EXPECT_EQ(m.live_calls_on_loop(t, 1), 1u);
  m.ingest(t, started(2, c));
  EXPECT_EQ(m.live_calls_on_loop(t, 1), 2u);
  m.ingest(t, status(3, 2, 0));
  m.ingest(t, status(4, 1, 0));
  EXPECT_EQ(m.live_calls_on_loop(t, 0), 0u);
  EXPECT_EQ(m.live_calls_on_loop(t, 1), 1u);
  EXPECT_EQ(m.live_calls_on_loop(t, 7), 0u);
  m.ingest(t, snapshot(9, {a}));  // a new session: its snapshot is the truth
  EXPECT_EQ(m.live_calls_on_loop(t, 0), 1u);
  EXPECT_EQ(m.live_calls_on_loop(t, 1), 0u);
}

TEST(Model, ASnapshotsCallsCountedInALaterSummaryAreInTheTableNotTwiceInTheStats) {
  Model m;
  TargetId t = m.add_target("x");
  v1::Call counted_later = done_call(1, "/a.S/M", 0, T0, T0 + 0.001);
  counted_later.set_in_later_summary(true);
  m.ingest(t, snapshot(10, {}, {counted_later, done_call(2, "/a.S/M", 0, T0, T0 + 0.002)}));
  EXPECT_EQ(m.call_count(), 2u);  // both in the table
  auto finished = [&m] {
    for (const auto& s : m.method_stats())
      if (s.method == "/a.S/M") return s.stats.finished();
    return std::uint64_t{0};
  };
  EXPECT_EQ(finished(), 1u);  // only call 2 so far
  v1::Event e = summary_event(11, T0 + 0.1, "/a.S/M", 1);  // call 1
  auto* s = e.mutable_summary();
  auto* ok = s->add_codes();
  ok->set_code(0);
  ok->set_calls(1);
  m.ingest(t, e);
  EXPECT_EQ(finished(), 2u);
}
