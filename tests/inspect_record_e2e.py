#!/usr/bin/env python3
"""actio-inspector records a live process and replays the recording.

  inspect_record_e2e.py --server ROUTE_GUIDE_SERVER --inspector ACTIO_INSPECTOR --out DIR

The route_guide sample server runs with inspection on (ACTIO_INSPECT).
actio-inspector runs on its own Xvfb display (the interactive mode) with
`--record FILE --dump-json live.json` while a grpc.aio client drives calls
(3 GetFeature, 1 ListFeatures, a RouteChat cancelled by the client, a
RouteChat left open with notes written while the inspector watches); then
it is stopped with SIGTERM.

The recording is replayed without any live target: headless with
`--replay-speed 0 --dump-json --export`, at the recorded pace, and under
xvfb-run with `--screenshot`. Each replayed model must hold the calls the
live run saw (count, ids, methods, sides, states, codes, message counts),
the notes decoded to JSON (reflection's answers are recorded too), and the
export must hold the calls its --filter shows with their timelines.

Then the bad cases: a missing file, a truncated one, one that is not a
recording, another format version: exit 1 with a clear message each, never
a crash. And the size cap: --record-max-mb that a snapshot fills stops the
recording with a message, and what was written still replays."""
import argparse
import asyncio
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "interop", "python"))
sys.path.insert(0, os.path.join(HERE, "..", "ui", "app"))
import stubs  # noqa: E402
from e2e_util import failures, check, free_port, no_display_env, stop  # noqa: E402
import check_screenshot  # noqa: E402  (png_pixels, check_png)

PROTO = os.path.join(HERE, "..", "samples", "route_guide", "route_guide.proto")


def start_xvfb():
    read_fd, write_fd = os.pipe()
    xvfb = subprocess.Popen(["Xvfb", "-displayfd", str(write_fd), "-screen", "0", "1280x1024x24", "-nolisten", "tcp"],
                            pass_fds=(write_fd,), stderr=subprocess.DEVNULL)
    os.close(write_fd)
    display = b""
    deadline = time.monotonic() + 20
    while not display.endswith(b"\n") and time.monotonic() < deadline:
        chunk = os.read(read_fd, 32)
        if not chunk:
            break
        display += chunk
    os.close(read_fd)
    return xvfb, display.decode().strip()


class Lines:
    """Collects a pipe's lines on a thread; wait_for() a pattern with a bound."""

    def __init__(self, pipe, name):
        self.lines, self.name = [], name
        self.cond = threading.Condition()
        threading.Thread(target=self._read, args=(pipe,), daemon=True).start()

    def _read(self, pipe):
        for line in pipe:
            print(f"{self.name}: {line}", end="", flush=True)
            with self.cond:
                self.lines.append(line)
                self.cond.notify_all()

    def wait_for(self, pattern, timeout):
        end = time.monotonic() + timeout
        with self.cond:
            while True:
                if any(re.search(pattern, l) for l in self.lines):
                    return True
                left = end - time.monotonic()
                if left <= 0:
                    return False
                self.cond.wait(left)

    def text(self):
        with self.cond:
            return "".join(self.lines)


async def drive(port, pb2, pb2_grpc, inspector_lines):
    """Calls while the inspector records; returns the open RouteChat's channel and call to close later."""
    import grpc
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
    stub = pb2_grpc.RouteGuideStub(channel)
    for lat in (409146138, 413628156, 0):
        await stub.GetFeature(pb2.Point(latitude=lat, longitude=-746188906))
    rect = pb2.Rectangle(lo=pb2.Point(latitude=400000000, longitude=-750000000),
                         hi=pb2.Point(latitude=420000000, longitude=-730000000))
    async for _ in stub.ListFeatures(rect):
        pass
    cancelled = stub.RouteChat()
    await cancelled.write(pb2.RouteNote(location=pb2.Point(latitude=2, longitude=2), message="cancel me"))
    await asyncio.sleep(0.1)
    cancelled.cancel()
    chat = stub.RouteChat()  # left open: live in the recording
    for n in range(1, 6):
        await chat.write(pb2.RouteNote(location=pb2.Point(latitude=1, longitude=n), message=f"note {n}"))
        await asyncio.sleep(0.05)
    await asyncio.sleep(1.0)  # the events reach the inspector (and a refresh or two)
    return channel, chat


