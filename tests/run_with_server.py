#!/usr/bin/env python3
"""Starts an Actio sample server on a free port, runs a client against it,
then stops the server with SIGTERM and checks it exits 0.

Usage: run_with_server.py SERVER_BIN [--expect TEXT]... -- CLIENT_CMD...
In CLIENT_CMD, {target} is replaced by 127.0.0.1:PORT, {host} by 127.0.0.1
and {port} by PORT (for clients that take them apart, as the gRPC interop
client's --server_host / --server_port). The server must print
"listening on 127.0.0.1:PORT". A server that makes files for its clients (the
tls sample's throwaway certificates) prints "certs in DIR" before that line;
{certs} in CLIENT_CMD is replaced by DIR. Each --expect TEXT must appear in the
client's output. Used for the samples and for the grpc.aio-client interop test."""
import re
import signal
import subprocess
import sys

args = sys.argv[1:]
sep = args.index("--")
server_bin, opts, client_cmd = args[0], args[1:sep], args[sep + 1:]
expects = [opts[i + 1] for i, o in enumerate(opts) if o == "--expect"]

server = subprocess.Popen([server_bin, "--port", "0"], stdout=subprocess.PIPE, text=True)
client = None
try:
    port = None
    certs = None
    for line in server.stdout:
        print("server:", line, end="")
        m = re.search(r"certs in (\S+)", line)
        if m:
            certs = m.group(1)
        m = re.search(r"listening on 127\.0\.0\.1:(\d+)", line)
        if m:
            port = m.group(1)
            break
    if not port:
        print("FAIL: the server did not report its port")
        sys.exit(1)
    if certs is None and any("{certs}" in c for c in client_cmd):
        print("FAIL: the client needs {certs} but the server printed no \"certs in DIR\" line")
        sys.exit(1)
    cmd = [c.replace("{target}", f"127.0.0.1:{port}").replace("{host}", "127.0.0.1").replace("{port}", port)
           for c in client_cmd]
    if certs is not None:
        cmd = [c.replace("{certs}", certs) for c in cmd]
    client = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    print(client.stdout, end="")
    print(client.stderr, end="", file=sys.stderr)
finally:
    server.send_signal(signal.SIGTERM)
    try:
        rest, _ = server.communicate(timeout=15)
        print("server:", rest, end="")
        rc = server.returncode
    except subprocess.TimeoutExpired:
        server.kill()
        rc = "hung"
failed = False
if rc != 0:
    print(f"FAIL: the server exited with {rc} after SIGTERM")
    failed = True
if client is None or client.returncode != 0:
    print(f"FAIL: the client exited with {client.returncode if client else 'nothing'}")
    failed = True
for text in expects:
    if client is None or text not in client.stdout:
        print(f"FAIL: expected {text!r} in the client's output")
        failed = True
sys.exit(1 if failed else 0)
