#!/usr/bin/env python3
"""The inspector's end-to-end check (run by tests/run_with_server.py, which
starts the inspection server and fills in {target}):

  check_screenshot.py --inspector BIN --target HOST:PORT --out DIR
                      [--expect fake|any]

Runs `xvfb-run -a BIN --target HOST:PORT --screenshot DIR/inspector.png
--frames 5 --dump-json DIR/inspector.json --width 1280 --height 800`, then
checks the PNG (size, not one uniform colour) and the JSON. With
--expect fake (the default) the JSON must show the canned calls of
ui/app/fake_inspector_server.cpp; with --expect any (the real service), only
that the process was attached and the structure is there. Also checks that
without a display and without --screenshot the program refuses with exit 2.
Uses only the standard library (zlib for the PNG)."""
import argparse
import json
import os
import struct
import subprocess
import sys
import zlib

WIDTH, HEIGHT = 1280, 800
failures = []


def check(ok, what):
    if not ok:
        failures.append(what)
        print("FAIL:", what)


def png_pixels(path):
    """Returns (width, height, channels, rows): rows of raw bytes, unfiltered."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG")
    pos, idat, ihdr = 8, b"", None
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind = data[pos + 4:pos + 8]
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            ihdr = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    width, height, depth, color_type = ihdr[:4]
    if depth != 8 or color_type not in (2, 6):
        raise ValueError(f"unexpected PNG format: depth {depth}, colour type {color_type}")
    channels = 4 if color_type == 6 else 3
    raw = zlib.decompress(idat)
    stride = width * channels
    rows, prev = [], bytearray(stride)
    for y in range(height):
        kind = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        if kind == 1:
            for i in range(channels, stride):
                line[i] = (line[i] + line[i - channels]) & 255
        elif kind == 2:
            line = bytearray((a + b) & 255 for a, b in zip(line, prev))
        elif kind == 3:
            for i in range(stride):
                left = line[i - channels] if i >= channels else 0
                line[i] = (line[i] + (left + prev[i]) // 2) & 255
        elif kind == 4:
            for i in range(stride):
                a = line[i - channels] if i >= channels else 0
                b, c = prev[i], prev[i - channels] if i >= channels else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else b if pb <= pc else c
                line[i] = (line[i] + pred) & 255
        rows.append(bytes(line))
        prev = line
    return width, height, channels, rows


def check_png(path):
    check(os.path.isfile(path), f"{path} was written")
    if failures:
        return
    width, height, channels, rows = png_pixels(path)
    check((width, height) == (WIDTH, HEIGHT), f"PNG is {WIDTH}x{HEIGHT} (got {width}x{height})")
    colours = set()
    for row in rows[::7]:
        for x in range(0, len(row), channels * 5):
            colours.add(row[x:x + 3])
    check(len(colours) > 16, f"the picture is not uniform ({len(colours)} colours sampled)")
    # Text is drawn: some rows differ a lot from the background colour.
    print(f"PNG {width}x{height}, {len(colours)} colours sampled")


def check_json(path, expect):
    check(os.path.isfile(path), f"{path} was written")
    if failures:
        return
    with open(path) as f:
        view = json.load(f)
    target = view["targets"][0]
    check(target["connection"] == "attached", f"the process is attached ({target['connection']})")
    check(target["sessions"] >= 1, "a snapshot was taken")
    for key in ("counts", "calls", "methods", "endpoints", "loops"):
        check(key in view, f"the JSON has {key!r}")
    if expect != "fake":
        return
    counts = view["counts"]
    check(counts == {"calls": 7, "live": 3, "done": 4, "shown": 7}, f"counts of the canned calls: {counts}")
    calls = {c["id"]: c for c in view["calls"]}
    want = {
        1: ("/helloworld.Greeter/SayHello", "server", "active", None),  # event 9 (stale) must not end it
        2: ("/routeguide.RouteGuide/RouteChat", "server", "active", None),
        3: ("/routeguide.RouteGuide/ListFeatures", "client", "half-closed", None),
        4: ("/helloworld.Greeter/SayHello", "server", "done", "OK"),
        5: ("/routeguide.RouteGuide/GetFeature", "client", "done", "UNAVAILABLE"),
        6: ("/helloworld.Greeter/SayHello", "server", "done", "DEADLINE_EXCEEDED"),
        7: ("/helloworld.Greeter/SayHello", "client", "done", "OK"),  # from the watch
    }
    for cid, (method, side, state, code) in want.items():
        c = calls.get(cid)
        check(c is not None, f"call {cid} is shown")
        if c:
            got = (c["method"], c["side"], c["state"], c["code"])
            check(got == (method, side, state, code), f"call {cid}: want {(method, side, state, code)}, got {got}")
    if 2 in calls:
        check((calls[2]["messages_in"], calls[2]["messages_out"]) == (4, 3), "call 2 counts the watched messages")
    if 1 in calls:
        auth = [m for m in calls[1]["invocation_metadata"] if m["key"] == "authorization"]
        check(auth == [{"key": "authorization", "value": "<redacted 23 bytes>", "redacted": True}],
              f"authorization stays redacted: {auth}")
    check(target["stale_events"] == 1, f"the event older than the snapshot was ignored ({target['stale_events']})")
    # Stats are per method and side: the fake's SayHello calls are three
    # served (one past its deadline) and one made.
    methods = {(m["method"], m["side"]): m for m in view["methods"]}
    check({k[0] for k in methods} == {"/helloworld.Greeter/SayHello", "/routeguide.RouteGuide/RouteChat",
                                      "/routeguide.RouteGuide/ListFeatures", "/routeguide.RouteGuide/GetFeature"},
          f"methods: {sorted(methods)}")
    hello = methods.get(("/helloworld.Greeter/SayHello", "server"), {})
    check(hello.get("calls") == 3 and hello.get("errors") == {"DEADLINE_EXCEEDED": 1},
          f"SayHello aggregates (server): {hello}")
    hello_client = methods.get(("/helloworld.Greeter/SayHello", "client"), {})
    check(hello_client.get("calls") == 1, f"SayHello aggregates (client): {hello_client}")
    channel = [e for e in view["endpoints"] if e["kind"] == "channel"]
    check(channel and channel[0]["state"] == "IDLE" and channel[0]["history"] == 4,
          f"the channel's state change was applied: {channel}")
    check(len(view["loops"]) == 3, "three loops")
    # The fake serves no reflection: every service it names is reported as
    # not described (and why), and messages stay hex with that reason.
    failed = target.get("reflection_failures", {})
    check(set(failed) == {"helloworld.Greeter", "routeguide.RouteGuide"}
          and all("UNIMPLEMENTED" in why for why in failed.values()),
          f"no reflection: the services are reported not described: {failed}")
    check(target.get("services") == [], f"no services without reflection: {target.get('services')}")
    if 2 in calls:
        msgs = calls[2]["messages"]
        check(msgs and all("json" not in m and "UNIMPLEMENTED" in m["note"] for m in msgs),
              f"call 2's messages stay hex and say why: {msgs[:2]}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--inspector", required=True)
    ap.add_argument("--target", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--expect", choices=["fake", "any"], default="fake")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    png = os.path.join(args.out, "inspector.png")
    js = os.path.join(args.out, "inspector.json")
    for p in (png, js):
        if os.path.exists(p):
            os.remove(p)

    # No display and no --screenshot: a clear refusal, exit 2.
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    r = subprocess.run([args.inspector, "--target", args.target], env=env, capture_output=True, text=True,
                       timeout=20)
    check(r.returncode == 2 and "no display" in r.stderr, f"no display: exit 2 with a message (got {r.returncode})")

    cmd = ["xvfb-run", "-a", "-s", "-screen 0 1600x1200x24", args.inspector, "--target", args.target,
           "--screenshot", png, "--frames", "5", "--dump-json", js, "--width", str(WIDTH), "--height", str(HEIGHT)]
    r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=40)
    print(r.stdout, end="")
    print(r.stderr, end="", file=sys.stderr)
    check(r.returncode == 0, f"actio-inspector --screenshot exit 0 (got {r.returncode})")
    check_png(png)
    check_json(js, args.expect)
    print("inspector screenshot check:", "FAILED" if failures else "passed")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
