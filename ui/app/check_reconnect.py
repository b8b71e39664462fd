#!/usr/bin/env python3
"""actio-inspector follows a process that goes away and comes back:

  check_reconnect.py --inspector BIN --server SERVER_BIN --out DIR

Starts Xvfb (it picks a free display), the server (`SERVER_BIN --port 0`,
which prints "listening on 127.0.0.1:PORT"), and the inspector on that
display (the interactive mode, not --screenshot). Then stops the server,
starts it again on the same port, and one second later stops the inspector
with SIGTERM: its --dump-json must show a second session (a fresh snapshot)
attached, with the canned calls of the fake server."""
import argparse
import json
import os
import re
import signal
import subprocess
import sys
import time

failures = []


def check(ok, what):
    if not ok:
        failures.append(what)
        print("FAIL:", what)


def start_server(server_bin, port):
    proc = subprocess.Popen([server_bin, "--port", str(port)], stdout=subprocess.PIPE, text=True)
    for line in proc.stdout:
        m = re.search(r"listening on 127\.0\.0\.1:(\d+)", line)
        if m:
            return proc, int(m.group(1))
    raise RuntimeError("the server did not report its port")


def stop(proc, sig=signal.SIGTERM, timeout=10):
    proc.send_signal(sig)
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        return "hung"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--inspector", required=True)
    ap.add_argument("--server", required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    dump = os.path.join(args.out, "reconnect.json")
    if os.path.exists(dump):
        os.remove(dump)

    read_fd, write_fd = os.pipe()
    xvfb = subprocess.Popen(["Xvfb", "-displayfd", str(write_fd), "-screen", "0", "1280x1024x24", "-nolisten", "tcp"],
                            pass_fds=(write_fd,), stderr=subprocess.DEVNULL)
    os.close(write_fd)
    display = b""
    while not display.endswith(b"\n"):  # Xvfb writes the number, then a newline: keep the pipe open for both
        chunk = os.read(read_fd, 32)
        if not chunk:
            break
        display += chunk
    display = display.decode().strip()
    os.close(read_fd)
    server = inspector = None
    try:
        server, port = start_server(args.server, 0)
        env = dict(os.environ, DISPLAY=":" + display)
        inspector = subprocess.Popen([args.inspector, "--verbose", "--target", f"127.0.0.1:{port}", "--dump-json", dump], env=env)
        time.sleep(1.0)
        check(inspector.poll() is None, "the inspector runs")
        check(stop(server) == 0, "the server stops")
        time.sleep(1.0)  # the inspector sees the loss and retries
        server, _ = start_server(args.server, port)
        time.sleep(1.0)  # "attaches in under a second"
        rc = stop(inspector)
        check(rc == 0, f"the inspector exits 0 on SIGTERM (got {rc})")
        inspector = None
    finally:
        for p in (inspector, server):
            if p:
                stop(p)
        stop(xvfb)

    check(os.path.isfile(dump), "the inspector wrote its JSON at exit")
    if not failures:
        with open(dump) as f:
            view = json.load(f)
        target = view["targets"][0]
        print("target:", target)
        check(target["sessions"] == 2, f"a second snapshot after the restart (sessions {target['sessions']})")
        check(target["connection"] == "attached", f"attached again ({target['connection']})")
        check(view["counts"]["calls"] == 7, f"the restarted process's calls ({view['counts']})")
    print("inspector reconnect check:", "FAILED" if failures else "passed")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
