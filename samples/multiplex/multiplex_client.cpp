// The multiplex client (grpc's examples/python/multiplex/multiplex_client.py):
// one channel, two stubs on it — a GreeterStub and a RouteGuideStub — and
// calls of both services over the one connection.
#include <CLI/CLI.hpp>
#include <iostream>

#include "actio/aio.hpp"
#include "helloworld.actio.h"
#include "route_guide.actio.h"
#include "route_guide_db.hpp"

using namespace std::chrono_literals;
using routeguide::describe;
using routeguide::Feature;
using routeguide::Point;
using routeguide::RouteGuideStub;
using routeguide::RouteNote;

Point point(int latitude, int longitude) {
  Point p;
  p.set_latitude(latitude);
  p.set_longitude(longitude);
  return p;
}

RouteNote make_route_note(const std::string& message, int latitude, int longitude) {
  RouteNote note;
  note.set_message(message);
  *note.mutable_location() = point(latitude, longitude);
  return note;
}

/// The peer the server saw for a unary call (its "x-peer" trailing metadata).
template <class Call>
actio::Task<std::string> served_peer(const Call& call) {
  actio::Metadata trailing = co_await call.trailing_metadata();
  co_return trailing.get("x-peer").value_or("?");
}

actio::Task<std::string> guide_get_one_feature(const RouteGuideStub& stub, Point where) {
  auto call = stub.GetFeature(where, {.timeout = 5s});
  Feature feature = co_await call;
  if (feature.name().empty()) std::cout << "Found no feature at " << describe(feature.location()) << "\n";
  else std::cout << "Feature called '" << feature.name() << "' at " << describe(feature.location()) << "\n";
  co_return co_await served_peer(call);
}

actio::Task<void> guide_list_features(const RouteGuideStub& stub) {
  routeguide::Rectangle rect;
  *rect.mutable_lo() = point(465000000, 78000000);
  *rect.mutable_hi() = point(465150000, 78500000);
  std::cout << "Looking for features between " << describe(rect.lo()) << " and " << describe(rect.hi()) << "\n";
  int count = 0;
  co_await actio::for_each(stub.ListFeatures(rect, {.timeout = 5s}), [&](const Feature& f) {
    std::cout << "Feature called '" << f.name() << "' at " << describe(f.location()) << "\n";
    ++count;
  });
  std::cout << "ListFeatures: " << count << " features\n";
}

/// The route: six places of the database (Python's generate_route picks ten
/// at random and sleeps between them; fixed points keep the output checkable).
actio::Generator<Point> generate_route(const std::vector<Feature>& db) {
  const int stops[] = {0, 7, 13, 19, 21, 3};
  for (int i : stops) {
    std::cout << "Visiting point " << describe(db.at(i).location()) << "\n";
    co_yield db.at(i).location();
  }
}

actio::Task<void> guide_record_route(const RouteGuideStub& stub, const std::vector<Feature>& db) {
  routeguide::RouteSummary summary = co_await stub.RecordRoute(generate_route(db), {.timeout = 5s});
  std::cout << "RecordRoute: " << summary.point_count() << " points, " << summary.feature_count()
            << " features, distance " << summary.distance() << " m, elapsed " << summary.elapsed_time() << " s\n";
}

actio::Generator<RouteNote> generate_messages() {
  std::vector<RouteNote> notes;
  notes.push_back(make_route_note("First message", 0, 0));
  notes.push_back(make_route_note("Second message", 0, 1));
  notes.push_back(make_route_note("Third message", 1, 0));
  notes.push_back(make_route_note("Fourth message", 0, 0));
  notes.push_back(make_route_note("Fifth message", 1, 0));
  for (const RouteNote& note : notes) {
    std::cout << "Sending '" << note.message() << "' at " << describe(note.location()) << "\n";
    co_yield note;
  }
}

actio::Task<void> guide_route_chat(const RouteGuideStub& stub) {
  int received = 0;
  co_await actio::for_each(stub.RouteChat(generate_messages(), {.timeout = 5s}), [&](const RouteNote& note) {
    std::cout << "Received message '" << note.message() << "' at " << describe(note.location()) << "\n";
    ++received;
  });
  std::cout << "RouteChat: " << received << " notes received\n";
}

// [client]
actio::Task<int> run_client(std::string target, std::string db_path) {
  auto db = routeguide::load_database(db_path);
  // One channel; both stubs are made on it and share its connection.
  auto channel = actio::insecure_channel(target);
  helloworld::GreeterStub greeter_stub(channel);
  RouteGuideStub route_guide_stub(channel);
  try {
    helloworld::HelloRequest request;
    request.set_name("you");
    auto hello = greeter_stub.SayHello(request, {.timeout = 5s});
    helloworld::HelloReply reply = co_await hello;
    std::cout << "Greeter client received: " << reply.message() << "\n";
    std::string greeter_peer = co_await served_peer(hello);

    std::cout << "-------------- GetFeature --------------\n";
    std::string guide_peer = co_await guide_get_one_feature(route_guide_stub, point(465000000, 78000000));
    co_await guide_get_one_feature(route_guide_stub, point(0, 0));
    std::cout << "-------------- ListFeatures --------------\n";
    co_await guide_list_features(route_guide_stub);
    std::cout << "-------------- RecordRoute --------------\n";
    co_await guide_record_route(route_guide_stub, db);
    std::cout << "-------------- RouteChat --------------\n";
    co_await guide_route_chat(route_guide_stub);

    // The server saw both services' calls come from the same client address
    // (the same TCP connection): one channel multiplexes both stubs.
    std::cout << "-------------- One connection --------------\n";
    std::cout << "Greeter.SayHello was served to " << greeter_peer << "\n";
    std::cout << "RouteGuide.GetFeature was served to " << guide_peer << "\n";
    if (greeter_peer != guide_peer || greeter_peer == "?") {
      std::cout << "Greeter and RouteGuide used different connections\n";
      co_return 1;
    }
    std::cout << "Greeter and RouteGuide answered over one connection\n";
  } catch (const actio::AioRpcError& e) {
    std::cerr << "multiplex_client: " << actio::to_string(e.code()) << " " << e.details() << std::endl;
    co_return 1;
  }
  co_await channel.close();
  co_return 0;
}
// [client]

int main(int argc, char** argv) {
  std::string target = "localhost:50051", db = ROUTE_GUIDE_DB;
  CLI::App app{"Actio multiplex client: a Greeter and a RouteGuide stub on one channel"};
  app.add_option("--target", target, "server address");
  app.add_option("--db", db, "the route guide's feature database (JSON), for the route's points");
  CLI11_PARSE(app, argc, argv);
  try {
    return actio::run(run_client(target, db));
  } catch (const std::exception& e) {
    std::cerr << "multiplex_client: " << e.what() << std::endl;
    return 1;
  }
}
