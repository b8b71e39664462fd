// The route guide server (grpc's examples/python/route_guide/asyncio_route_guide_server.py):
// one handler of each call shape over a read-only feature database.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <iostream>

#include "actio/aio.hpp"
#include "route_guide.actio.h"
#include "route_guide_db.hpp"

using namespace routeguide;
using namespace std::chrono_literals;

/// The service, on the generated servicer. Its state, the database, is
/// read-only and shared by every call.
class RouteGuide final : public RouteGuideServicer {
 public:
  explicit RouteGuide(std::vector<Feature> db) : db_(std::move(db)) {}

  /// Unary: the feature at `point`, or an unnamed feature there.
  actio::Task<Feature> GetFeature(const Point& point, actio::ServicerContext&) override {
    Feature found;
    if (const Feature* f = find(point)) found = *f;
    else *found.mutable_location() = point;
    co_return found;
  }

  // [list_features]
  /// Server streaming: every feature inside the rectangle, one write each.
  actio::Task<void> ListFeatures(const Rectangle& rect, actio::ServicerContext& context) override {
    int lat_lo = std::min(rect.lo().latitude(), rect.hi().latitude());
    int lat_hi = std::max(rect.lo().latitude(), rect.hi().latitude());
    int lon_lo = std::min(rect.lo().longitude(), rect.hi().longitude());
    int lon_hi = std::max(rect.lo().longitude(), rect.hi().longitude());
    for (const Feature& f : db_) {
      int lat = f.location().latitude(), lon = f.location().longitude();
      if (lat >= lat_lo && lat <= lat_hi && lon >= lon_lo && lon <= lon_hi) co_await context.write(f);
    }
  }
  // [list_features]

  /// Client streaming: reads the route to its end, then sums it up.
  actio::Task<RouteSummary> RecordRoute(actio::RequestStream<Point>& points, actio::ServicerContext&) override {
    RouteSummary summary;
    std::optional<Point> previous;
    double distance = 0;
    auto start = std::chrono::steady_clock::now();
    while (auto point = co_await points.read()) {
      summary.set_point_count(summary.point_count() + 1);
      if (const Feature* f = find(*point); f && !f->name().empty())
        summary.set_feature_count(summary.feature_count() + 1);
      if (previous) distance += distance_m(*previous, *point);
      previous = std::move(point);
    }
    auto elapsed = std::chrono::steady_clock::now() - start;
    summary.set_distance(static_cast<int>(distance));
    summary.set_elapsed_time(static_cast<int>(std::chrono::duration_cast<std::chrono::seconds>(elapsed).count()));
    co_return summary;
  }

  /// Bidi: for each note, first sends the notes this call left earlier at
  /// the same point, then keeps it.
  actio::Task<void> RouteChat(actio::RequestStream<RouteNote>& notes, actio::ServicerContext& context) override {
    std::vector<RouteNote> earlier;
    while (auto note = co_await notes.read()) {
      for (const RouteNote& e : earlier)
        if (same_point(e.location(), note->location())) co_await context.write(e);
      earlier.push_back(std::move(*note));
    }
  }

 private:
  const Feature* find(const Point& point) const {
    auto it = std::find_if(db_.begin(), db_.end(), [&](const Feature& f) { return same_point(f.location(), point); });
    return it == db_.end() ? nullptr : &*it;
  }

  std::vector<Feature> db_;
};

actio::Task<int> serve(int port, std::string db_path) {
  auto server = actio::server();
  add_RouteGuideServicer_to_server(std::make_shared<RouteGuide>(load_database(db_path)), server);
  int bound = server.add_insecure_port("127.0.0.1:" + std::to_string(port));
  co_await server.start();
  std::cout << "route_guide_server: listening on 127.0.0.1:" << bound << std::endl;
  co_await actio::serve_until_signal(server, 1s);
  co_return 0;
}

int main(int argc, char** argv) {
  CLI::App app{"Actio route guide server"};
  int port = 50052;
  std::string db = ROUTE_GUIDE_DB;
  app.add_option("--port", port, "port to listen on (0 picks a free one)");
  app.add_option("--db", db, "the feature database (JSON)");
  CLI11_PARSE(app, argc, argv);
  try {
    int rc = actio::run(serve(port, db));
    std::cout << "route_guide_server: stopped" << std::endl;
    return rc;
  } catch (const std::exception& e) {
    std::cerr << "route_guide_server: " << e.what() << std::endl;
    return 1;
  }
}
