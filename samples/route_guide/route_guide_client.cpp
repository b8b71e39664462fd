// The route guide client (grpc's examples/python/route_guide/asyncio_route_guide_client.py):
// calls each method once with fixed requests and prints what comes back.
#include <CLI/CLI.hpp>
#include <iostream>

#include "actio/aio.hpp"
#include "route_guide_db.hpp"

using namespace routeguide;
using namespace std::chrono_literals;

/// The four methods of routeguide.RouteGuide on one channel.
struct RouteGuideStub {
  explicit RouteGuideStub(const actio::Channel& channel)
      : get_feature(channel.unary_unary<Point, Feature>("/routeguide.RouteGuide/GetFeature")),
        list_features(channel.unary_stream<Rectangle, Feature>("/routeguide.RouteGuide/ListFeatures")),
        record_route(channel.stream_unary<Point, RouteSummary>("/routeguide.RouteGuide/RecordRoute")),
        route_chat(channel.stream_stream<RouteNote, RouteNote>("/routeguide.RouteGuide/RouteChat")) {}

  actio::UnaryUnaryMultiCallable<Point, Feature> get_feature;
  actio::UnaryStreamMultiCallable<Rectangle, Feature> list_features;
  actio::StreamUnaryMultiCallable<Point, RouteSummary> record_route;
  actio::StreamStreamMultiCallable<RouteNote, RouteNote> route_chat;
};

Point point(int latitude, int longitude) {
  Point p;
  p.set_latitude(latitude);
  p.set_longitude(longitude);
  return p;
}

void print_feature(const Feature& f) {
  if (f.name().empty()) std::cout << "Found no feature at " << describe(f.location()) << "\n";
  else std::cout << "Feature called '" << f.name() << "' at " << describe(f.location()) << "\n";
}

// Unary: await the call for its response.
actio::Task<void> get_features(const RouteGuideStub& stub) {
  for (const Point& p : {point(465000000, 78000000), point(0, 0)}) {
    print_feature(co_await stub.get_feature(p, {.timeout = 10s}));
  }
}

// [list_features]
// Server streaming: for_each runs the callback on every message to the end
// of the stream (`while (auto f = co_await call.read())` works as well).
actio::Task<void> list_features(const RouteGuideStub& stub) {
  Rectangle rect;
  *rect.mutable_lo() = point(465000000, 78000000);
  *rect.mutable_hi() = point(465150000, 78500000);
  int count = 0;
  co_await actio::for_each(stub.list_features(rect, {.timeout = 10s}), [&](const Feature& f) {
    std::cout << "Feature called '" << f.name() << "' at " << describe(f.location()) << "\n";
    ++count;
  });
  std::cout << "ListFeatures: " << count << " features\n";
}
// [list_features]

// Client streaming: write the requests, half-close, await the response.
actio::Task<void> record_route(const RouteGuideStub& stub, const std::vector<Feature>& db) {
  auto call = stub.record_route({.timeout = 10s});
  for (int i : {0, 7, 13, 19, 21, 3}) co_await call.write(db.at(i).location());
  co_await call.done_writing();
  RouteSummary s = co_await call;
  std::cout << "RecordRoute: " << s.point_count() << " points, " << s.feature_count() << " features, distance "
            << s.distance() << " m, elapsed " << s.elapsed_time() << " s\n";
}

// [route_chat]
// Bidi: one task writes the notes while another reads the replies.
actio::Task<void> route_chat(const RouteGuideStub& stub) {
  auto call = stub.route_chat({.timeout = 10s});
  auto send = [](auto call) -> actio::Task<void> {
    const std::pair<const char*, Point> notes[] = {{"First message", point(0, 1)},
                                                   {"Second message", point(0, 2)},
                                                   {"Third message", point(0, 1)},
                                                   {"Fourth message", point(0, 1)}};
    for (const auto& [text, where] : notes) {
      RouteNote note;
      note.set_message(text);
      *note.mutable_location() = where;
      co_await call.write(note);
    }
    co_await call.done_writing();
  };
  auto receive = [](auto call) -> actio::Task<int> {
    int received = 0;
    while (auto note = co_await call.read()) {
      std::cout << "Got message '" << note->message() << "' at " << describe(note->location()) << "\n";
      ++received;
    }
    co_return received;
  };
  auto [sent, received] = co_await actio::gather(send(call), receive(call));
  std::cout << "RouteChat: " << received << " notes received\n";
}
// [route_chat]

actio::Task<int> run_client(std::string target, std::string db_path) {
  auto db = load_database(db_path);
  auto channel = actio::insecure_channel(target);
  RouteGuideStub stub(channel);
  try {
    std::cout << "-------------- GetFeature --------------\n";
    co_await get_features(stub);
    std::cout << "-------------- ListFeatures --------------\n";
    co_await list_features(stub);
    std::cout << "-------------- RecordRoute --------------\n";
    co_await record_route(stub, db);
    std::cout << "-------------- RouteChat --------------\n";
    co_await route_chat(stub);
  } catch (const actio::AioRpcError& e) {
    std::cerr << "route_guide_client: " << actio::to_string(e.code()) << " " << e.details() << std::endl;
    co_return 1;
  }
  co_await channel.close();
  co_return 0;
}

int main(int argc, char** argv) {
  std::string target = "localhost:50052", db = ROUTE_GUIDE_DB;
  CLI::App app{"Actio route guide client"};
  app.add_option("--target", target, "server address");
  app.add_option("--db", db, "the feature database (JSON), for the route's points");
  CLI11_PARSE(app, argc, argv);
  try {
    return actio::run(run_client(target, db));
  } catch (const std::exception& e) {
    std::cerr << "route_guide_client: " << e.what() << std::endl;
    return 1;
  }
}
