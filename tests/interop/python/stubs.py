"""Python stubs for the interop peers, generated at run time (nothing generated
is committed): protoc with grpc_python_plugin into a temp dir, then imported."""
import importlib
import os
import shutil
import subprocess
import sys
import tempfile

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
