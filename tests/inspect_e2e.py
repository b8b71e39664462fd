#!/usr/bin/env python3
"""The inspector end to end, against the real service: the route_guide
sample server runs with inspection on (ACTIO_INSPECT), a grpc.aio client
drives calls through it and leaves a RouteChat stream open, and
actio-inspector renders frames under Xvfb to a PNG and dumps its model.

  inspect_e2e.py --server ROUTE_GUIDE_SERVER --inspector ACTIO_INSPECTOR --out DIR

Checks the PNG (1280x800, not one colour) and the model's view: the server's
calls by method, side and state (3 GetFeature done OK, 1 ListFeatures done
OK, 1 RouteChat still active with the note it got), the server endpoint and
its service, the loops.

The inspection port has a token (ACTIO_INSPECT_TOKEN), which the inspector
sends (--token) with every call, reflection's too; a grpc.aio client calling
reflection there by path is refused without it (UNAUTHENTICATED) and
answered with it.

Reflection (through the process's inspection port): the view lists
routeguide.RouteGuide with its four methods and their streaming flags, and
the RouteChat notes written while the inspector watched are decoded to JSON
with their text. A second picture shows the Services panel. Then
`actio-inspector --invoke` calls GetFeature and ListFeatures of the server
with JSON requests (the replies match what grpc.aio gets), and refuses bad
JSON, an unknown method and an unknown service, and reports a status
(nothing listening at --address), each with exit 1."""
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
TOKEN = "e2e-t0ken"
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
        services_png = os.path.join(args.out, "services.png")
        services_js = os.path.join(args.out, "services.json")
        for p in (png, js, services_png, services_js):
            if os.path.exists(p):
                os.remove(p)
        env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "ACTIO_INSPECT")}
        # The newest call (the RouteChat) on its Messages tab: the notes as JSON.
        proc = await asyncio.create_subprocess_exec(
            "xvfb-run", "-a", "-s", "-screen 0 1600x1200x24", args.inspector,
            "--target", f"127.0.0.1:{inspect_port}", "--token", TOKEN, "--screenshot", png, "--frames", "5",
            "--dump-json", js, "--width", "1280", "--height", "800", "--tab", "Messages", env=env)
        # Notes while it watches (the one before it attached has no event);
        # the first where "still here" was, so the server sends that one back.
        n = 0
        while proc.returncode is None:
            n += 1
            await chat.write(pb2.RouteNote(location=pb2.Point(latitude=1, longitude=n), message=f"note {n}"))
            try:
                await asyncio.wait_for(proc.wait(), timeout=0.1)
            except asyncio.TimeoutError:
                pass
            if n > 300:
                proc.kill()
                break
        rc = await asyncio.wait_for(proc.wait(), timeout=40)
        check(rc == 0, f"actio-inspector --screenshot exit 0 (got {rc})")
        # The Services panel: GetFeature picked and invoked from it.
        proc = await asyncio.create_subprocess_exec(
            "xvfb-run", "-a", "-s", "-screen 0 1600x1200x24", args.inspector,
            "--target", f"127.0.0.1:{inspect_port}", "--token", TOKEN, "--screenshot", services_png, "--frames", "5",
            "--width", "1280", "--height", "800", "--tab", "Services", "--dump-json", services_js,
            "--method", "/routeguide.RouteGuide/GetFeature",
            "--request", '{"latitude": 465000000, "longitude": 78000000}', env=env)
        rc = await asyncio.wait_for(proc.wait(), timeout=40)
        check(rc == 0, f"actio-inspector --screenshot --tab Services exit 0 (got {rc})")
        await chat.done_writing()
        async for _ in chat:
            pass
        # What --invoke must print (points of route_guide_db.json).
        expected = await stub.GetFeature(pb2.Point(latitude=465000000, longitude=78000000))
        listed = [f async for f in stub.ListFeatures(pb2.Rectangle(
            lo=pb2.Point(latitude=465000000, longitude=78000000), hi=pb2.Point(latitude=465150000, longitude=78500000)))]
    return png, js, (services_png, services_js), expected, listed


