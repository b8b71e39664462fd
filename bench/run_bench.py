#!/usr/bin/env python3
"""Run the bench.Echo contract cells (see CONTRACT.md) and compare servers/clients.

  run_bench.py --server raw_cq=build/bench/raw_cq_server \
               --server raw_cb=build/bench/raw_callback_server \
               --server actio=build/bench/echo_server \
               --client raw=build/bench/raw_client \
               --client actio=build/bench/echo_client --out results.json

A --server/--client value is NAME=COMMAND (COMMAND is split like a shell
would, so it may carry extra arguments). The first server and the first client
whose name starts with "raw" are the baselines. Measured pairs: every server
with the baseline client, and every client against the baseline server. Each
measurement gets a fresh server on a free 127.0.0.1 port, which is stopped
with SIGTERM afterwards (a non-zero exit is recorded as an error).
The whole set runs --unpinned-runs times (default 2) with client and server
sharing the cores, then --pinned-runs times (default 1) with the server on
core 0 and the client on core 1 (taskset). Python 3 stdlib only.
"""
import argparse
import json
import os
import platform
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

CELLS = {  # name: (mode, concurrency)
    "unary_c1": ("unary", 1),
    "unary_c64": ("unary", 64),
    "server_stream_c1": ("server_stream", 1),
    "bidi_c8": ("bidi", 8),
    "client_stream_c8": ("client_stream", 8),  # not a contract cell
}
DEFAULT_CELLS = "unary_c1,unary_c64,server_stream_c1,bidi_c8"


def named_command(text):
    name, sep, cmd = text.partition("=")
    if not sep or not name or not cmd.strip():
        raise argparse.ArgumentTypeError(f"expected NAME=COMMAND, got {text!r}")
    argv = shlex.split(cmd)
    exe = shutil.which(argv[0])
    if exe is None:
        raise argparse.ArgumentTypeError(f"{argv[0]!r} is not an executable")
    argv[0] = os.path.abspath(exe)
    return name, argv


