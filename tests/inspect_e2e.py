#!/usr/bin/env python3
"""The inspector end to end, against the real service: the route_guide
sample server runs with inspection on (ACTIO_INSPECT), a grpc.aio client
drives calls through it and leaves a RouteChat stream open, and
actio-inspector renders frames under Xvfb to a PNG and dumps its model.

  inspect_e2e.py --server ROUTE_GUIDE_SERVER --inspector ACTIO_INSPECTOR --out DIR

Checks the PNG (1280x800, not one colour) and the model's view: the server's
calls by method, side and state (3 GetFeature done OK, 1 ListFeatures done
OK, 1 RouteChat still active with the note it got), the server endpoint and
its service, the loops."""
import argparse
import asyncio
import json
import os
import re
import signal
import socket
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "interop", "python"))
sys.path.insert(0, os.path.join(HERE, "..", "ui", "app"))
import stubs  # noqa: E402
import check_screenshot  # noqa: E402  (png_pixels, check_png)

PROTO = os.path.join(HERE, "..", "samples", "route_guide", "route_guide.proto")
failures = []


def check(ok, what):
    if not ok:
        failures.append(what)
        print("FAIL:", what, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def drive_and_inspect(args, port, inspect_port, pb2, pb2_grpc):
    import grpc
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = pb2_grpc.RouteGuideStub(channel)
        for lat in (409146138, 413628156, 0):
            await stub.GetFeature(pb2.Point(latitude=lat, longitude=-746188906))
        rect = pb2.Rectangle(lo=pb2.Point(latitude=400000000, longitude=-750000000),
                             hi=pb2.Point(latitude=420000000, longitude=-730000000))
        async for _ in stub.ListFeatures(rect):
            pass
        chat = stub.RouteChat()  # left open: the inspector must see it live
        await chat.write(pb2.RouteNote(location=pb2.Point(latitude=1, longitude=1), message="still here"))
        await asyncio.sleep(0.2)

        png = os.path.join(args.out, "inspector.png")
        js = os.path.join(args.out, "inspector.json")
        for p in (png, js):
            if os.path.exists(p):
                os.remove(p)
        env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "ACTIO_INSPECT")}
        proc = await asyncio.create_subprocess_exec(
            "xvfb-run", "-a", "-s", "-screen 0 1600x1200x24", args.inspector,
            "--target", f"127.0.0.1:{inspect_port}", "--screenshot", png, "--frames", "5",
            "--dump-json", js, "--width", "1280", "--height", "800", env=env)
        rc = await asyncio.wait_for(proc.wait(), timeout=40)
        check(rc == 0, f"actio-inspector --screenshot exit 0 (got {rc})")
        await chat.done_writing()
        async for _ in chat:
            pass
    return png, js


def check_view(js):
    with open(js) as f:
        view = json.load(f)
    target = view["targets"][0]
    check(target["connection"] == "attached", f"attached ({target['connection']})")
    server_calls = [c for c in view["calls"] if c["side"] == "server"]
    by = {}
    for c in server_calls:
        by.setdefault((c["method"].rsplit("/", 1)[-1], c["state"], c["code"]), 0)
        by[(c["method"].rsplit("/", 1)[-1], c["state"], c["code"])] += 1
    print("server calls seen:", by, flush=True)
    check(by.get(("GetFeature", "done", "OK")) == 3, "3 GetFeature calls done OK")
    check(by.get(("ListFeatures", "done", "OK")) == 1, "1 ListFeatures call done OK")
    chats = [c for c in server_calls if c["method"].endswith("/RouteChat")]
    check(len(chats) == 1 and chats[0]["state"] == "active", f"RouteChat live on the server: {chats}")
    if chats:
        check(chats[0]["messages_in"] == 1, f"RouteChat got its note: {chats[0]['messages_in']}")
    servers = [e for e in view["endpoints"] if e["kind"] == "server"]
    check(len(servers) == 1 and servers[0]["state"] == "running", f"the server endpoint: {servers}")
    check(len(view["loops"]) >= 2, f"loops: {len(view['loops'])}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--server", required=True)
    ap.add_argument("--inspector", required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    pb2, pb2_grpc = stubs.load_stubs(PROTO)
    port, inspect_port = free_port(), free_port()
    env = dict(os.environ, ACTIO_INSPECT=f"127.0.0.1:{inspect_port}")
    server = subprocess.Popen([args.server, "--port", str(port)], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    try:
        for line in server.stdout:
            print("server:", line, end="", flush=True)
            if re.search(r"listening on 127\.0\.0\.1:\d+", line):
                break
        png, js = asyncio.run(drive_and_inspect(args, port, inspect_port, pb2, pb2_grpc))
        check_screenshot.failures = failures
        check_screenshot.check_png(png)
        if os.path.isfile(js):
            check_view(js)
        else:
            check(False, f"{js} was written")
    finally:
        server.send_signal(signal.SIGTERM)
        out, err = server.communicate(timeout=15)
        print("server:", out, end="")
        print("server stderr:", err, end="")
        check(server.returncode == 0, f"the server exits 0 on SIGTERM (got {server.returncode})")
        check("inspection on 127.0.0.1:%d" % inspect_port in err, "the server said where inspection is served")
    print("inspector e2e:", "FAILED" if failures else "passed")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
