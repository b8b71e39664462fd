#!/usr/bin/python3
"""Python grpc.aio RouteGuide client used as an interop peer for Actio.

Makes the four calls of samples/route_guide/README.md, in its fixed order and
with its fixed requests, and prints exactly the lines the README shows:
  * GetFeature (465000000, 78000000), then (0, 0):
      "Feature called 'NAME' at (LAT, LON)" or "Found no feature at (LAT, LON)"
  * ListFeatures lo = (465000000, 78000000), hi = (465150000, 78500000):
      one "Feature called 'NAME' at (LAT, LON)" per feature received (an
      unnamed one prints with NAME empty), then "ListFeatures: N features"
  * RecordRoute with the locations of database entries 0, 7, 13, 19, 21, 3,
      sent from an async generator:
      "RecordRoute: P points, F features, distance D m, elapsed T s"
  * RouteChat with four notes sent from an async generator while reading the
      replies: one "Got message 'MSG' at (LAT, LON)" per reply, then
      "RouteChat: N notes received"
Points are printed as E7 integers, as on the wire.  Every call has a 10 s
timeout.  Exit status 0 on success, 1 (with a message on stderr) on any RPC
error.

Run with the Debian interpreter (/usr/bin/python3).  Stubs are generated at
start-up into a temporary directory from samples/route_guide/route_guide.proto
(see --proto); the database (see --db) is read only to pick the RecordRoute
points.
"""

import argparse
import asyncio
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from stubs import load_stubs  # noqa: E402

SAMPLE_DIR = os.path.join(HERE, "..", "..", "..", "samples", "route_guide")
DEFAULT_PROTO = os.path.join(SAMPLE_DIR, "route_guide.proto")
DEFAULT_DB = os.path.join(SAMPLE_DIR, "route_guide_db.json")

TIMEOUT = 10.0  # seconds, per call
ROUTE_ENTRIES = (0, 7, 13, 19, 21, 3)
NOTES = (
    ("First message", 0, 1),
    ("Second message", 0, 2),
    ("Third message", 0, 1),
    ("Fourth message", 0, 1),
)


def describe(err):
    import grpc
    if isinstance(err, grpc.aio.AioRpcError):
        return "%s: %r" % (err.code().name, err.details())
    return "%s: %s" % (type(err).__name__, err)


def print_feature(feature):
    print("Feature called '%s' at (%d, %d)" % (
        feature.name, feature.location.latitude, feature.location.longitude),
        flush=True)


def route_points(path, pb2):
    with open(path) as f:
        entries = json.load(f)["feature"]
    points = []
    for i in ROUTE_ENTRIES:
        loc = entries[i]["location"]
        points.append(pb2.Point(latitude=int(loc["latitude"]),
                                longitude=int(loc["longitude"])))
    return points


async def run(args, pb2, pb2_grpc):
    import grpc

    route = route_points(args.db, pb2)

    async with grpc.aio.insecure_channel(args.target) as channel:
        stub = pb2_grpc.RouteGuideStub(channel)

        # GetFeature: a known point, then (0, 0).
        for lat, lon in ((465000000, 78000000), (0, 0)):
            feature = await stub.GetFeature(
                pb2.Point(latitude=lat, longitude=lon), timeout=TIMEOUT)
            if feature.name:
                print_feature(feature)
            else:
                print("Found no feature at (%d, %d)" % (
                    feature.location.latitude, feature.location.longitude),
                    flush=True)

        # ListFeatures: read the stream to its end.
        rect = pb2.Rectangle(
            lo=pb2.Point(latitude=465000000, longitude=78000000),
            hi=pb2.Point(latitude=465150000, longitude=78500000))
        count = 0
        async for feature in stub.ListFeatures(rect, timeout=TIMEOUT):
            print_feature(feature)
            count += 1
        print("ListFeatures: %d features" % count, flush=True)

        # RecordRoute: six database points from an async generator.
        async def points():
            for point in route:
                yield point

        summary = await stub.RecordRoute(points(), timeout=TIMEOUT)
        print("RecordRoute: %d points, %d features, distance %d m, "
              "elapsed %d s" % (summary.point_count, summary.feature_count,
                                summary.distance, summary.elapsed_time),
              flush=True)

        # RouteChat: four notes from an async generator, replies read
        # concurrently.
        async def notes():
            for message, lat, lon in NOTES:
                yield pb2.RouteNote(
                    message=message,
                    location=pb2.Point(latitude=lat, longitude=lon))

        received = 0
        async for note in stub.RouteChat(notes(), timeout=TIMEOUT):
            print("Got message '%s' at (%d, %d)" % (
                note.message, note.location.latitude,
                note.location.longitude), flush=True)
            received += 1
        print("RouteChat: %d notes received" % received, flush=True)
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", required=True, help="HOST:PORT")
    parser.add_argument("--db", default=DEFAULT_DB,
                        help="path to route_guide_db.json")
    parser.add_argument("--proto", default=DEFAULT_PROTO,
                        help="path to route_guide.proto")
    args = parser.parse_args()
    pb2, pb2_grpc = load_stubs(args.proto)
    import grpc
    try:
        return asyncio.run(run(args, pb2, pb2_grpc))
    except grpc.aio.AioRpcError as err:
        print("route_guide_client: RPC failed: %s" % describe(err),
              file=sys.stderr, flush=True)
        return 1


if __name__ == "__main__":
    sys.exit(main())
