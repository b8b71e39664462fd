#!/usr/bin/python3
"""Python grpc.aio gRPC interop test client (grpc.testing.TestService).

The client test cases of doc/interop-test-descriptions.md in the grpc
repository, with the same checks as Actio's tests/interop/interop_client.cpp
(tests/interop/README.md lists them). Prints "PASS <case>" or
"FAIL <case>: <why>" per case, then "<N> passed, <M> failed"; the exit status
is 0 iff every case passed. Run with /usr/bin/python3 (Debian python3-grpcio,
python3-protobuf); stubs are generated at start-up (see stubs.py).
"""

import argparse
import asyncio
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from interop_common import (ECHO_INITIAL_KEY, ECHO_TRAILING_KEY,  # noqa: E402
                            NO_DECOMPRESSION_ARG, inflating_deserializer,
                            load_testing_stubs, zeros)

TIMEOUT = 10.0  # upper bound on every call, so that no case can hang
SPECIAL_MESSAGE = "\t\ntest with whitespace\r\nand Unicode BMP \u263a and non-BMP \U0001f608\t\n"


class Failure(Exception):
    """A failed assertion of a test case."""


def expect(condition, what):
    if not condition:
        raise Failure(what)


def describe(err):
    return "%s %r" % (err.code().name, err.details())


async def expect_error(awaitable, what):
    import grpc
    try:
        await awaitable
    except grpc.aio.AioRpcError as e:
        return e
    raise Failure("%s succeeded, want an error" % what)


def check_error(err, code, what, details=None):
    expect(err.code() == code, "%s: got %s, want %s" % (what, describe(err), code.name))
    if details is not None:
        expect(err.details() == details,
               "%s: details %r, want %r" % (what, err.details(), details))


def check_payload(payload, size, what):
    expect(len(payload.body) == size,
           "%s: payload of %d bytes, want %d" % (what, len(payload.body), size))
    expect(payload.body.count(0) == size, "%s: payload is not all zeros" % what)


def metadata_values(metadata, key):
    return [v for k, v in (metadata or ()) if k == key]


