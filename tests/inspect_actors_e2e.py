#!/usr/bin/env python3
"""The inspector's view of loops and their actors, end to end: the chat_room
sample server runs with inspection on (ACTIO_INSPECT); two grpc.aio members
join the room and stay (each member's call has an actio::Mailbox, a CAF
actor on the serving loop, which the room actor sends to); actio-inspector
renders under Xvfb and dumps its model.

  inspect_actors_e2e.py --server CHAT_SERVER --inspector ACTIO_INSPECTOR --out DIR

Checks the model's loops: the two mailboxes on a loop, each having handled
the room's broadcasts, and the PNG."""
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
import check_screenshot  # noqa: E402  (check_png)

PROTO = os.path.join(HERE, "..", "samples", "chat_room", "chat.proto")


async def drive_and_inspect(args, port, inspect_port, pb2, pb2_grpc):
    import grpc
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = pb2_grpc.ChatRoomStub(channel)
        ada = stub.Join()
        await ada.write(pb2.ChatMessage(**{"from": "ada"}))
        # ada's and bob's calls may be served on different loops: wait until
        # the room has ada before bob joins, so that she hears him join.
        for _ in range(500):
            if list((await stub.Members(pb2.MembersRequest())).names) == ["ada"]:
                break
            await asyncio.sleep(0.01)
        bob = stub.Join()
        await bob.write(pb2.ChatMessage(**{"from": "bob"}))
        await bob.write(pb2.ChatMessage(text="hello ada"))
        # ada hears bob join and speak: her mailbox handled both.
        heard = []
        while len(heard) < 2:
            m = await asyncio.wait_for(ada.read(), timeout=5)
            heard.append(f"{getattr(m, 'from')}: {m.text}")
        print("ada heard:", heard, flush=True)
        members = await stub.Members(pb2.MembersRequest())
        check(list(members.names) == ["ada", "bob"], f"members ada, bob (got {list(members.names)})")

        png = os.path.join(args.out, "actors.png")
        js = os.path.join(args.out, "actors.json")
        for p in (png, js):
            if os.path.exists(p):
                os.remove(p)
        env = no_display_env()
        proc = await asyncio.create_subprocess_exec(
            "xvfb-run", "-a", "-s", "-screen 0 1600x1200x24", args.inspector,
            "--target", f"127.0.0.1:{inspect_port}", "--screenshot", png, "--frames", "5",
            "--dump-json", js, "--width", "1280", "--height", "800", env=env)
        rc = await asyncio.wait_for(proc.wait(), timeout=40)
        check(rc == 0, f"actio-inspector --screenshot exit 0 (got {rc})")
        for call in (ada, bob):
            await call.done_writing()
            while await call.read() != grpc.aio.EOF:
                pass
    return png, js


def check_actors(js):
    with open(js) as f:
        view = json.load(f)
    actors = [a for loop in view["loops"] for a in loop.get("actors", [])]
    print("actors:", actors, flush=True)
    mailboxes = [a for a in actors if a["kind"] == "mailbox"]
    check(len(mailboxes) == 2, f"two mailboxes, one per member (got {len(mailboxes)})")
    # ada's mailbox got the room's "bob joined" and bob's "hello ada".
    check(any(a["handled"] >= 2 for a in mailboxes), f"ada's mailbox handled the room's broadcasts: {mailboxes}")
    check(all(a["waiting"] == 0 for a in mailboxes), f"nothing waits in a mailbox whose member reads: {mailboxes}")
    for a in mailboxes:
        check(a["id"] > 0, f"a CAF actor id: {a}")
    check(sorted(a["name"] for a in mailboxes) == ["ada", "bob"], f"each mailbox named after its member: {mailboxes}")
    loops_with_mailboxes = {(l["target"], l["index"]) for l in view["loops"] for a in l.get("actors", [])
                            if a["kind"] == "mailbox"}
    check(len(loops_with_mailboxes) >= 1, "the mailboxes sit on a loop of the process")


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
            check_actors(js)
        else:
            check(False, f"{js} was written")
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            out, err = server.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            out, err = server.communicate()
        print("server stderr:", err, end="")
    print("inspector actors e2e:", "FAILED" if failures else "passed")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
