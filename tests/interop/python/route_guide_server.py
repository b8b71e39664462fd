#!/usr/bin/python3
"""Python grpc.aio RouteGuide server used as an interop peer for Actio.

Run with the Debian interpreter (/usr/bin/python3, python3-grpcio and
python3-protobuf).  Stubs are generated at start-up into a temporary directory
from samples/route_guide/route_guide.proto (see --proto), so nothing generated
is committed.  The features come from samples/route_guide/route_guide_db.json
(see --db): {"feature": [{"name": ..., "location": {"latitude": ...,
"longitude": ...}}, ...]}.

Behaviour (as samples/route_guide/README.md describes):
  * GetFeature(Point): the database feature at exactly that point, else
    Feature(name="", location=point).
  * ListFeatures(Rectangle): streams every database feature, named or not,
    inside the rectangle; lo/hi are normalised per coordinate (min/max) and
    the bounds are inclusive.
  * RecordRoute(stream Point): point_count = points received; feature_count =
    points where a database feature with a non-empty name is; distance = the
    haversine distance in metres (R = 6371000 m, coordinates E7 degrees)
    summed over consecutive points, truncated to int; elapsed_time = whole
    seconds from the first point to the end of the stream.
  * RouteChat(stream RouteNote): for each incoming note, first sends back
    every earlier note of this call at the same location, then keeps it.
  * Listens on 127.0.0.1 only; prints
    "route_guide_server: listening on 127.0.0.1:PORT" (flushed) once serving.
    SIGTERM/SIGINT -> stop(grace=1.0), exit 0.
"""

import argparse
import asyncio
import json
import math
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from stubs import load_stubs, serve_until_signal  # noqa: E402

SAMPLE_DIR = os.path.join(HERE, "..", "..", "..", "samples", "route_guide")
DEFAULT_PROTO = os.path.join(SAMPLE_DIR, "route_guide.proto")
DEFAULT_DB = os.path.join(SAMPLE_DIR, "route_guide_db.json")

EARTH_RADIUS_M = 6371000.0
COORD_FACTOR = 1e7


def read_db(path, pb2):
    """Returns the database as a list of pb2.Feature, in file order."""
    with open(path) as f:
        data = json.load(f)
    features = []
    for entry in data.get("feature", []):
        loc = entry.get("location", {})
        features.append(pb2.Feature(
            name=entry.get("name", ""),
            location=pb2.Point(latitude=int(loc.get("latitude", 0)),
                               longitude=int(loc.get("longitude", 0)))))
    return features


def find_feature(db, point):
    for feature in db:
        if (feature.location.latitude == point.latitude
                and feature.location.longitude == point.longitude):
            return feature
    return None


def distance_m(start, end):
    """Haversine distance in metres between two E7 points."""
    lat1 = math.radians(start.latitude / COORD_FACTOR)
    lat2 = math.radians(end.latitude / COORD_FACTOR)
    dlat = lat2 - lat1
    dlon = math.radians((end.longitude - start.longitude) / COORD_FACTOR)
    a = (math.sin(dlat / 2) ** 2
         + math.cos(lat1) * math.cos(lat2) * math.sin(dlon / 2) ** 2)
    c = 2 * math.atan2(math.sqrt(a), math.sqrt(1 - a))
    return EARTH_RADIUS_M * c


async def serve(args, pb2, pb2_grpc):
    import grpc

    db = read_db(args.db, pb2)

    class RouteGuide(pb2_grpc.RouteGuideServicer):
        async def GetFeature(self, request, context):
            feature = find_feature(db, request)
            if feature is None:
                return pb2.Feature(name="", location=request)
            return feature

        async def ListFeatures(self, request, context):
            lo_lat = min(request.lo.latitude, request.hi.latitude)
            hi_lat = max(request.lo.latitude, request.hi.latitude)
            lo_lon = min(request.lo.longitude, request.hi.longitude)
            hi_lon = max(request.lo.longitude, request.hi.longitude)
            for feature in db:
                lat = feature.location.latitude
                lon = feature.location.longitude
                if lo_lat <= lat <= hi_lat and lo_lon <= lon <= hi_lon:
                    yield feature

        async def RecordRoute(self, request_iterator, context):
            point_count = 0
            feature_count = 0
            distance = 0.0
            previous = None
            start = None
            async for point in request_iterator:
                if start is None:
                    start = time.monotonic()
                point_count += 1
                feature = find_feature(db, point)
                if feature is not None and feature.name:
                    feature_count += 1
                if previous is not None:
                    distance += distance_m(previous, point)
                previous = point
            elapsed = 0 if start is None else int(time.monotonic() - start)
            return pb2.RouteSummary(point_count=point_count,
                                    feature_count=feature_count,
                                    distance=int(distance),
                                    elapsed_time=elapsed)

        async def RouteChat(self, request_iterator, context):
            notes = []
            async for note in request_iterator:
                for earlier in notes:
                    if (earlier.location.latitude == note.location.latitude
                            and earlier.location.longitude
                            == note.location.longitude):
                        yield earlier
                notes.append(note)

    options = []
    if args.permit_keepalive:
        # Accept a client's keepalive pings as often as every 100 ms, also
        # while no data flows (gRPC's default is one per 5 minutes).
        options = [("grpc.http2.min_ping_interval_without_data_ms", 100),
                   ("grpc.keepalive_permit_without_calls", 1)]
    server = grpc.aio.server(options=options)
    pb2_grpc.add_RouteGuideServicer_to_server(RouteGuide(), server)
    return await serve_until_signal(server, args.port, args.port_file,
                                    "route_guide_server: listening on 127.0.0.1:%d", 1.0)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0,
                        help="port on 127.0.0.1 (0 = pick a free one)")
    parser.add_argument("--db", default=DEFAULT_DB,
                        help="path to route_guide_db.json")
    parser.add_argument("--proto", default=DEFAULT_PROTO,
                        help="path to route_guide.proto")
    parser.add_argument("--port-file", default=None,
                        help="write the bound port to this file")
    parser.add_argument("--permit-keepalive", action="store_true",
                        help="accept frequent client keepalive pings")
    args = parser.parse_args()
    pb2, pb2_grpc = load_stubs(args.proto)
    return asyncio.run(serve(args, pb2, pb2_grpc))


if __name__ == "__main__":
    sys.exit(main())
