#!/usr/bin/python3
"""Python grpc.aio gRPC interop test server (grpc.testing.TestService).

The server side of doc/interop-test-descriptions.md in the grpc repository,
with the same behaviour as Actio's tests/interop/interop_server.cpp:
  * EmptyCall: Empty back.
  * UnaryCall: a payload of response_size zeros; compressed (gzip) iff
    response_compressed; INVALID_ARGUMENT if expect_compressed does not match
    how the request came; a non-OK response_status ends the call with it.
  * StreamingOutputCall / FullDuplexCall: per ResponseParameters, sleep
    interval_us, then send size zeros, compressed iff compressed (FullDuplex
    answers each request as it arrives; HalfDuplexCall after the half-close).
  * StreamingInputCall: the sum of the request payload sizes, with the
    expect_compressed check per request.
  * Every method echoes x-grpc-test-echo-initial (initial metadata) and
    x-grpc-test-echo-trailing-bin (trailing metadata).
  * UnimplementedCall and UnimplementedService: UNIMPLEMENTED.
With --use_tls true it serves TLS with --tls_cert_file / --tls_key_file.
Listens on 127.0.0.1 only; prints "interop_server: listening on
127.0.0.1:PORT" (flushed) once serving. SIGTERM/SIGINT -> stop(grace=1.0),
exit 0. Run with /usr/bin/python3 (Debian python3-grpcio, python3-protobuf);
stubs are generated at start-up (see stubs.py).
"""

import argparse
import asyncio
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from interop_common import (ECHO_INITIAL_KEY, ECHO_TRAILING_KEY,  # noqa: E402
                            NO_DECOMPRESSION_ARG, inflate_message,
                            load_testing_stubs, zeros)
from stubs import serve_until_signal  # noqa: E402


class Received:
    """A request and whether it came compressed (the server runs with gRPC's
    decompression off and inflates requests itself, see interop_common)."""
    __slots__ = ("message", "compressed")

    def __init__(self, message, compressed):
        self.message = message
        self.compressed = compressed


def receiving(message_type):
    def deserialize(raw):
        plain = inflate_message(raw)
        return Received(message_type.FromString(raw if plain is None else plain),
                        plain is not None)
    return deserialize


def make_service(empty_pb2, messages_pb2):
    import grpc

    codes = {c.value[0]: c for c in grpc.StatusCode}

    async def echo_metadata(context, send_initial=False):
        """Echoes the metadata; sends the initial metadata now if there is
        something to echo or `send_initial`."""
        incoming = context.invocation_metadata() or ()
        trailing = tuple((k, v) for k, v in incoming if k == ECHO_TRAILING_KEY)[:1]
        if trailing:
            context.set_trailing_metadata(trailing)
        initial = tuple((k, v) for k, v in incoming if k == ECHO_INITIAL_KEY)[:1]
        if initial or send_initial:
            await context.send_initial_metadata(initial)

    async def check_expected_compression(message, field, compressed, context):
        if not message.HasField(field):
            return
        expected = getattr(message, field).value
        if expected and not compressed:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT,
                                "Expected a compressed request, got an uncompressed one")
        if not expected and compressed:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT,
                                "Expected an uncompressed request, got a compressed one")

    async def maybe_echo_status(request, context):
        if request.HasField("response_status") and request.response_status.code != 0:
            await context.abort(codes.get(request.response_status.code, grpc.StatusCode.UNKNOWN),
                                request.response_status.message)

    async def check_response_type(request, context):
        if request.response_type != messages_pb2.COMPRESSABLE:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "Unsupported response_type")

    async def write_response(params, context):
        if params.interval_us > 0:
            await asyncio.sleep(params.interval_us / 1e6)
        if not params.compressed.value:
            context.disable_next_message_compression()
        await context.write(messages_pb2.StreamingOutputCallResponse(
            payload=zeros(messages_pb2, params.size)))

    def any_compressed(request):
        return any(p.compressed.value for p in request.response_parameters)

    class TestService:
        async def EmptyCall(self, received, context):
            await echo_metadata(context)
            return empty_pb2.Empty()

        async def UnaryCall(self, received, context):
            request = received.message
            # Compression first: it cannot change once the initial metadata went out.
            # grpc.aio 1.51 ends a unary call with initial metadata that
            # ignores set_compression() (_finish_handler_with_unary_response
            # sends None), so the response would go out uncompressed: send the
            # initial metadata explicitly then.
            if request.response_compressed.value:
                context.set_compression(grpc.Compression.Gzip)
            await echo_metadata(context, send_initial=request.response_compressed.value)
            await check_expected_compression(request, "expect_compressed", received.compressed, context)
            await maybe_echo_status(request, context)
            await check_response_type(request, context)
            return messages_pb2.SimpleResponse(payload=zeros(messages_pb2, request.response_size))

        async def StreamingOutputCall(self, received, context):
            request = received.message
            if any_compressed(request):
                context.set_compression(grpc.Compression.Gzip)
            await echo_metadata(context)
            await maybe_echo_status(request, context)
            await check_response_type(request, context)
            for params in request.response_parameters:
                await write_response(params, context)

        async def StreamingInputCall(self, request_iterator, context):
            await echo_metadata(context)
            total = 0
            async for received in request_iterator:
                await check_expected_compression(received.message, "expect_compressed",
                                                 received.compressed, context)
                total += len(received.message.payload.body)
            return messages_pb2.StreamingInputCallResponse(aggregated_payload_size=total)

        async def FullDuplexCall(self, request_iterator, context):
            # Which responses are wanted compressed is known per request, after
            # the initial metadata went out: compress the call with gzip and
            # send the others with disable_next_message_compression().
            context.set_compression(grpc.Compression.Gzip)
            await echo_metadata(context)
            async for received in request_iterator:
                await maybe_echo_status(received.message, context)
                await check_response_type(received.message, context)
                for params in received.message.response_parameters:
                    await write_response(params, context)

        async def HalfDuplexCall(self, request_iterator, context):
            requests = [received.message async for received in request_iterator]
            if any(any_compressed(r) for r in requests):
                context.set_compression(grpc.Compression.Gzip)
            await echo_metadata(context)
            for request in requests:
                await maybe_echo_status(request, context)
                await check_response_type(request, context)
                for params in request.response_parameters:
                    await write_response(params, context)

        async def UnimplementedCall(self, received, context):
            await context.abort(grpc.StatusCode.UNIMPLEMENTED, "Method not implemented!")

    return TestService()


