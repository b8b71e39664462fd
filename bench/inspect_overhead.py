#!/usr/bin/env python3
"""The cost of inspection: Actio's echo_server with inspection off, on with
nobody watching, watched as actio-inspector watches (1,000 calls per second
and loop one by one, the rest counted per method: "watched"), watched with
every event of every call ("watched_all"), and watched with call-level events
of every call ("watched_calls"), each driven by the raw gRPC C++ client
(unary, 64 B, c=64 by default), rounds alternated. With --load-control, one
more way: on, nobody watching, and a process that burns as much CPU as the
watched_all watcher process did in the same round (spinning in a duty
cycle): what that watcher's process costs the server only by sharing the
machine's two cores.

  inspect_overhead.py --server build/bench/echo_server --client build/bench/raw_client \
                      --watch build/bench/inspect_watch [--rounds 2] [--seconds 5]

Prints one line per run and the ratios to "off". Python 3 stdlib only.
"""
import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import time


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, timeout=5.0):
    end = time.time() + timeout
    while time.time() < end:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.02)
    raise SystemExit(f"nothing listens on {port}")


SPIN = """
import sys, time
duty, end = float(sys.argv[1]), time.monotonic() + float(sys.argv[2])
while time.monotonic() < end:
    t = time.monotonic()
    while time.monotonic() < t + 0.005 * duty:
        pass
    time.sleep(0.005 * (1 - duty))
"""


def run(args, config, duty=0.0):
    port = free_port()
    env = dict(os.environ)
    inspect_port = None
    if config != "off":
        inspect_port = free_port()
        env["ACTIO_INSPECT"] = f"127.0.0.1:{inspect_port}"
    server = subprocess.Popen([args.server, "--port", str(port)], env=env, stderr=subprocess.DEVNULL)
    watcher = None
    try:
        wait_port(port)
        if inspect_port:
            wait_port(inspect_port)
        if config == "on_load":
            watcher = subprocess.Popen(["/usr/bin/python3", "-c", SPIN, str(duty),
                                        str(args.warmup + args.seconds + 0.5)])
        elif config.startswith("watched"):
            # "watched": as actio-inspector watches by default (1,000 calls
            # per second and loop one by one, the rest counted per method);
            # "watched_all": every call's every event; "watched_calls":
            # every call, call-level events only.
            extra = {"watched": ["--max-calls-per-second", "1000"], "watched_all": [],
                     "watched_calls": ["--calls-only"]}[config]
            watcher = subprocess.Popen([args.watch, "--target", f"127.0.0.1:{inspect_port}",
                                        "--seconds", str(args.warmup + args.seconds + 0.5)] + extra,
                                       stdout=subprocess.PIPE, text=True)
            time.sleep(0.2)
        out = subprocess.run([args.client, "--target", f"127.0.0.1:{port}", "--mode", "unary",
                              "--concurrency", str(args.concurrency), "--seconds", str(args.seconds),
                              "--size", "64", "--warmup", str(args.warmup), "--stream-count", "1",
                              "--server-pid", str(server.pid)],
                             capture_output=True, text=True, check=True, timeout=120)
        result = json.loads(out.stdout.strip().splitlines()[-1])
        if watcher and config != "on_load":
            text = watcher.stdout.read()
            _, status, usage = os.wait4(watcher.pid, 0)
            watcher.returncode = os.waitstatus_to_exitcode(status)
            w = json.loads(text.strip().splitlines()[-1])
            # The watcher process's CPU over its life (a little longer than the window).
            w["cpu_fraction"] = (usage.ru_utime + usage.ru_stime) / (args.warmup + args.seconds + 0.5)
            result["watch"] = w
        elif watcher:
            watcher.wait(timeout=30)
        return result
    finally:
        if watcher and watcher.poll() is None:
            watcher.kill()
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=15)


def rate_ratio(a, b):
    return a / b if b else float("nan")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--server", required=True)
    p.add_argument("--client", required=True)
    p.add_argument("--watch", required=True)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--seconds", type=float, default=5)
    p.add_argument("--warmup", type=float, default=1)
    p.add_argument("--concurrency", type=int, default=64)
    p.add_argument("--configs", default="off,on,watched,watched_all,watched_calls",
                   help="which ways to run (off first for the ratios), comma-separated")
    p.add_argument("--load-control", action="store_true",
                   help="also run 'on' beside a spinner using the watcher's CPU share")
    args = p.parse_args()
    best, ratios, cpu = {}, {}, {}
    for r in range(args.rounds):
        rates = {}
        configs = tuple(args.configs.split(",")) + (("on_load",) if args.load_control else ())
        duty = 0.0
        # Each round starts one further along (on_load stays after
        # watched_all, whose watcher's CPU it copies): no configuration is
        # always the first one after a pause, or always the last.
        order = [c for c in configs if c != "on_load"]
        k = r % len(order)
        order = order[k:] + order[:k]
        if "on_load" in configs:
            order.insert(order.index("watched_all") + 1 if "watched_all" in order else len(order), "on_load")
        for config in order:
            res = run(args, config, duty)
            rate = res["calls_or_msgs_per_s"]
            rates[config] = rate
            extra = ""
            if "watch" in res:
                extra = (f" events/s={res['watch']['events_per_s']} dropped={res['watch']['dropped']}"
                         f" summarized={res['watch'].get('summarized', 0)}"
                         f" watcher_cpu={res['watch']['cpu_fraction']:.3f}")
                if config == "watched_all":
                    duty = min(1.0, res["watch"]["cpu_fraction"])
            if config == "on_load":
                extra = f" spinner_duty={duty:.3f}"
            # The server process's CPU per call (all its threads, the inspector's included).
            us = 1e6 * res["server_cpu_s"] / res["count"] if res.get("count") else float("nan")
            cpu.setdefault(config, []).append(us)
            print(f"round {r + 1} {config:13s} calls/s={rate:.0f} p50_us={res.get('p50_us')} "
                  f"server_us/call={us:.1f}{extra}", flush=True)
            best[config] = max(best.get(config, 0), rate)
        # Within a round the four runs are minutes apart at most: their ratio
        # is steadier than ratios of bests when the host's speed drifts.
        for config in configs[1:]:
            ratios.setdefault(config, []).append(rate_ratio(rates[config], rates["off"]))
    for config in configs[1:]:
        print(f"{config}/off = {best[config] / best['off']:.3f} (best of {args.rounds}), "
              f"median of per-round ratios {statistics.median(ratios[config]):.3f}, "
              f"server CPU/call {statistics.median(cpu[config]):.1f} us vs {statistics.median(cpu['off']):.1f} us off")


if __name__ == "__main__":
    main()