async def check_reflection_token(inspect_port):
    """grpc.aio calls the inspection port's reflection by path, with raw bytes
    (Debian's python3-grpcio has no grpc_reflection package)."""
    import grpc
    method = "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo"
    list_services = b"\x3a\x00"  # ServerReflectionRequest{list_services: ""} (field 7)
    async with grpc.aio.insecure_channel(f"127.0.0.1:{inspect_port}") as channel:
        info = channel.stream_stream(method)
        try:
            replies = [r async for r in info(iter([list_services]), timeout=10)]
            check(False, f"reflection without the token is refused (got {replies})")
        except grpc.aio.AioRpcError as e:
            check(e.code() == grpc.StatusCode.UNAUTHENTICATED,
                  f"reflection without the token: UNAUTHENTICATED (got {e.code()})")
        replies = [r async for r in info(iter([list_services]), timeout=10,
                                         metadata=(("authorization", f"Bearer {TOKEN}"),))]
        check(len(replies) == 1 and b"actio.inspect.v1.Inspector" in replies[0]
              and b"grpc.reflection.v1alpha.ServerReflection" in replies[0],
              f"reflection with the token lists the inspection server's services: {replies}")


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
        seen = len([m for m in chats[0]["messages"] if m["dir"] == "in"])
        check(chats[0]["messages_in"] >= seen + 1,
              f"RouteChat counts its notes, the one before the inspector attached too: {chats[0]['messages_in']}")
    servers = [e for e in view["endpoints"] if e["kind"] == "server"]
    check(len(servers) == 1 and servers[0]["state"] == "running", f"the server endpoint: {servers}")
    check(len(view["loops"]) >= 2, f"loops: {len(view['loops'])}")

    # Reflection: the service and its methods, the notes as JSON.
    services = {s["name"]: s for s in target.get("services", [])}
    check("routeguide.RouteGuide" in services,
          f"reflection named routeguide.RouteGuide: {list(services)} {target.get('reflection_failures')}")
    if "routeguide.RouteGuide" in services:
        methods = {m["name"]: (m["client_streaming"], m["server_streaming"], m["input_type"], m["output_type"])
                   for m in services["routeguide.RouteGuide"]["methods"]}
        check(methods == {
            "GetFeature": (False, False, "routeguide.Point", "routeguide.Feature"),
            "ListFeatures": (False, True, "routeguide.Rectangle", "routeguide.Feature"),
            "RecordRoute": (True, False, "routeguide.Point", "routeguide.RouteSummary"),
            "RouteChat": (True, True, "routeguide.RouteNote", "routeguide.RouteNote"),
        }, f"the four methods with their types and streaming: {methods}")
    if chats:
        notes = [m for m in chats[0]["messages"] if m["dir"] == "in"]
        decoded = [m["json"] for m in notes if "json" in m]
        print("RouteChat notes seen:", len(notes), "decoded:", decoded[:3], flush=True)
        check(len(notes) >= 1 and len(decoded) == len(notes),
              f"every RouteChat note seen is decoded to JSON: {notes[:3]}")
        check(all(m["request"] and m["type"] == "routeguide.RouteNote" for m in notes), "notes are RouteNote requests")
        check(any(isinstance(d, dict) and str(d.get("message", "")).startswith("note ")
                  and d.get("location", {}).get("latitude") == 1 for d in decoded),
              f"a note's text and location in its JSON: {decoded[:3]}")
    got_features = [c for c in server_calls if c["method"].endswith("/GetFeature")]
    check(all(m.get("json") is None for c in got_features for m in c["messages"]),
          "calls done before the inspector attached have no message events")


def check_panel_invocation(js, expected):
    """The Services panel's Invoke (--screenshot --method M --request J)."""
    if not os.path.isfile(js):
        check(False, f"{js} was written")
        return
    with open(js) as f:
        invocations = json.load(f)["invocations"]
    print("panel invocations:", invocations, flush=True)
    check(len(invocations) == 1, f"one invocation from the panel: {invocations}")
    if invocations:
        inv = invocations[0]
        replies = inv["replies"]
        check(inv["done"] and inv["code"] == "OK" and inv["method"] == "/routeguide.RouteGuide/GetFeature"
              and len(replies) == 1 and replies[0].get("json", {}).get("name") == expected.name,
              f"the panel's GetFeature answered OK with the feature ({expected.name!r}): {inv}")


def run_invoke(args, inspect_port, *extra):
    cmd = [args.inspector, "--target", f"127.0.0.1:{inspect_port}", "--token", TOKEN, *extra]
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "ACTIO_INSPECT")}
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=30, env=env)
    print("$", " ".join(cmd[1:]), "->", r.returncode, "| stdout:", r.stdout.strip()[:300], "| stderr:",
          r.stderr.strip()[:300], flush=True)
    return r


def json_documents(text):
    out, decoder, i = [], json.JSONDecoder(), 0
    while True:
        while i < len(text) and text[i].isspace():
            i += 1
        if i >= len(text):
            return out
        doc, i = decoder.raw_decode(text, i)
        out.append(doc)


