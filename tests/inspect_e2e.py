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
(nothing listening at --address), each with exit 1. Client streaming and
bidi: --invoke of RecordRoute and RouteChat with several --request (the
summary and the notes grpc.aio gets), and the Services panel invoking
RouteChat with a list of notes.

TLS (with --tls-server, the tls sample server: the Greeter on a TLS and a
mutual-TLS port, certificates made by openssl when it starts): the process
reports both ports as TLS; --invoke over TLS (--tls-ca, --authority), over
mutual TLS (--tls-cert, --tls-key), and from the Services panel; a port the
process says is secure is called over TLS even without --tls-ca; a wrong CA
(another throwaway CA, made here), a missing --authority and a missing
client certificate end in UNAVAILABLE with what to check, a missing file in
a clear error."""
import argparse
import asyncio
import json
import os
import re
import signal
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "interop", "python"))
sys.path.insert(0, os.path.join(HERE, "..", "ui", "app"))
import stubs  # noqa: E402
from e2e_util import failures, check, free_port, no_display_env  # noqa: E402
import check_screenshot  # noqa: E402  (png_pixels, check_png)

PROTO = os.path.join(HERE, "..", "samples", "route_guide", "route_guide.proto")
TOKEN = "e2e-t0ken"
# RecordRoute's points (two of them features of route_guide_db.json) and
# RouteChat's notes (the third and fourth at the first one's point).
ROUTE = [(409146138, -746188906), (0, 0), (413628156, -749015468)]
NOTES = [("First", 0, 1), ("Second", 0, 2), ("Third", 0, 1), ("Fourth", 0, 1)]




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
        env = no_display_env()
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
        recorded = await stub.RecordRoute(iter([pb2.Point(latitude=lat, longitude=lon) for lat, lon in ROUTE]))
        chatted = [n async for n in stub.RouteChat(iter([pb2.RouteNote(
            location=pb2.Point(latitude=lat, longitude=lon), message=text) for text, lat, lon in NOTES]))]
    return png, js, (services_png, services_js), expected, listed, (recorded, chatted)


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


def run_invoke(args, inspect_port, *extra, token=TOKEN):
    """actio-inspector --target the process [--token] EXTRA..., headless; prints what it said."""
    cmd = [args.inspector, "--target", f"127.0.0.1:{inspect_port}", *(["--token", token] if token else []), *extra]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=30, env=no_display_env())
    print("$", " ".join(cmd[1:]), "->", r.returncode, "| stdout:", r.stdout.strip()[:300], "| stderr:",
          r.stderr.strip()[:400], flush=True)
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
    r = run_invoke(args, inspect_port, "--invoke", "/routeguide.RouteGuide/GetFeature", "--request", "{}",
                   "--request", "{}")
    check(r.returncode == 1 and "takes one request, not 2" in r.stderr,
          f"several requests for a unary method: exit 1 ({r.returncode}, {r.stderr.strip()})")
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


def check_streaming_invoke(args, inspect_port, streams):
    """--invoke of a client-streaming and a bidi method with several --request."""
    recorded, chatted = streams
    points = [a for lat, lon in ROUTE for a in ("--request", json.dumps({"latitude": lat, "longitude": lon}))]
    r = run_invoke(args, inspect_port, "--invoke", "/routeguide.RouteGuide/RecordRoute", *points)
    check(r.returncode == 0, f"--invoke RecordRoute (client streaming) exits 0 (got {r.returncode})")
    try:
        docs = json_documents(r.stdout)
    except ValueError:
        docs = []
    got = [(d.get("point_count"), d.get("feature_count"), d.get("distance")) for d in docs]
    want = (recorded.point_count, recorded.feature_count, recorded.distance)
    check(got == [want] and want[0] == 3,
          f"RecordRoute's summary of the 3 points as grpc.aio gets it ({want}): {got}")
    # One request (the single-request form) to a client-streaming method.
    r = run_invoke(args, inspect_port, "--invoke", "/routeguide.RouteGuide/RecordRoute",
                   "--request", '{"latitude": 409146138, "longitude": -746188906}')
    try:
        docs = json_documents(r.stdout)
    except ValueError:
        docs = []
    check(r.returncode == 0 and [d.get("point_count") for d in docs] == [1],
          f"RecordRoute with one --request: one point ({r.returncode}, {docs})")

    notes = [a for text, lat, lon in NOTES
             for a in ("--request", json.dumps({"location": {"latitude": lat, "longitude": lon}, "message": text}))]
    r = run_invoke(args, inspect_port, "--invoke", "/routeguide.RouteGuide/RouteChat", *notes)
    check(r.returncode == 0, f"--invoke RouteChat (bidi) exits 0 (got {r.returncode})")
    try:
        docs = json_documents(r.stdout)
    except ValueError:
        docs = []
    got = [(d.get("message"), d.get("location", {}).get("longitude")) for d in docs]
    want = [(n.message, n.location.longitude) for n in chatted]
    check(got == want and len(want) == 3,
          f"RouteChat prints every reply in order, as grpc.aio gets them ({want}): {got}")
    check("actio-inspector: OK (4 of 4 requests sent)" in r.stderr,
          f"then the status, and the requests sent: {r.stderr.strip()}")
    r = run_invoke(args, inspect_port, "--invoke", "/routeguide.RouteGuide/RouteChat", "--request", "{}",
                   "--request", '{"mesage": "typo"}')
    check(r.returncode == 1 and "request 2: " in r.stderr and "not a valid routeguide.RouteNote" in r.stderr,
          f"a bad second request: exit 1, says which ({r.returncode}, {r.stderr.strip()})")


def check_panel_stream(args, inspect_port, streams):
    """The Services panel invoking RouteChat with a list of notes."""
    _, chatted = streams
    png = os.path.join(args.out, "services_chat.png")
    js = os.path.join(args.out, "services_chat.json")
    notes = [a for text, lat, lon in NOTES
             for a in ("--request", json.dumps({"location": {"latitude": lat, "longitude": lon}, "message": text}))]
    env = no_display_env()
    r = subprocess.run(["xvfb-run", "-a", "-s", "-screen 0 1600x1200x24", args.inspector,
                        "--target", f"127.0.0.1:{inspect_port}", "--token", TOKEN, "--screenshot", png,
                        "--frames", "5", "--width", "1280", "--height", "800", "--tab", "Services",
                        "--dump-json", js, "--method", "/routeguide.RouteGuide/RouteChat", *notes],
                       capture_output=True, text=True, timeout=60, env=env)
    check(r.returncode == 0, f"actio-inspector --tab Services --method RouteChat exit 0 ({r.returncode}, {r.stderr})")
    if not os.path.isfile(js):
        check(False, f"{js} was written")
        return
    check_screenshot.check_png(png)
    with open(js) as f:
        invocations = json.load(f)["invocations"]
    print("panel RouteChat:", invocations, flush=True)
    inv = invocations[0] if len(invocations) == 1 else {}
    got = [(x.get("json", {}).get("message"), x.get("json", {}).get("location", {}).get("longitude"))
           for x in inv.get("replies", [])]
    want = [(n.message, n.location.longitude) for n in chatted]
    check(inv.get("done") and inv.get("code") == "OK" and inv.get("requests") == 4 and inv.get("sent") == 4
          and got == want, f"the panel's RouteChat: 4 notes sent, the replies {want}: {inv}")


def start_tls_server(path, inspect_port):
    """The tls sample with inspection on: (process, TLS port, mTLS port, certs dir)."""
    env = dict(os.environ, ACTIO_INSPECT=f"127.0.0.1:{inspect_port}")
    env.pop("ACTIO_INSPECT_TOKEN", None)
    proc = subprocess.Popen([path, "--port", "0"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    tls_port = mtls_port = certs = None
    for line in proc.stdout:  # three lines, then it serves
        print("tls server:", line, end="", flush=True)
        if m := re.search(r"mutual TLS on 127\.0\.0\.1:(\d+)", line):
            mtls_port = int(m.group(1))
        if m := re.search(r"certs in (\S+)", line):
            certs = m.group(1)
        if m := re.search(r"listening on 127\.0\.0\.1:(\d+)", line):
            tls_port = int(m.group(1))
            break
    return proc, tls_port, mtls_port, certs


def check_tls(args):
    inspect_port = free_port()
    proc, tls_port, mtls_port, certs = start_tls_server(args.tls_server, inspect_port)
    tmp = os.path.join(args.out, "other_ca")
    os.makedirs(tmp, exist_ok=True)
    try:
        check(tls_port and mtls_port and certs, f"the tls server started ({tls_port}, {mtls_port}, {certs})")
        if not (tls_port and mtls_port and certs):
            return
        # Another CA (throwaway, made here): not the one that signed the server's certificate.
        other_ca = os.path.join(tmp, "other_ca.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
                        os.path.join(tmp, "other_ca.key"), "-out", other_ca, "-days", "1", "-subj", "/CN=Other CA"],
                       check=True, capture_output=True, timeout=60)
        ca, cert, key = (os.path.join(certs, n) for n in ("ca.pem", "client.pem", "client.key"))
        name = "greeter.actio.test"  # the server certificate's name (not 127.0.0.1)
        hello = ["--invoke", "/helloworld.Greeter/SayHello", "--request", '{"name": "inspector"}',
                 "--metadata", "authorization=Bearer sample-oauth2-token"]

        def invoke(*extra):  # the tls sample serves no inspector token
            return run_invoke(args, inspect_port, *hello, "--timeout", "5", *extra, token=None)

        def message(r):
            try:
                docs = json_documents(r.stdout)
            except ValueError:
                return None
            return docs[0].get("message") if len(docs) == 1 else None

        # TLS: the process's TLS port (its first), the CA, the certificate's name.
        dump = os.path.join(args.out, "tls_invoke.json")
        r = invoke("--tls-ca", ca, "--authority", name, "--dump-json", dump)
        check(r.returncode == 0 and message(r) == "Hello, inspector! (over ssl; no client certificate)",
              f"--invoke over TLS answers ({r.returncode}, {r.stdout.strip()}, {r.stderr.strip()})")
        if os.path.isfile(dump):
            with open(dump) as f:
                view = json.load(f)
            servers = [e for e in view["endpoints"] if e["kind"] == "server" and f":{tls_port}" in e["address"]]
            check(len(servers) == 1 and sorted(servers[0]["tls_addresses"]) ==
                  sorted([f"127.0.0.1:{tls_port}", f"127.0.0.1:{mtls_port}"]),
                  f"the process reports both ports as TLS: {servers}")
            invs = view["invocations"]
            check(len(invs) == 1 and invs[0]["tls"] and invs[0]["address"] == f"127.0.0.1:{tls_port}",
                  f"the invocation went over TLS to the TLS port: {invs}")
        else:
            check(False, f"{dump} was written")
        # Mutual TLS: the client's certificate too.
        r = invoke("--address", f"127.0.0.1:{mtls_port}", "--tls-ca", ca, "--tls-cert", cert, "--tls-key", key,
                   "--authority", name)
        check(r.returncode == 0 and message(r) == "Hello, inspector! (over ssl; client certificate: actio-client)",
              f"--invoke over mutual TLS answers ({r.returncode}, {r.stdout.strip()}, {r.stderr.strip()})")
        # The port is TLS (the process says so) even without --tls-ca: the system's roots do not know this CA.
        r = invoke("--authority", name)
        check(r.returncode == 1 and "UNAVAILABLE" in r.stderr and f"over TLS to 127.0.0.1:{tls_port}" in r.stderr
              and "roots: the system's" in r.stderr,
              f"a TLS port without --tls-ca: TLS with the system's roots, UNAVAILABLE ({r.returncode}, {r.stderr})")
        # Wrong CA: a clear UNAVAILABLE.
        r = invoke("--tls-ca", other_ca, "--authority", name)
        check(r.returncode == 1 and "UNAVAILABLE" in r.stderr and f"roots: {other_ca}" in r.stderr
              and "check that the CA signed the server's certificate" in r.stderr,
              f"the wrong CA: UNAVAILABLE, saying what to check ({r.returncode}, {r.stderr.strip()})")
        # The certificate is for greeter.actio.test, not 127.0.0.1.
        r = invoke("--tls-ca", ca)
        check(r.returncode == 1 and "UNAVAILABLE" in r.stderr,
              f"without --authority the name does not match: UNAVAILABLE ({r.returncode}, {r.stderr.strip()})")
        # Mutual TLS without a client certificate.
        r = invoke("--address", f"127.0.0.1:{mtls_port}", "--tls-ca", ca, "--authority", name)
        check(r.returncode == 1 and "UNAVAILABLE" in r.stderr and "no client certificate" in r.stderr,
              f"mutual TLS without a certificate: UNAVAILABLE ({r.returncode}, {r.stderr.strip()})")
        # Files that cannot be used.
        r = invoke("--tls-ca", os.path.join(tmp, "missing.pem"), "--authority", name)
        check(r.returncode == 1 and "cannot read the CA" in r.stderr and "missing.pem" in r.stderr,
              f"a missing CA file: a clear error ({r.returncode}, {r.stderr.strip()})")
        r = invoke("--tls-ca", ca, "--tls-cert", cert, "--authority", name, "--address", f"127.0.0.1:{mtls_port}")
        check(r.returncode == 1 and "mutual TLS needs both" in r.stderr,
              f"--tls-cert without --tls-key: a clear error ({r.returncode}, {r.stderr.strip()})")
        r = invoke("--tls-ca", key, "--authority", name)
        check(r.returncode == 1 and "is not a PEM certificate" in r.stderr,
              f"a key given as the CA: a clear error ({r.returncode}, {r.stderr.strip()})")

        # The Services panel: the TLS fields filled from the command line.
        png = os.path.join(args.out, "services_tls.png")
        js = os.path.join(args.out, "services_tls.json")
        env = no_display_env()
        r = subprocess.run(["xvfb-run", "-a", "-s", "-screen 0 1600x1200x24", args.inspector,
                            "--target", f"127.0.0.1:{inspect_port}", "--screenshot", png, "--frames", "5",
                            "--width", "1280", "--height", "800", "--tab", "Services", "--dump-json", js,
                            "--method", "/helloworld.Greeter/SayHello", "--request", '{"name": "panel"}',
                            "--metadata", "authorization=Bearer sample-oauth2-token",
                            "--tls-ca", ca, "--authority", name], capture_output=True, text=True, timeout=60, env=env)
        check(r.returncode == 0, f"the Services panel over TLS: exit 0 ({r.returncode}, {r.stderr})")
        if os.path.isfile(js):
            check_screenshot.check_png(png)
            with open(js) as f:
                invs = json.load(f)["invocations"]
            replies = invs[0]["replies"] if len(invs) == 1 else []
            check(len(invs) == 1 and invs[0]["tls"] and invs[0]["code"] == "OK" and len(replies) == 1
                  and replies[0].get("json", {}).get("message") == "Hello, panel! (over ssl; no client certificate)",
                  f"the panel's invocation over TLS: {invs}")
        else:
            check(False, f"{js} was written")
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
        check(proc.returncode == 0, f"the tls server exits 0 on SIGTERM (got {proc.returncode})")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--server", required=True)
    ap.add_argument("--inspector", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--tls-server", help="the tls sample server (TLS and mutual-TLS invocations)")
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
        png, js, (services_png, services_js), expected, listed, streams = asyncio.run(
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
        check_streaming_invoke(args, inspect_port, streams)
        check_panel_stream(args, inspect_port, streams)
        asyncio.run(check_reflection_token(inspect_port))
    finally:
        server.send_signal(signal.SIGTERM)
        out, err = server.communicate(timeout=15)
        print("server:", out, end="")
        print("server stderr:", err, end="")
        check(server.returncode == 0, f"the server exits 0 on SIGTERM (got {server.returncode})")
        check("inspection on 127.0.0.1:%d" % inspect_port in err, "the server said where inspection is served")
    if args.tls_server:
        check_tls(args)
    else:
        print("inspector e2e: no --tls-server, TLS not checked", flush=True)
    print("inspector e2e:", "FAILED" if failures else "passed")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
