"""What the inspector's end-to-end scripts share: the failure list and
check(), a free loopback port, an environment without a display, stopping
a child process. Python 3 stdlib only."""
import os
import signal
import socket
import subprocess

failures = []


def check(ok, what):
    if not ok:
        failures.append(what)
        print("FAIL:", what, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def no_display_env():
    """This environment without a display (and without ACTIO_INSPECT)."""
    return {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "ACTIO_INSPECT")}


def stop(proc, sig=signal.SIGTERM, timeout=15):
    """Signals `proc` and waits; kills it after `timeout` s ("hung")."""
    if proc.poll() is not None:
        return proc.returncode
    proc.send_signal(sig)
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        return "hung"