def handlers(service, empty_pb2, messages_pb2):
    """grpc.testing.TestService's method table, with request deserializers
    that inflate requests themselves (the generated registration cannot)."""
    import grpc

    def serializer(message):
        return message.SerializeToString()

    unary = grpc.unary_unary_rpc_method_handler
    unary_stream = grpc.unary_stream_rpc_method_handler
    stream_unary = grpc.stream_unary_rpc_method_handler
    stream_stream = grpc.stream_stream_rpc_method_handler
    output = receiving(messages_pb2.StreamingOutputCallRequest)
    table = {
        "EmptyCall": unary(service.EmptyCall, receiving(empty_pb2.Empty), serializer),
        "UnaryCall": unary(service.UnaryCall, receiving(messages_pb2.SimpleRequest), serializer),
        "StreamingOutputCall": unary_stream(service.StreamingOutputCall, output, serializer),
        "StreamingInputCall": stream_unary(
            service.StreamingInputCall, receiving(messages_pb2.StreamingInputCallRequest), serializer),
        "FullDuplexCall": stream_stream(service.FullDuplexCall, output, serializer),
        "HalfDuplexCall": stream_stream(service.HalfDuplexCall, output, serializer),
        "UnimplementedCall": unary(service.UnimplementedCall, receiving(empty_pb2.Empty), serializer),
    }
    return grpc.method_handlers_generic_handler("grpc.testing.TestService", table)


async def serve(args, empty_pb2, messages_pb2):
    import grpc

    credentials = None
    if args.use_tls:
        with open(args.tls_key_file, "rb") as key, open(args.tls_cert_file, "rb") as cert:
            credentials = grpc.ssl_server_credentials(((key.read(), cert.read()),))
    server = grpc.aio.server(options=[NO_DECOMPRESSION_ARG])
    server.add_generic_rpc_handlers(
        (handlers(make_service(empty_pb2, messages_pb2), empty_pb2, messages_pb2),))
    return await serve_until_signal(server, args.port, args.port_file,
                                    "interop_server: listening on 127.0.0.1:%d", 1.0,
                                    credentials)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0,
                        help="port on 127.0.0.1 (0 = pick a free one)")
    parser.add_argument("--use_tls", choices=("true", "false"), default="false",
                        help="true: TLS with --tls_cert_file / --tls_key_file")
    parser.add_argument("--tls_cert_file", help="PEM certificate chain for TLS")
    parser.add_argument("--tls_key_file", help="PEM private key for TLS")
    parser.add_argument("--port-file", default=None,
                        help="write the bound port to this file")
    args = parser.parse_args()
    args.use_tls = args.use_tls == "true"
    if args.use_tls and not (args.tls_cert_file and args.tls_key_file):
        print("interop_server.py: --use_tls true needs --tls_cert_file and --tls_key_file",
              file=sys.stderr)
        return 2
    empty_pb2, messages_pb2, _ = load_testing_stubs()
    return asyncio.run(serve(args, empty_pb2, messages_pb2))


if __name__ == "__main__":
    sys.exit(main())
