#!/usr/bin/python3
"""Python grpc.aio Greeter server used as an interop peer for Actio.

Run with the Debian interpreter (/usr/bin/python3, python3-grpcio and
python3-protobuf).  Stubs are generated at start-up into a temporary directory
from the helloworld proto (see --proto), so nothing generated is committed.

Behaviour:
  * SayHello replies "Hello, <name>!".
  * Sends initial metadata ("x-server", "python") and trailing metadata
    ("x-trailer", "done"); echoes request metadata "x-client" back as trailing
    ("x-client-echo", value).
  * Request metadata key "x-fail" -> abort INVALID_ARGUMENT "asked to fail".
  * name == "slow" -> sleep 2 s before answering (deadline tests).
  * Prints "LISTENING <port>" (flushed) once serving; writes the port to
    --port-file if given.  SIGTERM/SIGINT -> stop(grace=0.5), exit 0.
"""

import argparse
import asyncio
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from stubs import DEFAULT_PROTO, load_stubs, serve_until_signal  # noqa: E402



async def serve(args, pb2, pb2_grpc):
    import grpc

    class Greeter(pb2_grpc.GreeterServicer):
        async def SayHello(self, request, context):
            md = {}
            for key, value in context.invocation_metadata() or ():
                md.setdefault(key, value)
            trailing = [("x-trailer", "done")]
            if "x-client" in md:
                trailing.append(("x-client-echo", md["x-client"]))
            await context.send_initial_metadata((("x-server", "python"),))
            context.set_trailing_metadata(tuple(trailing))
            if "x-fail" in md:
                await context.abort(grpc.StatusCode.INVALID_ARGUMENT,
                                    "asked to fail")
            if request.name == "slow":
                await asyncio.sleep(2.0)
            return pb2.HelloReply(message="Hello, %s!" % request.name)

    server = grpc.aio.server()
    pb2_grpc.add_GreeterServicer_to_server(Greeter(), server)
    return await serve_until_signal(server, args.port, args.port_file, "LISTENING %d", 0.5)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0,
                        help="port on 127.0.0.1 (0 = pick a free one)")
    parser.add_argument("--port-file", default=None,
                        help="write the bound port to this file")
    parser.add_argument("--proto", default=DEFAULT_PROTO,
                        help="path to helloworld.proto")
    args = parser.parse_args()
    pb2, pb2_grpc = load_stubs(args.proto)
    return asyncio.run(serve(args, pb2, pb2_grpc))


if __name__ == "__main__":
    sys.exit(main())