def calls_of(view):
    return {(c["target"], c["id"]): (c["method"], c["side"], c["state"], c["code"], c["messages_in"],
                                     c["messages_out"]) for c in view["calls"]}


def summary(view):
    by = {}
    for c in view["calls"]:
        if c["side"] != "server":
            continue
        k = (c["method"].rsplit("/", 1)[-1], c["state"], c["code"])
        by[k] = by.get(k, 0) + 1
    return by


def check_replayed(view, live, what):
    """A replayed model against the live one."""
    check(view["counts"] == live["counts"], f"{what}: the counts of the live run {live['counts']} (got {view['counts']})")
    got, want = calls_of(view), calls_of(live)
    check(got == want, f"{what}: the live run's calls, with their methods, sides, states, codes and messages"
                       f" (missing {sorted(set(want) - set(got))}, extra {sorted(set(got) - set(want))},"
                       f" differing {[k for k in want if k in got and got[k] != want[k]][:3]})")
    by = summary(view)
    print(f"{what}: server calls", by, flush=True)
    check(by.get(("GetFeature", "done", "OK")) == 3, f"{what}: 3 GetFeature calls done OK")
    check(by.get(("ListFeatures", "done", "OK")) == 1, f"{what}: 1 ListFeatures call done OK")
    check(by.get(("RouteChat", "done", "CANCELLED")) == 1, f"{what}: 1 RouteChat cancelled")
    check(by.get(("RouteChat", "active", None)) == 1, f"{what}: 1 RouteChat still active")
    target = view["targets"][0]
    check(target["sessions"] == live["targets"][0]["sessions"] and target["pid"] == live["targets"][0]["pid"],
          f"{what}: the live run's process and sessions ({target['pid']}, {target['sessions']})")
    services = {s["name"] for s in target.get("services", [])}
    check("routeguide.RouteGuide" in services, f"{what}: reflection's answer was recorded ({services})")
    chats = [c for c in view["calls"] if c["side"] == "server" and c["method"].endswith("/RouteChat")
             and c["state"] == "active"]
    decoded = [m["json"] for c in chats for m in c["messages"] if m["dir"] == "in" and "json" in m]
    check(any(isinstance(d, dict) and d.get("message") == "note 3" for d in decoded),
          f"{what}: the open RouteChat's notes as JSON ({decoded[:3]})")


