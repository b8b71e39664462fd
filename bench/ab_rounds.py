#!/usr/bin/env python3
"""Alternated rounds: Actio against raw gRPC C++, the ratio taken within each round.

Per cell and round, back to back (a fresh server each, in an order that rotates
per round): raw_cq_server <- raw_client, echo_server <- raw_client (the server
ratio) and raw_cq_server <- echo_client (the client ratio); prints every round, then the median of the per-round ratios and of
the CPU per operation. Steadier than ratios of means when the host's speed drifts.

  ab_rounds.py --bench-dir build-bench/bench [--pinned] [--rounds 5] [--seconds 3]
               [--cells unary:1,unary:64,server_stream:1,bidi:8,client_stream:8]

--pinned runs the server on core 0 and the client on core 1 (taskset). Python 3
stdlib only.
"""
import argparse
import json
import signal
import socket
import statistics
import subprocess
import time


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(args, server, client, mode, conc):
    port = free_port()
    pre_s = ["taskset", "-c", "0"] if args.pinned else []
    pre_c = ["taskset", "-c", "1"] if args.pinned else []
    sp = subprocess.Popen(pre_s + [f"{args.bench_dir}/{server}", "--port", str(port)])
    try:
        for _ in range(250):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.02)
        out = subprocess.run(pre_c + [f"{args.bench_dir}/{client}", "--target", f"127.0.0.1:{port}", "--mode", mode,
                                      "--concurrency", conc, "--seconds", str(args.seconds), "--size", "64",
                                      "--warmup", "0.5", "--stream-count", "100", "--server-pid", str(sp.pid)],
                             capture_output=True, text=True, timeout=120, check=True)
    finally:
        sp.send_signal(signal.SIGTERM)
        sp.wait(timeout=15)
    d = json.loads(out.stdout.strip().splitlines()[-1])
    return d["calls_or_msgs_per_s"], 1e6 * d["server_cpu_s"] / d["count"], 1e6 * d["client_cpu_s"] / d["count"]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--bench-dir", required=True, help="where raw_cq_server, raw_client, echo_server, echo_client are")
    p.add_argument("--pinned", action="store_true")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--seconds", type=float, default=3)
    p.add_argument("--cells", default="unary:1,unary:64,server_stream:1,bidi:8,client_stream:8")
    args = p.parse_args()
    cells = [c.split(":") for c in args.cells.split(",")]
    res = {}
    for r in range(args.rounds):
        for mode, conc in cells:
            # The order rotates per round: a host whose speed drifts within a
            # round then favours no side.
            pairs = [("raw_cq_server", "raw_client"), ("echo_server", "raw_client"), ("raw_cq_server", "echo_client")]
            k = r % 3
            got = {pair: run(args, *pair, mode, conc) for pair in pairs[k:] + pairs[:k]}
            raw, srv, cli = (got[pair] for pair in pairs)
            e = res.setdefault(f"{mode}_c{conc}", {"srv": [], "cli": [], "cpu": []})
            e["srv"].append(srv[0] / raw[0])
            e["cli"].append(cli[0] / raw[0])
            e["cpu"].append((raw[1], srv[1], raw[2], cli[2]))
            print(f"round {r + 1} {mode}_c{conc}: raw {raw[0]:.0f}/s, actio server {srv[0]:.0f} ({srv[0] / raw[0]:.2f}), "
                  f"actio client {cli[0]:.0f} ({cli[0] / raw[0]:.2f})", flush=True)
    print(("pinned" if args.pinned else "unpinned") + ": median of per-round ratios")
    for k, e in res.items():
        cpu = list(zip(*e["cpu"]))
        print(f"  {k:18s} server {statistics.median(e['srv']):.2f}  client {statistics.median(e['cli']):.2f}   "
              f"CPU/op: server raw {statistics.median(cpu[0]):.1f} actio {statistics.median(cpu[1]):.1f} us, "
              f"client raw {statistics.median(cpu[2]):.1f} actio {statistics.median(cpu[3]):.1f} us")


if __name__ == "__main__":
    main()
