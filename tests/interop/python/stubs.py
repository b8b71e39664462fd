"""Python stubs for the interop peers, generated at run time (nothing generated
is committed): protoc with grpc_python_plugin into a temp dir, then imported."""
import importlib
import os
import shutil
import subprocess
import sys
import tempfile
import types

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_PROTO = os.path.join(HERE, "..", "..", "..", "samples", "helloworld", "helloworld.proto")
GRPC_PYTHON_PLUGIN = "/usr/bin/grpc_python_plugin"


def load_stubs(proto_path=DEFAULT_PROTO):
    """Generates NAME_pb2 / NAME_pb2_grpc for `proto_path` and imports them."""
    proto_path = os.path.abspath(proto_path)
    name = os.path.splitext(os.path.basename(proto_path))[0]
    outdir = tempfile.mkdtemp(prefix="actio-interop-stubs-")
    try:
        subprocess.run(
            ["protoc", "-I" + os.path.dirname(proto_path),
             "--python_out=" + outdir, "--grpc_python_out=" + outdir,
             "--plugin=protoc-gen-grpc_python=" + GRPC_PYTHON_PLUGIN,
             os.path.basename(proto_path)],
            check=True)
        sys.path.insert(0, outdir)
        pb2 = importlib.import_module(name + "_pb2")
        pb2_grpc = importlib.import_module(name + "_pb2_grpc")
    finally:
        # The modules are loaded; the directory is no longer needed.
        shutil.rmtree(outdir, ignore_errors=True)
        if outdir in sys.path:
            sys.path.remove(outdir)
    return pb2, pb2_grpc


def load_package_stubs(proto_root, proto_files):
    """Generates X_pb2 / X_pb2_grpc for `proto_files`, paths under `proto_root`
    that import each other by such paths (e.g. "grpc/testing/test.proto"), and
    imports them as modules of their folder's package (grpc.testing.test_pb2),
    which is what the generated imports expect. A package that already exists
    (grpc, the grpcio package itself) gets the generated folder added to its
    search path while the modules load; a missing one is made. Returns
    {"test_pb2": module, "test_pb2_grpc": module, ...}."""
    proto_root = os.path.abspath(proto_root)
    outdir = tempfile.mkdtemp(prefix="actio-interop-stubs-")
    grafted = []  # (package, folder) added to a package's __path__
    try:
        subprocess.run(
            ["protoc", "-I" + proto_root,
             "--python_out=" + outdir, "--grpc_python_out=" + outdir,
             "--plugin=protoc-gen-grpc_python=" + GRPC_PYTHON_PLUGIN, *proto_files],
            check=True)
        modules = {}
        for proto in proto_files:
            package_dir, base = os.path.split(os.path.splitext(proto)[0])
            parts = package_dir.split("/") if package_dir else []
            for i in range(len(parts)):
                name = ".".join(parts[:i + 1])
                folder = os.path.join(outdir, *parts[:i + 1])
                try:
                    package = importlib.import_module(name)
                except ModuleNotFoundError:
                    package = types.ModuleType(name)
                    package.__path__ = []
                    sys.modules[name] = package
                    if i > 0:
                        setattr(sys.modules[".".join(parts[:i])], parts[i], package)
                if folder not in package.__path__:
                    package.__path__.append(folder)
                    grafted.append((package, folder))
            prefix = ".".join(parts) + "." if parts else ""
            if not parts:
                sys.path.insert(0, outdir)
            for suffix in ("_pb2", "_pb2_grpc"):
                modules[base + suffix] = importlib.import_module(prefix + base + suffix)
    finally:
        # The modules are loaded: the folder and the search paths can go.
        for package, folder in grafted:
            try:
                package.__path__.remove(folder)
            except (ValueError, AttributeError):  # a namespace package's path
                pass
        if outdir in sys.path:
            sys.path.remove(outdir)
        shutil.rmtree(outdir, ignore_errors=True)
    return modules


async def serve_until_signal(server, requested_port, port_file, listening_line, grace,
                             credentials=None):
    """Binds 127.0.0.1:requested_port (0 picks one; with TLS if `credentials`,
    grpc.ssl_server_credentials, are given), starts `server`, writes the
    port to `port_file` (atomically) if given, prints `listening_line % port`,
    then serves until SIGTERM/SIGINT and stops with `grace`. Returns the exit
    code: 1 if the port could not be bound."""
    import asyncio
    import signal

    address = "127.0.0.1:%d" % requested_port
    if credentials is not None:
        port = server.add_secure_port(address, credentials)
    else:
        port = server.add_insecure_port(address)
    if port == 0:
        print("failed to bind 127.0.0.1:%d" % requested_port, file=sys.stderr)
        return 1
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await server.start()
    if port_file:
        tmp = port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % port)
        os.replace(tmp, port_file)  # atomic: readers never see a partial file
    print(listening_line % port, flush=True)
    await stop.wait()
    await server.stop(grace)
    return 0