class Cases:
    """The test cases; each returns a note for the PASS line or raises."""

    def __init__(self, empty_pb2, messages_pb2, test_pb2_grpc, channel, raw_channel):
        self.empty_pb2 = empty_pb2
        self.pb2 = messages_pb2
        self.stub = test_pb2_grpc.TestServiceStub(channel)
        self.unimplemented = test_pb2_grpc.UnimplementedServiceStub(channel)
        self.raw_channel = raw_channel

    def large_request(self, **fields):
        return self.pb2.SimpleRequest(response_size=314159,
                                      payload=zeros(self.pb2, 271828), **fields)

    def output_request(self, response_size, payload_size=0):
        request = self.pb2.StreamingOutputCallRequest(
            response_parameters=[self.pb2.ResponseParameters(size=response_size)])
        if payload_size:
            request.payload.CopyFrom(zeros(self.pb2, payload_size))
        return request

    async def empty_unary(self):
        response = await self.stub.EmptyCall(self.empty_pb2.Empty(), timeout=TIMEOUT)
        expect(response is not None and response.ByteSize() == 0, "the response is not empty")

    async def large_unary(self):
        response = await self.stub.UnaryCall(self.large_request(), timeout=TIMEOUT)
        check_payload(response.payload, 314159, "response")

    async def client_compressed_unary(self):
        import grpc
        request = self.large_request(expect_compressed=self.pb2.BoolValue(value=True))
        probe = await expect_error(self.stub.UnaryCall(request, timeout=TIMEOUT),
                                   "the uncompressed probe")
        check_error(probe, grpc.StatusCode.INVALID_ARGUMENT,
                    "the uncompressed probe (expect_compressed=true)")
        response = await self.stub.UnaryCall(request, timeout=TIMEOUT,
                                             compression=grpc.Compression.Gzip)
        check_payload(response.payload, 314159, "compressed request")
        request = self.large_request(expect_compressed=self.pb2.BoolValue(value=False))
        response = await self.stub.UnaryCall(request, timeout=TIMEOUT)
        check_payload(response.payload, 314159, "uncompressed request")

    async def server_compressed_unary(self):
        log = []
        unary = self.raw_channel.unary_unary(
            "/grpc.testing.TestService/UnaryCall",
            request_serializer=self.pb2.SimpleRequest.SerializeToString,
            response_deserializer=inflating_deserializer(self.pb2.SimpleResponse, log))
        for want in (True, False):
            what = "response_compressed=%s" % ("true" if want else "false")
            request = self.large_request(response_compressed=self.pb2.BoolValue(value=want))
            response = await unary(request, timeout=TIMEOUT)
            check_payload(response.payload, 314159, what)
            expect(log and log[-1] == want, "%s: the response came %s"
                   % (what, "uncompressed" if want else "compressed"))

    async def client_streaming(self):
        call = self.stub.StreamingInputCall(timeout=TIMEOUT)
        for size in (27182, 8, 1828, 45904):
            await call.write(self.pb2.StreamingInputCallRequest(payload=zeros(self.pb2, size)))
        await call.done_writing()
        response = await call
        expect(response.aggregated_payload_size == 74922,
               "aggregated_payload_size %d, want 74922" % response.aggregated_payload_size)

    async def client_compressed_streaming(self):
        import grpc
        first = self.pb2.StreamingInputCallRequest(
            expect_compressed=self.pb2.BoolValue(value=True), payload=zeros(self.pb2, 27182))
        # The probe: one uncompressed request that claims to be compressed.
        call = self.stub.StreamingInputCall(timeout=TIMEOUT)
        try:
            await call.write(first)
            await call.done_writing()
        except (grpc.aio.AioRpcError, asyncio.InvalidStateError):
            pass  # the server already ended the call: its status follows
        probe = await expect_error(call, "the uncompressed probe")
        check_error(probe, grpc.StatusCode.INVALID_ARGUMENT,
                    "the uncompressed probe (expect_compressed=true)")
        # A compressing call: the first request goes out compressed; the second
        # must go out uncompressed. grpc.aio cannot switch compression off for
        # one message, so its body is 45904 incompressible bytes, which gRPC
        # sends uncompressed, instead of zeros.
        call = self.stub.StreamingInputCall(timeout=TIMEOUT, compression=grpc.Compression.Gzip)
        await call.write(first)
        await call.write(self.pb2.StreamingInputCallRequest(
            expect_compressed=self.pb2.BoolValue(value=False),
            payload=self.pb2.Payload(body=random.Random(45904).randbytes(45904))))
        await call.done_writing()
        response = await call
        expect(response.aggregated_payload_size == 73086,
               "aggregated_payload_size %d, want 73086" % response.aggregated_payload_size)
        return "second request: incompressible bytes, not zeros"

    async def server_streaming(self):
        sizes = [31415, 9, 2653, 58979]
        request = self.pb2.StreamingOutputCallRequest(
            response_parameters=[self.pb2.ResponseParameters(size=s) for s in sizes])
        got = 0
        async for response in self.stub.StreamingOutputCall(request, timeout=TIMEOUT):
            expect(got < len(sizes), "more than %d responses" % len(sizes))
            check_payload(response.payload, sizes[got], "response #%d" % (got + 1))
            got += 1
        expect(got == len(sizes), "%d responses, want %d" % (got, len(sizes)))

    async def server_compressed_streaming(self):
        log = []
        stream = self.raw_channel.unary_stream(
            "/grpc.testing.TestService/StreamingOutputCall",
            request_serializer=self.pb2.StreamingOutputCallRequest.SerializeToString,
            response_deserializer=inflating_deserializer(self.pb2.StreamingOutputCallResponse, log))
        request = self.pb2.StreamingOutputCallRequest(response_parameters=[
            self.pb2.ResponseParameters(size=31415, compressed=self.pb2.BoolValue(value=True)),
            self.pb2.ResponseParameters(size=92653, compressed=self.pb2.BoolValue(value=False)),
        ])
        sizes = [len(r.payload.body) async for r in stream(request, timeout=TIMEOUT)]
        expect(sizes == [31415, 92653], "responses of the wrong number or sizes: %s" % sizes)
        expect(len(log) == 2 and log[0], "the first response (compressed=true) came uncompressed")
        expect(not log[1], "the second response (compressed=false) came compressed")

    async def ping_pong(self):
        import grpc
        call = self.stub.FullDuplexCall(timeout=TIMEOUT)
        for n, (response_size, payload_size) in enumerate(
                [(31415, 27182), (9, 8), (2653, 1828), (58979, 45904)], 1):
            await call.write(self.output_request(response_size, payload_size))
            response = await call.read()
            expect(response is not grpc.aio.EOF, "no response to request #%d" % n)
            check_payload(response.payload, response_size, "response #%d" % n)
        await call.done_writing()
        expect(await call.read() is grpc.aio.EOF, "more than four responses")
        code = await call.code()
        expect(code == grpc.StatusCode.OK, "status %s" % code.name)

    async def empty_stream(self):
        import grpc
        call = self.stub.FullDuplexCall(timeout=TIMEOUT)
        await call.done_writing()
        expect(await call.read() is grpc.aio.EOF, "a response came")
        code = await call.code()
        expect(code == grpc.StatusCode.OK, "status %s" % code.name)

    async def cancel_after_begin(self):
        import grpc
        call = self.stub.StreamingInputCall(timeout=TIMEOUT)
        await call.wait_for_connection()  # the call's metadata went out
        expect(call.cancel(), "cancel() found the call already done")
        code = await call.code()
        expect(code == grpc.StatusCode.CANCELLED, "status %s, want CANCELLED" % code.name)

    async def cancel_after_first_response(self):
        import grpc
        call = self.stub.FullDuplexCall(timeout=TIMEOUT)
        await call.write(self.output_request(31415, 27182))
        response = await call.read()
        expect(response is not grpc.aio.EOF, "no response")
        check_payload(response.payload, 31415, "response")
        expect(call.cancel(), "cancel() found the call already done")
        code = await call.code()
        expect(code == grpc.StatusCode.CANCELLED, "status %s, want CANCELLED" % code.name)

    async def timeout_on_sleeping_server(self):
        import grpc
        call = self.stub.FullDuplexCall(timeout=0.001)
        try:
            await call.write(self.pb2.StreamingOutputCallRequest(payload=zeros(self.pb2, 27182)))
        except (grpc.aio.AioRpcError, asyncio.InvalidStateError):
            pass  # the deadline may pass before the write: the status tells
        code = await call.code()
        expect(code == grpc.StatusCode.DEADLINE_EXCEEDED,
               "status %s, want DEADLINE_EXCEEDED" % code.name)

    async def custom_metadata(self):
        metadata = ((ECHO_INITIAL_KEY, "test_initial_metadata_value"),
                    (ECHO_TRAILING_KEY, b"\xab\xab\xab"))

        async def check_echoed(call, what):
            initial = await call.initial_metadata()
            trailing = await call.trailing_metadata()
            expect(metadata_values(initial, ECHO_INITIAL_KEY) == ["test_initial_metadata_value"],
                   "%s: initial metadata %r" % (what, initial))
            expect(metadata_values(trailing, ECHO_TRAILING_KEY) == [b"\xab\xab\xab"],
                   "%s: trailing metadata %r" % (what, trailing))

        call = self.stub.UnaryCall(self.large_request(), timeout=TIMEOUT, metadata=metadata)
        response = await call
        check_payload(response.payload, 314159, "UnaryCall")
        await check_echoed(call, "UnaryCall")

        call = self.stub.FullDuplexCall(timeout=TIMEOUT, metadata=metadata)
        await call.write(self.output_request(314159, 271828))
        await call.done_writing()
        n = 0
        async for response in call:
            check_payload(response.payload, 314159, "FullDuplexCall")
            n += 1
        expect(n == 1, "FullDuplexCall: %d responses, want 1" % n)
        await check_echoed(call, "FullDuplexCall")

    async def check_echoed_status(self, message, also_full_duplex):
        import grpc
        status = self.pb2.EchoStatus(code=2, message=message)
        error = await expect_error(
            self.stub.UnaryCall(self.pb2.SimpleRequest(response_status=status), timeout=TIMEOUT),
            "UnaryCall")
        check_error(error, grpc.StatusCode.UNKNOWN, "UnaryCall", message)
        if not also_full_duplex:
            return
        call = self.stub.FullDuplexCall(timeout=TIMEOUT)
        await call.write(self.pb2.StreamingOutputCallRequest(response_status=status))
        await call.done_writing()
        try:
            async for _ in call:
                pass
        except grpc.aio.AioRpcError as e:
            check_error(e, grpc.StatusCode.UNKNOWN, "FullDuplexCall", message)
        else:
            raise Failure("FullDuplexCall ended OK, want an error")

    async def status_code_and_message(self):
        await self.check_echoed_status("test status message", True)

    async def special_status_message(self):
        await self.check_echoed_status(SPECIAL_MESSAGE, False)

    async def unimplemented_method(self):
        import grpc
        error = await expect_error(
            self.stub.UnimplementedCall(self.empty_pb2.Empty(), timeout=TIMEOUT),
            "TestService/UnimplementedCall")
        check_error(error, grpc.StatusCode.UNIMPLEMENTED, "TestService/UnimplementedCall")

    async def unimplemented_service(self):
        import grpc
        error = await expect_error(
            self.unimplemented.UnimplementedCall(self.empty_pb2.Empty(), timeout=TIMEOUT),
            "UnimplementedService/UnimplementedCall")
        check_error(error, grpc.StatusCode.UNIMPLEMENTED, "UnimplementedService/UnimplementedCall")