def tail(f, n=500):
    """Last n characters of a temporary file, which is closed."""
    f.seek(0)
    text = f.read().decode(errors="replace").strip()[-n:]
    f.close()
    return text


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_accepting(proc, port, timeout=15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return True
        except OSError:
            time.sleep(0.02)
    return False


def stop_server(proc, timeout=10.0):
    """SIGTERM, wait; returns (exit code or None if it had to be killed, seconds)."""
    t0 = time.monotonic()
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        return None, time.monotonic() - t0
    return proc.returncode, time.monotonic() - t0


def measure(args, server, client, cell, pinned):
    """One (server, client, cell) measurement; returns a result record."""
    mode, conc = CELLS[cell]
    rec = {"server": server[0], "client": client[0], "cell": cell, "mode": mode,
           "concurrency": conc, "pinned": pinned, "ok": False,
           "loadavg_1m": os.getloadavg()[0]}  # high: something else was running
    spin = ["taskset", "-c", "0"] if pinned else []
    cpin = ["taskset", "-c", "1"] if pinned else []
    for _attempt in range(3):  # the free port may be taken in between
        port = free_port()
        serr = tempfile.TemporaryFile()
        sproc = subprocess.Popen(spin + server[1] + ["--port", str(port)],
                                 stdout=subprocess.DEVNULL, stderr=serr)
        if wait_accepting(sproc, port):
            break
        stop_server(sproc)
        rec["error"] = "server did not accept: " + tail(serr)
    else:
        return rec
    cmd = cpin + client[1] + [
        "--target", f"127.0.0.1:{port}", "--mode", mode, "--concurrency", str(conc),
        "--seconds", str(args.seconds), "--size", str(args.size),
        "--warmup", str(args.warmup), "--stream-count", str(args.stream_count),
        "--server-pid", str(sproc.pid)]
    try:
        cp = subprocess.run(cmd, capture_output=True, text=True,
                            timeout=args.seconds + args.warmup + 60)
        out, err, rc = cp.stdout, cp.stderr, cp.returncode
    except subprocess.TimeoutExpired as e:
        out, err, rc = "", f"client timed out: {e}", -1
    src, stop_s = stop_server(sproc)
    server_err = tail(serr)
    rec["server_exit"], rec["server_stop_s"] = src, round(stop_s, 3)
    lines = [ln for ln in out.splitlines() if ln.strip()]
    if rc != 0 or len(lines) != 1:
        rec["error"] = f"client exit {rc}, {len(lines)} stdout lines: {err.strip()[-500:]}"
        return rec
    try:
        rec["result"] = json.loads(lines[0])
    except json.JSONDecodeError as e:
        rec["error"] = f"bad client JSON ({e}): {lines[0][:200]}"
        return rec
    if src != 0:
        rec["error"] = f"server exit {src} after SIGTERM: {server_err}"
        return rec
    rec["ok"] = True
    return rec


def no_nan(x):
    """NaN is not JSON: turn it into null."""
    if isinstance(x, float) and x != x:
        return None
    if isinstance(x, dict):
        return {k: no_nan(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [no_nan(v) for v in x]
    return x


def mean(xs):
    return sum(xs) / len(xs) if xs else float("nan")


def summarize(records, servers, clients, base_client):
    """Per (cell, pinned, server, client): means over repeats, plus the ratio of
    calls/s to the best raw* server measured with the baseline client."""
    groups = {}
    for r in records:
        key = (r["cell"], r["pinned"], r["server"], r["client"])
        groups.setdefault(key, []).append(r)
    rows = []
    for (cell, pinned, sname, cname), rs in groups.items():
        good = [r["result"] for r in rs if r["ok"]]
        rows.append({
            "cell": cell, "pinned": pinned, "server": sname, "client": cname,
            "runs": len(rs), "failed": len(rs) - len(good),
            "rates": [g["calls_or_msgs_per_s"] for g in good],
            "rate": mean([g["calls_or_msgs_per_s"] for g in good]),
            "p50_us": mean([g["p50_us"] for g in good]),
            "p99_us": mean([g["p99_us"] for g in good]),
            "server_cpu_s": mean([g.get("server_cpu_s", float("nan")) for g in good]),
            "client_cpu_s": mean([g.get("client_cpu_s", float("nan")) for g in good]),
        })
    for row in rows:
        refs = [o["rate"] for o in rows
                if o["cell"] == row["cell"] and o["pinned"] == row["pinned"]
                and o["server"].startswith("raw") and o["client"] == base_client
                and o["rates"]]
        row["ratio"] = row["rate"] / max(refs) if refs and row["rates"] else float("nan")
    order = {n: i for i, n in enumerate(CELLS)}
    sorder = {n: i for i, (n, _) in enumerate(servers)}
    corder = {n: i for i, (n, _) in enumerate(clients)}
    rows.sort(key=lambda r: (order[r["cell"]], r["pinned"], sorder[r["server"]],
                             corder[r["client"]]))
    return rows


def print_table(rows, file=sys.stdout):
    hdr = (f"{'cell':<17} {'pin':<3} {'server':<14} {'client':<10} {'calls/s':>10} "
           f"{'p50us':>8} {'p99us':>8} {'ratio':>6} {'srv_cpu':>7} {'cli_cpu':>7}  runs")
    print(hdr, file=file)
    print("-" * len(hdr), file=file)
    for r in rows:
        if not r["rates"]:
            print(f"{r['cell']:<17} {'yes' if r['pinned'] else 'no':<3} {r['server']:<14} "
                  f"{r['client']:<10} {'FAILED':>10}", file=file)
            continue
        runs = "/".join(f"{x:.0f}" for x in r["rates"])
        if r["failed"]:
            runs += f" ({r['failed']} failed)"
        print(f"{r['cell']:<17} {'yes' if r['pinned'] else 'no':<3} {r['server']:<14} "
              f"{r['client']:<10} {r['rate']:>10.0f} {r['p50_us']:>8.1f} {r['p99_us']:>8.1f} "
              f"{r['ratio']:>6.2f} {r['server_cpu_s']:>7.2f} {r['client_cpu_s']:>7.2f}  {runs}",
              file=file)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--server", action="append", type=named_command, required=True,
                    metavar="NAME=COMMAND")
    ap.add_argument("--client", action="append", type=named_command, required=True,
                    metavar="NAME=COMMAND")
    ap.add_argument("--cells", default=DEFAULT_CELLS,
                    help=f"comma list from {','.join(CELLS)} (default {DEFAULT_CELLS})")
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--warmup", type=float, default=1.0)
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--stream-count", type=int, default=100)
    ap.add_argument("--unpinned-runs", type=int, default=2)
    ap.add_argument("--pinned-runs", type=int, default=1)
    ap.add_argument("--out", help="write all records and the summary as JSON here")
    args = ap.parse_args()

    cells = [c.strip() for c in args.cells.split(",") if c.strip()]
    for c in cells:
        if c not in CELLS:
            ap.error(f"unknown cell {c!r}; known: {', '.join(CELLS)}")
    for what, lst in (("server", args.server), ("client", args.client)):
        names = [n for n, _ in lst]
        if len(set(names)) != len(names):
            ap.error(f"duplicate {what} names: {names}")
        if not any(n.startswith("raw") for n in names):
            ap.error(f"no {what} named raw...: need a raw baseline")
    base_server = next(s for s in args.server if s[0].startswith("raw"))
    base_client = next(c for c in args.client if c[0].startswith("raw"))
    pairs = [(s, base_client) for s in args.server]
    pairs += [(base_server, c) for c in args.client if c is not base_client]
    if args.pinned_runs and (os.cpu_count() or 1) < 2:
        print("warning: fewer than 2 CPUs; pinned runs share a core", file=sys.stderr)

    if os.getloadavg()[0] > 0.5:
        print(f"warning: load average {os.getloadavg()[0]:.2f} before start; other work "
              "on the machine skews the numbers (pinned runs most)", file=sys.stderr)
    runs = [False] * args.unpinned_runs + [True] * args.pinned_runs
    total = len(runs) * len(cells) * len(pairs)
    records, n = [], 0
    for run_no, pinned in enumerate(runs):
        for cell in cells:
            for server, client in pairs:  # interleaved, so drift hits all alike
                n += 1
                rec = measure(args, server, client, cell, pinned)
                rec["run"] = run_no
                records.append(rec)
                res = rec.get("result", {})
                status = (f"{res['calls_or_msgs_per_s']:.0f}/s p50 {res['p50_us']}us "
                          f"p99 {res['p99_us']}us" if rec["ok"] else "ERROR " + rec.get("error", ""))
                print(f"[{n}/{total}] run {run_no} {'pinned' if pinned else 'unpinned'} "
                      f"{cell} {server[0]}<-{client[0]}: {status}", file=sys.stderr, flush=True)

    rows = summarize(records, args.server, args.client, base_client[0])
    print(f"# ratio = calls/s over the best raw* server with client {base_client[0]!r} "
          f"(same cell and pinning); values are means over runs")
    print_table(rows)
    if args.out:
        meta = {"time": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "host": platform.node(),
                "platform": platform.platform(), "cpus": os.cpu_count(),
                "loadavg": os.getloadavg(), "argv": sys.argv,
                "seconds": args.seconds, "warmup": args.warmup, "size": args.size,
                "stream_count": args.stream_count, "cells": cells,
                "servers": {n: c for n, c in args.server},
                "clients": {n: c for n, c in args.client}}
        with open(args.out, "w") as f:
            json.dump(no_nan({"meta": meta, "records": records, "summary": rows}), f,
                      indent=1)
            f.write("\n")
    return 1 if any(not r["ok"] for r in records) else 0


if __name__ == "__main__":
    sys.exit(main())
