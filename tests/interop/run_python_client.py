#!/usr/bin/env python3
"""Interop: the real grpc.aio client (Debian python3-grpcio) against the
Actio greeter server. Usage: run_python_client.py GREETER_SERVER_BINARY"""
import os
import re
import signal
import subprocess
import sys

here = os.path.dirname(os.path.abspath(__file__))
server = subprocess.Popen([sys.argv[1], "--port", "0"], stdout=subprocess.PIPE, text=True)
try:
    port = None
    for line in server.stdout:
        m = re.search(r"listening on 127\.0\.0\.1:(\d+)", line)
        if m:
            port = m.group(1)
            break
    if not port:
        print("FAIL: server did not report its port")
        sys.exit(1)
    client = subprocess.run(
        ["/usr/bin/python3", os.path.join(here, "python", "greeter_client.py"), "--target", f"127.0.0.1:{port}"],
        capture_output=True, text=True, timeout=60)
    print(client.stdout, end="")
    print(client.stderr, end="", file=sys.stderr)
finally:
    server.send_signal(signal.SIGTERM)
    try:
        rc = server.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.kill()
        rc = "hung"
if rc != 0:
    print(f"FAIL: greeter_server exited with {rc} after SIGTERM")
    sys.exit(1)
sys.exit(client.returncode)