# The order of grpc's interop client ("all"), as interop_client.cpp.
CASES = [
    "empty_unary", "large_unary", "client_compressed_unary", "server_compressed_unary",
    "client_streaming", "client_compressed_streaming", "server_streaming",
    "server_compressed_streaming", "ping_pong", "empty_stream", "cancel_after_begin",
    "cancel_after_first_response", "timeout_on_sleeping_server", "custom_metadata",
    "status_code_and_message", "special_status_message", "unimplemented_method",
    "unimplemented_service",
]


def make_channel(args, options):
    import grpc
    target = "%s:%d" % (args.server_host, args.server_port)
    if not args.use_tls:
        return grpc.aio.insecure_channel(target, options=options)
    roots = None
    if args.ca_file:
        with open(args.ca_file, "rb") as f:
            roots = f.read()
    if args.server_host_override:
        options = options + [("grpc.ssl_target_name_override", args.server_host_override)]
    return grpc.aio.secure_channel(target, grpc.ssl_channel_credentials(roots), options=options)


async def run_cases(args, names, stubs):
    import grpc
    passed = failed = 0
    async with make_channel(args, []) as channel, \
            make_channel(args, [NO_DECOMPRESSION_ARG]) as raw_channel:
        cases = Cases(*stubs, channel, raw_channel)
        for name in names:
            try:
                note = await asyncio.wait_for(getattr(cases, name)(), TIMEOUT + 5.0)
            except Failure as e:
                failure = str(e)
            except grpc.aio.AioRpcError as e:
                failure = "unexpected status %s" % describe(e)
            except asyncio.TimeoutError:
                failure = "the case timed out"
            except Exception as e:  # noqa: BLE001 -- report, don't crash
                failure = "unexpected error: %s: %s" % (type(e).__name__, e)
            else:
                failure = None
            if failure is None:
                passed += 1
                print("PASS %s%s" % (name, " (%s)" % note if note else ""), flush=True)
            else:
                failed += 1
                print("FAIL %s: %s" % (name, failure), flush=True)
    print("%d passed, %d failed" % (passed, failed), flush=True)
    return 0 if failed == 0 else 1


def parse_bool(text):
    if text in ("true", "1"):
        return True
    if text in ("false", "0"):
        return False
    raise argparse.ArgumentTypeError("not a boolean: %s" % text)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server_host", default="127.0.0.1")
    parser.add_argument("--server_port", type=int, required=True)
    parser.add_argument("--test_case", default="all",
                        help="a test case name, a comma-separated list, or all (default)")
    parser.add_argument("--use_tls", type=parse_bool, default=False,
                        help="true: TLS (with --ca_file as the root certificates)")
    parser.add_argument("--ca_file", default=None,
                        help="PEM root certificates for TLS (default: the system roots)")
    parser.add_argument("--server_host_override", default=None,
                        help="the server name TLS expects")
    args = parser.parse_args()
    names = CASES if args.test_case == "all" else args.test_case.split(",")
    unknown = [n for n in names if n not in CASES]
    if unknown:
        print("interop_client.py: unknown test case %r" % unknown[0], file=sys.stderr)
        return 2
    return asyncio.run(run_cases(args, names, load_testing_stubs()))


if __name__ == "__main__":
    sys.exit(main())
