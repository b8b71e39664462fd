// The multiplex server (grpc's examples/python/multiplex/multiplex_server.py):
// one server serving two services, helloworld's Greeter and the RouteGuide.
// Each unary handler also sends back, as trailing metadata, the peer address
// it saw, so the client can tell that both services shared one connection.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <iostream>
#include <optional>

#include "actio/aio.hpp"
#include "helloworld.actio.h"
#include "route_guide.actio.h"
#include "route_guide_db.hpp"

using namespace std::chrono_literals;
using helloworld::HelloReply;
using helloworld::HelloRequest;
using routeguide::Feature;
using routeguide::Point;
using routeguide::Rectangle;
using routeguide::RouteNote;
using routeguide::RouteSummary;

/// Puts the peer this call came from into the trailing metadata ("x-peer").
void tell_peer(actio::ServicerContext& context) {
  actio::Metadata trailing;
  trailing.add("x-peer", context.peer());
  context.set_trailing_metadata(trailing);
}

// [servicers]
/// The first service: helloworld's Greeter.
class Greeter final : public helloworld::GreeterServicer {
 public:
  actio::Task<HelloReply> SayHello(const HelloRequest& request, actio::ServicerContext& context) override {
    std::cout << "multiplex_server: Greeter.SayHello from " << context.peer() << std::endl;
    tell_peer(context);
    HelloReply reply;
    reply.set_message("Hello, " + request.name() + "!");
    co_return reply;
  }
};

/// The second service: the RouteGuide, over the route guide's feature database.
class RouteGuide final : public routeguide::RouteGuideServicer {
 public:
  explicit RouteGuide(std::vector<Feature> db) : db_(std::move(db)) {}

  actio::Task<Feature> GetFeature(const Point& point, actio::ServicerContext& context) override {
    std::cout << "multiplex_server: RouteGuide.GetFeature from " << context.peer() << std::endl;
    tell_peer(context);
    Feature found;
    if (const Feature* f = find(point)) found = *f;
    else *found.mutable_location() = point;
    co_return found;
  }

  actio::Task<void> ListFeatures(const Rectangle& rect, actio::ServicerContext& context) override {
    int left = std::min(rect.lo().longitude(), rect.hi().longitude());
    int right = std::max(rect.lo().longitude(), rect.hi().longitude());
    int bottom = std::min(rect.lo().latitude(), rect.hi().latitude());
    int top = std::max(rect.lo().latitude(), rect.hi().latitude());
    for (const Feature& f : db_) {
      const Point& p = f.location();
      if (p.longitude() >= left && p.longitude() <= right && p.latitude() >= bottom && p.latitude() <= top)
        co_await context.write(f);
    }
  }

  actio::Task<RouteSummary> RecordRoute(actio::RequestStream<Point>& points, actio::ServicerContext&) override {
    int point_count = 0, feature_count = 0;
    double distance = 0;
    std::optional<Point> previous;
    auto start = std::chrono::steady_clock::now();
    while (auto point = co_await points.read()) {
      ++point_count;
      if (const Feature* f = find(*point); f && !f->name().empty()) ++feature_count;
      if (previous) distance += routeguide::distance_m(*previous, *point);
      previous = *point;
    }
    auto elapsed = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - start);
    RouteSummary summary;
    summary.set_point_count(point_count);
    summary.set_feature_count(feature_count);
    summary.set_distance(static_cast<int>(distance));
    summary.set_elapsed_time(static_cast<int>(elapsed.count()));
    co_return summary;
  }

  actio::Task<void> RouteChat(actio::RequestStream<RouteNote>& notes, actio::ServicerContext& context) override {
    std::vector<RouteNote> previous;
    while (auto note = co_await notes.read()) {
      for (const RouteNote& p : previous)
        if (routeguide::same_point(p.location(), note->location())) co_await context.write(p);
      previous.push_back(*note);
    }
  }

 private:
  const Feature* find(const Point& point) const {
    auto it = std::find_if(db_.begin(), db_.end(),
                           [&](const Feature& f) { return routeguide::same_point(f.location(), point); });
    return it == db_.end() ? nullptr : &*it;
  }

  std::vector<Feature> db_;
};
// [servicers]

// [serve]
actio::Task<int> serve(int port, std::string db_path) {
  auto server = actio::server();
  // Both services on the one server, as the Python example's two add_*_to_server lines.
  helloworld::add_GreeterServicer_to_server(std::make_shared<Greeter>(), server);
  routeguide::add_RouteGuideServicer_to_server(std::make_shared<RouteGuide>(routeguide::load_database(db_path)),
                                               server);
  int bound = server.add_insecure_port("127.0.0.1:" + std::to_string(port));
  co_await server.start();
  std::cout << "multiplex_server: serving helloworld.Greeter and routeguide.RouteGuide" << std::endl;
  std::cout << "multiplex_server: listening on 127.0.0.1:" << bound << std::endl;
  co_await actio::serve_until_signal(server, 1s);
  co_return 0;
}
// [serve]

int main(int argc, char** argv) {
  CLI::App app{"Actio multiplex server: Greeter and RouteGuide on one server"};
  int port = 50051;
  std::string db = ROUTE_GUIDE_DB;
  app.add_option("--port", port, "port to listen on (0 picks a free one)");
  app.add_option("--db", db, "the route guide's feature database (JSON)");
  CLI11_PARSE(app, argc, argv);
  try {
    int rc = actio::run(serve(port, db));
    std::cout << "multiplex_server: stopped" << std::endl;
    return rc;
  } catch (const std::exception& e) {
    std::cerr << "multiplex_server: " << e.what() << std::endl;
    return 1;
  }
}