def run(cmd, env=None, timeout=60, cwd=None):
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env or no_display_env(), cwd=cwd)
    print("$", " ".join(os.path.basename(c) if i == 0 else c for i, c in enumerate(cmd)), "->", r.returncode,
          "| stdout:", r.stdout.strip()[:300], "| stderr:", r.stderr.strip()[:400], flush=True)
    return r


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--server", required=True)
    ap.add_argument("--inspector", required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    out = lambda name: os.path.join(args.out, name)  # noqa: E731
    for name in os.listdir(args.out):
        shutil.rmtree(out(name)) if os.path.isdir(out(name)) else os.remove(out(name))
    rec, live_js = out("live.actiorec"), out("live.json")
    pb2, pb2_grpc = stubs.load_stubs(PROTO)
    port, inspect_port = free_port(), free_port()
    env = dict(os.environ, ACTIO_INSPECT=f"127.0.0.1:{inspect_port}")
    env.pop("ACTIO_INSPECT_TOKEN", None)
    server = subprocess.Popen([args.server, "--port", str(port)], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    server_out = Lines(server.stdout, "server")
    Lines(server.stderr, "server stderr")
    xvfb, display = start_xvfb()
    inspector = None
    try:
        check(server_out.wait_for(r"listening on 127\.0\.0\.1:\d+", 20), "the server listens")
        check(bool(display), "Xvfb gave a display")
        # -- record, live --------------------------------------------------------
        inspector = subprocess.Popen(
            [args.inspector, "--verbose", "--target", f"127.0.0.1:{inspect_port}", "--record", rec,
             "--dump-json", live_js],
            env=dict(no_display_env(), DISPLAY=":" + display), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True)
        Lines(inspector.stdout, "inspector")
        inspector_err = Lines(inspector.stderr, "inspector stderr")
        check(inspector_err.wait_for(r": attached \(", 20), "the recording inspector attached")
        channel, chat = asyncio.run_coroutine_threadsafe(
            drive(port, pb2, pb2_grpc, inspector_err), loop).result(timeout=60)
        rc = stop(inspector)
        inspector = None
        check(rc == 0, f"the recording inspector exits 0 on SIGTERM (got {rc})")
        check(inspector_err.wait_for(r"recording .*live\.actiorec ended \(stopped", 1),
              "the inspector said the recording ended")
        # The client's side closed only now: the open RouteChat was live throughout.
        asyncio.run_coroutine_threadsafe(close(channel, chat), loop).result(timeout=30)
        # -- the size cap: 0.0005 MB (524 bytes) holds the header, not the snapshot
        capped = out("capped.actiorec")
        capped_cwd = out("capped_cwd")
        os.makedirs(capped_cwd)
        r = run(["xvfb-run", "-a", os.path.abspath(args.inspector), "--target", f"127.0.0.1:{inspect_port}", "--record", capped,
                 "--record-max-mb", "0.0005", "--screenshot", out("capped.png"), "--frames", "4"], cwd=capped_cwd)
        check(r.returncode == 0, f"recording with a small cap: the inspector goes on and exits 0 ({r.returncode})")
        # The cap turns recording off: no second recording under a timestamped name.
        check(os.listdir(capped_cwd) == [], f"nothing recorded after the cap ({os.listdir(capped_cwd)})")
        check(len(re.findall(r"reached the size cap", r.stderr)) == 1, "the cap stopped one recording")
        check(re.search(r"recording stopped: .*capped\.actiorec reached the size cap \(524 bytes, --record-max-mb\)",
                        r.stderr), f"the cap's message: {r.stderr.strip()}")
        size = os.path.getsize(capped) if os.path.isfile(capped) else None
        check(size is not None and 12 < size <= 524, f"the capped file is within the cap ({size} bytes)")
        r = run([args.inspector, "--replay", capped, "--replay-speed", "0", "--dump-json", out("capped.json")])
        check(r.returncode == 0, f"a capped recording replays ({r.returncode})")
    finally:
        if inspector:
            stop(inspector)
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
        stop(xvfb)
    check(os.path.isfile(rec) and os.path.isfile(live_js), "the recording and the live JSON were written")
    if failures:
        finish()
    with open(rec, "rb") as f:
        data = f.read()
    check(data[:12] == b"ACTIOREC\x01\x00\x00\x00", f"the file starts with the magic and version 1: {data[:12]!r}")
    with open(live_js) as f:
        live = json.load(f)
    print("live run: server calls", summary(live), "counts", live["counts"], flush=True)
    check(summary(live).get(("RouteChat", "active", None)) == 1, "the live run saw the open RouteChat")

    # -- replay: headless, all at once; with --export and its --filter ------------
    replay_js, export_js = out("replay.json"), out("export.json")
    r = run([args.inspector, "--replay", rec, "--replay-speed", "0", "--dump-json", replay_js, "--export", export_js,
             "--filter", "GetFeature"])
    check(r.returncode == 0, f"--replay headless exits 0 (got {r.returncode})")
    if os.path.isfile(replay_js):
        with open(replay_js) as f:
            replayed = json.load(f)
        # The dump's table follows the filter too: compare it with the filter off (below) and check the shown.
        check(all(c["method"].endswith("/GetFeature") for c in replayed["calls"])
              and replayed["counts"]["shown"] == 3, f"--filter GetFeature shows the 3 GetFeature calls ({replayed['counts']})")
    else:
        check(False, f"{replay_js} was written")
    if os.path.isfile(export_js):
        with open(export_js) as f:
            exported = json.load(f)
        calls = exported.get("calls", [])
        check(exported.get("format") == "actio-inspector export" and exported.get("count") == 3 and len(calls) == 3,
              f"the export holds the 3 calls the filter shows ({exported.get('count')})")
        check(exported.get("filter", {}).get("method") == "GetFeature", "the export names its filter")
        check(all(c["method"].endswith("/GetFeature") and c["state"] == "done" and c["code"] == "OK"
                  and c["steps"] and "start_time" in c and "invocation_metadata" in c for c in calls),
              f"each exported call with its context, metadata and timeline: {calls[:1]}")
    else:
        check(False, f"{export_js} was written")

    all_js = out("replay_all.json")
    r = run([args.inspector, "--replay", rec, "--replay-speed", "0", "--dump-json", all_js])
    check(r.returncode == 0 and "replayed" in r.stdout, f"--replay headless exits 0 (got {r.returncode})")
    if os.path.isfile(all_js):
        with open(all_js) as f:
            check_replayed(json.load(f), live, "replay at once")
    else:
        check(False, "replay at once wrote its dump")

    # -- replay at the recorded pace (x4) ---------------------------------------
    paced_js = out("replay_paced.json")
    started = time.monotonic()
    r = run([args.inspector, "--replay", rec, "--replay-speed", "4", "--dump-json", paced_js])
    check(r.returncode == 0, f"--replay-speed 4 exits 0 (got {r.returncode})")
    took = time.monotonic() - started
    m = re.search(r"([0-9.]+) s recorded", r.stdout)
    check(m is not None, f"--replay says how long the recording is ({r.stdout.strip()!r})")
    if m:
        length = float(m.group(1))
        print(f"paced replay of {length:.2f} s at x4 took {took:.2f} s", flush=True)
        check(length > 0.5, f"the recording spans the session ({length:.2f} s)")
        check(took >= length / 4, f"x4 replay keeps the pace: {took:.2f} s for {length:.2f} s recorded")
    if os.path.isfile(paced_js):
        with open(paced_js) as f:
            check_replayed(json.load(f), live, "replay x4")
    else:
        check(False, "replay x4 wrote its dump")

    # -- replay in a window: the screenshot and its dump ------------------------
    png, shot_js = out("replay.png"), out("replay_screenshot.json")
    r = run(["xvfb-run", "-a", "-s", "-screen 0 1600x1200x24", args.inspector, "--replay", rec, "--replay-speed",
             "0", "--screenshot", png, "--frames", "3", "--dump-json", shot_js, "--width", "1280", "--height", "800",
             "--tab", "Messages"])
    check(r.returncode == 0, f"--replay --screenshot exits 0 (got {r.returncode})")
    check_screenshot.failures = failures
    check_screenshot.check_png(png)
    if os.path.isfile(shot_js):
        with open(shot_js) as f:
            check_replayed(json.load(f), live, "replay screenshot")

    # -- bad files: exit 1, a clear message, no crash -----------------------------
    def bad(path, pattern, what):
        r = run([args.inspector, "--replay", path, "--dump-json", out("bad.json")])
        check(r.returncode == 1 and re.search(pattern, r.stderr),
              f"{what}: exit 1 and '{pattern}' (got {r.returncode}: {r.stderr.strip()})")

    bad(out("nope.actiorec"), r"cannot replay: cannot open .*nope\.actiorec", "a missing file")
    truncated = out("truncated.actiorec")
    with open(truncated, "wb") as f:
        f.write(data[:len(data) * 2 // 3])
    bad(truncated, r"cannot replay: .*truncated\.actiorec is truncated", "a truncated file")
    bad(png, r"is not an actio-inspector recording", "a PNG")
    v2 = out("v2.actiorec")
    with open(v2, "wb") as f:
        f.write(data[:8] + b"\x02\x00\x00\x00" + data[12:])
    bad(v2, r"format version 2; this actio-inspector reads version 1", "another format version")
    r = run([args.inspector, "--dump-json", out("bad.json")])
    check(r.returncode not in (0, 1) and "--target" in r.stdout + r.stderr,
          f"without --target or --replay: an error naming --target ({r.returncode})")
    r = run([args.inspector, "--replay", rec, "--target", "127.0.0.1:1"])
    check(r.returncode != 0, f"--replay with --target is refused ({r.returncode})")

    finish()


def finish():
    print("inspector record/replay e2e:", "FAILED" if failures else "passed", flush=True)
    sys.exit(1 if failures else 0)


async def close(channel, chat):
    await chat.done_writing()
    try:
        async for _ in chat:
            pass
    except Exception:  # noqa: BLE001  (the server may be going away)
        pass
    await channel.close()


# One asyncio loop on a thread for the grpc.aio client, so its calls stay
# open while the main thread runs and stops processes.
loop = asyncio.new_event_loop()
threading.Thread(target=loop.run_forever, daemon=True).start()

if __name__ == "__main__":
    main()
