// The route guide's feature database: loading it and the geometry the server needs.
#pragma once

#include <google/protobuf/util/json_util.h>

#include <cmath>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "route_guide.pb.h"
#include "route_guide_db.pb.h"

namespace routeguide {

/// Reads route_guide_db.json (the JSON form of FeatureDatabase).
inline std::vector<Feature> load_database(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot open the feature database " + path);
  std::stringstream text;
  text << in.rdbuf();
  FeatureDatabase db;
  auto status = google::protobuf::util::JsonStringToMessage(text.str(), &db);
  if (!status.ok()) throw std::runtime_error(path + ": " + status.ToString());
  return {db.feature().begin(), db.feature().end()};
}

inline bool same_point(const Point& a, const Point& b) {
  return a.latitude() == b.latitude() && a.longitude() == b.longitude();
}

/// "(latitude, longitude)" in E7 integers, as on the wire.
inline std::string describe(const Point& p) {
  return "(" + std::to_string(p.latitude()) + ", " + std::to_string(p.longitude()) + ")";
}

/// Great-circle distance in metres (haversine formula, mean Earth radius).
inline double distance_m(const Point& a, const Point& b) {
  constexpr double kE7 = 1e7, kRadius = 6371000.0, kPi = 3.14159265358979323846;
  auto rad = [&](int e7) { return e7 / kE7 * kPi / 180.0; };
  double lat1 = rad(a.latitude()), lat2 = rad(b.latitude());
  double dlat = lat2 - lat1, dlon = rad(b.longitude()) - rad(a.longitude());
  double h = std::sin(dlat / 2) * std::sin(dlat / 2) +
             std::cos(lat1) * std::cos(lat2) * std::sin(dlon / 2) * std::sin(dlon / 2);
  return kRadius * 2 * std::atan2(std::sqrt(h), std::sqrt(1 - h));
}

}  // namespace routeguide
