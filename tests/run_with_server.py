#!/usr/bin/env python3
"""Starts an Actio sample server on a free port, runs a client against it,
then stops the server with SIGTERM and checks it exits 0.

Usage: run_with_server.py SERVER_BIN [--expect TEXT]... [--server-arg ARG]...
                          [--make-certs NAME] -- CLIENT_CMD...
In CLIENT_CMD, {target} is replaced by 127.0.0.1:PORT, {host} by 127.0.0.1
and {port} by PORT (for clients that take them apart, as the gRPC interop
client's --server_host / --server_port). The server must print
"listening on 127.0.0.1:PORT". A server that makes files for its clients (the
tls sample's throwaway certificates) prints "certs in DIR" before that line;
{certs} in CLIENT_CMD is replaced by DIR. Each --expect TEXT must appear in the
client's output. Each --server-arg ARG is appended to the server's command
line (after "--port 0"). --make-certs NAME makes throwaway TLS files with
openssl in a temporary directory first (ca.pem, and server.pem / server.key
for the server name NAME, signed by it; deleted at the end) and replaces
{certs} by that directory in the server's arguments and the client command.
Used for the samples and for the interop tests."""
import re
import shutil
import signal
import subprocess
import sys
import tempfile

args = sys.argv[1:]
sep = args.index("--")
server_bin, opts, client_cmd = args[0], args[1:sep], args[sep + 1:]
expects, server_args, cert_name = [], [], None
for option, value in zip(opts[0::2], opts[1::2]):
    if option == "--expect":
        expects.append(value)
    elif option == "--server-arg":
        server_args.append(value)
    elif option == "--make-certs":
        cert_name = value
    else:
        sys.exit(f"run_with_server.py: unknown option {option}")


def make_certs(name):
    """Throwaway CA and server certificate for `name` (1 day, RSA 2048)."""
    folder = tempfile.mkdtemp(prefix="actio_interop_tls_")
    script = (
        "set -e\n"
        "openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 1"
        " -subj '/CN=Actio test CA'\n"
        f"openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj '/CN={name}'\n"
        f"echo 'subjectAltName=DNS:{name}' > server.ext\n"
        "openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem"
        " -days 1 -extfile server.ext\n")
    done = subprocess.run(["sh", "-c", script], cwd=folder, capture_output=True, text=True)
    if done.returncode != 0:
        shutil.rmtree(folder, ignore_errors=True)
        sys.exit("run_with_server.py: openssl failed:\n" + done.stderr)
    return folder


made_certs = make_certs(cert_name) if cert_name else None
if made_certs:
    server_args = [a.replace("{certs}", made_certs) for a in server_args]
server = subprocess.Popen([server_bin, "--port", "0", *server_args], stdout=subprocess.PIPE, text=True)
client = None
try:
    port = None
    certs = made_certs
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
    if made_certs:
        shutil.rmtree(made_certs, ignore_errors=True)
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
