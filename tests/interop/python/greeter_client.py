#!/usr/bin/python3
"""Python grpc.aio Greeter client used as an interop peer for Actio.

Runs a fixed set of checks against a Greeter server and prints
"PASS <check>" or "FAIL <check>: <why>" per check, then
"<N> passed, <M> failed".  Exit status is 0 iff every check passed.

Run with the Debian interpreter (/usr/bin/python3).  Stubs are generated at
start-up into a temporary directory from the helloworld proto (see --proto).
"""

import argparse
import asyncio
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from stubs import DEFAULT_PROTO, load_stubs  # noqa: E402

TIMEOUT = 5.0  # upper bound on every RPC / check so nothing hangs


class CheckFailed(Exception):
    pass


def describe(err):
    import grpc
    if isinstance(err, grpc.aio.AioRpcError):
        return "%s: %r" % (err.code().name, err.details())
    return "%s: %s" % (type(err).__name__, err)


async def run_checks(args, pb2, pb2_grpc):
    import grpc

    results = []  # (name, ok, text)

    async with grpc.aio.insecure_channel(args.target) as channel:
        stub = pb2_grpc.GreeterStub(channel)

        async def check_say_hello():
            reply = await stub.SayHello(pb2.HelloRequest(name=args.name),
                                        timeout=TIMEOUT)
            want = "Hello, %s!" % args.name
            if reply.message != want:
                raise CheckFailed("message %r, want %r" % (reply.message, want))

        async def check_metadata():
            call = stub.SayHello(
                pb2.HelloRequest(name=args.name), timeout=TIMEOUT,
                metadata=(("x-client", "abc"), ("x-bin-bin", b"\x00\x01")))
            reply = await call
            initial = await call.initial_metadata()
            trailing = await call.trailing_metadata()
            code = await call.code()
            if code != grpc.StatusCode.OK:
                raise CheckFailed("status %s" % code.name)
            if not reply.message:
                raise CheckFailed("empty reply message")
            return "initial=%s trailing=%s" % (
                list(tuple(initial or ())), list(tuple(trailing or ())))

        async def check_many():
            n = 50
            names = ["n%d" % i for i in range(n)]
            replies = await asyncio.gather(
                *(stub.SayHello(pb2.HelloRequest(name=x), timeout=TIMEOUT)
                  for x in names),
                return_exceptions=True)
            bad = []
            for x, r in zip(names, replies):
                if isinstance(r, BaseException):
                    bad.append("%s -> %s" % (x, describe(r)))
                elif r.message != "Hello, %s!" % x:
                    bad.append("%s -> %r" % (x, r.message))
            if bad:
                raise CheckFailed("%d/%d failed, first: %s"
                                  % (len(bad), n, bad[0]))

        async def check_deadline():
            try:
                await stub.SayHello(pb2.HelloRequest(name="slow"), timeout=0.2)
            except grpc.aio.AioRpcError as e:
                if e.code() == grpc.StatusCode.DEADLINE_EXCEEDED:
                    return "DEADLINE_EXCEEDED"
                raise CheckFailed("unexpected %s" % describe(e))
            return "OK (server does not implement slow)"

        async def check_unknown_method():
            nope = channel.unary_unary("/helloworld.Greeter/Nope")
            try:
                await nope(b"", timeout=TIMEOUT)
            except grpc.aio.AioRpcError as e:
                if e.code() == grpc.StatusCode.UNIMPLEMENTED:
                    return None
                raise CheckFailed("got %s, want UNIMPLEMENTED" % describe(e))
            raise CheckFailed("call succeeded, want UNIMPLEMENTED")

        checks = [
            ("say_hello", check_say_hello),
            ("metadata", check_metadata),
            ("many", check_many),
            ("deadline", check_deadline),
            ("unknown_method", check_unknown_method),
        ]
        for name, fn in checks:
            try:
                note = await asyncio.wait_for(fn(), TIMEOUT + 1.0)
            except CheckFailed as e:
                results.append((name, False, str(e)))
            except asyncio.TimeoutError:
                results.append((name, False, "check timed out"))
            except Exception as e:  # noqa: BLE001 -- report, don't crash
                results.append((name, False, describe(e)))
            else:
                results.append((name, True, note))
            ok, text = results[-1][1], results[-1][2]
            if ok:
                print("PASS %s%s" % (name, " (%s)" % text if text else ""),
                      flush=True)
            else:
                print("FAIL %s: %s" % (name, text), flush=True)

    passed = sum(1 for _, ok, _ in results if ok)
    failed = len(results) - passed
    print("%d passed, %d failed" % (passed, failed), flush=True)
    return 0 if failed == 0 else 1


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", required=True, help="HOST:PORT")
    parser.add_argument("--name", default="python")
    parser.add_argument("--proto", default=DEFAULT_PROTO,
                        help="path to helloworld.proto")
    args = parser.parse_args()
    pb2, pb2_grpc = load_stubs(args.proto)
    return asyncio.run(run_checks(args, pb2, pb2_grpc))


if __name__ == "__main__":
    sys.exit(main())