def check_invoke(args, inspect_port, expected, listed):
    r = run_invoke(args, inspect_port, "--invoke", "/routeguide.RouteGuide/GetFeature",
                   "--request", '{"latitude": 465000000, "longitude": 78000000}')
    check(r.returncode == 0, f"--invoke GetFeature exits 0 (got {r.returncode})")
    try:
        docs = json_documents(r.stdout)
    except ValueError as e:
        docs = []
        check(False, f"--invoke prints JSON: {e}")
    check(len(docs) == 1 and docs[0].get("name") == expected.name and expected.name,
          f"GetFeature's reply names the feature ({expected.name!r}): {docs}")

    r = run_invoke(args, inspect_port, "--invoke", "/routeguide.RouteGuide/ListFeatures", "--request",
                   '{"lo": {"latitude": 465000000, "longitude": 78000000},'
                   ' "hi": {"latitude": 465150000, "longitude": 78500000}}')
    check(r.returncode == 0, f"--invoke ListFeatures (server streaming) exits 0 (got {r.returncode})")
    try:
        names = [d.get("name") for d in json_documents(r.stdout)]
    except ValueError:
        names = None
    check(names == [f.name for f in listed] and len(listed) > 1,
          f"ListFeatures prints each reply ({len(listed)} features): {names and names[:3]}")

    r = run_invoke(args, inspect_port, "--invoke", "/routeguide.RouteGuide/GetFeature", "--request", '{"latitude": ')
    check(r.returncode == 1 and "not a valid routeguide.Point in JSON" in r.stderr,
          f"bad JSON: exit 1 and says so ({r.returncode}, {r.stderr.strip()})")
    r = run_invoke(args, inspect_port, "--invoke", "/routeguide.RouteGuide/GetFeature", "--request", '{"altitude": 3}')
    check(r.returncode == 1 and "not a valid routeguide.Point" in r.stderr,
          f"an unknown field: exit 1 ({r.returncode}, {r.stderr.strip()})")
    r = run_invoke(args, inspect_port, "--invoke", "/routeguide.RouteGuide/Nope")
    check(r.returncode == 1 and "routeguide.RouteGuide has no method Nope" in r.stderr,
          f"unknown method: exit 1 and says so ({r.returncode}, {r.stderr.strip()})")
    r = run_invoke(args, inspect_port, "--invoke", "/nope.Nothing/Do")
    check(r.returncode == 1 and "cannot describe nope.Nothing" in r.stderr,
          f"unknown service: exit 1 and says so ({r.returncode}, {r.stderr.strip()})")
    r = run_invoke(args, inspect_port, "--invoke", "/routeguide.RouteGuide/RouteChat")
    check(r.returncode == 1 and "client-streaming" in r.stderr,
          f"a bidi method is refused: exit 1 ({r.returncode}, {r.stderr.strip()})")
    # Metadata goes with an invocation: the inspection port itself wants its
    # token, and --invoke does not send the inspector's own token to a server.
    snapshot = ["--invoke", "/actio.inspect.v1.Inspector/Snapshot", "--request", '{"skip_calls": true}',
                "--address", f"127.0.0.1:{inspect_port}"]
    r = run_invoke(args, inspect_port, *snapshot)
    check(r.returncode == 1 and "UNAUTHENTICATED" in r.stderr,
          f"--invoke without metadata: the server's UNAUTHENTICATED, exit 1 ({r.returncode}, {r.stderr.strip()})")
    r = run_invoke(args, inspect_port, *snapshot, "--metadata", f"authorization=Bearer {TOKEN}")
    try:
        reply = json.loads(r.stdout) if r.returncode == 0 else {}
    except ValueError:
        reply = {}
    check(r.returncode == 0 and reply.get("pid", 0) > 0 and not reply.get("liveCalls"),
          f"--invoke with --metadata authorization: the snapshot, without calls ({r.returncode}, {r.stdout[:200]})")
    r = run_invoke(args, inspect_port, *snapshot, "--metadata", "Bad Key=x")
    check(r.returncode == 1 and "invalid metadata key" in r.stderr,
          f"--metadata with a bad key: a clear error, exit 1 ({r.returncode}, {r.stderr.strip()})")
    r = run_invoke(args, inspect_port, *snapshot, "--metadata", "novalue")
    check(r.returncode == 1 and "KEY=VALUE" in r.stderr,
          f"--metadata without '=': a clear error, exit 1 ({r.returncode}, {r.stderr.strip()})")
    r = run_invoke(args, inspect_port, "--invoke", "/routeguide.RouteGuide/GetFeature", "--address",
                   f"127.0.0.1:{free_port()}", "--timeout", "2")
    check(r.returncode == 1 and "UNAVAILABLE" in r.stderr,
          f"nothing listening: the status, exit 1 ({r.returncode}, {r.stderr.strip()})")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--server", required=True)
    ap.add_argument("--inspector", required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    pb2, pb2_grpc = stubs.load_stubs(PROTO)
    port, inspect_port = free_port(), free_port()
    env = dict(os.environ, ACTIO_INSPECT=f"127.0.0.1:{inspect_port}", ACTIO_INSPECT_TOKEN=TOKEN)
    server = subprocess.Popen([args.server, "--port", str(port)], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    try:
        for line in server.stdout:
            print("server:", line, end="", flush=True)
            if re.search(r"listening on 127\.0\.0\.1:\d+", line):
                break
        png, js, (services_png, services_js), expected, listed = asyncio.run(
            drive_and_inspect(args, port, inspect_port, pb2, pb2_grpc))
        check_screenshot.failures = failures
        check_screenshot.check_png(png)
        check_screenshot.check_png(services_png)
        check_panel_invocation(services_js, expected)
        if os.path.isfile(js):
            check_view(js)
        else:
            check(False, f"{js} was written")
        check_invoke(args, inspect_port, expected, listed)
        asyncio.run(check_reflection_token(inspect_port))
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
