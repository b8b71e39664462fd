"""What the Python interop server and client share (the twin of
tests/interop/interop_common.hpp): the grpc.testing stubs, payloads, and how
a peer learns whether a message came compressed.

grpc.aio does not tell an application whether a received message had the
compressed flag set. So the peers that must know it (the server, for
expect_compressed; the client, for server_compressed_*) turn gRPC's own
per-message decompression off ("grpc.per_message_decompression" = 0): gRPC
then hands over each message as it came off the wire, and the peer inflates
it itself. A message that is a complete gzip/zlib stream came compressed (an
uncompressed protobuf of these types never is one)."""
import os
import zlib

from stubs import load_package_stubs

HERE = os.path.dirname(os.path.abspath(__file__))
PROTO_ROOT = os.path.join(HERE, "..", "proto")
PROTO_FILES = ["grpc/testing/empty.proto", "grpc/testing/messages.proto",
               "grpc/testing/test.proto"]

NO_DECOMPRESSION_ARG = ("grpc.per_message_decompression", 0)
ECHO_INITIAL_KEY = "x-grpc-test-echo-initial"
ECHO_TRAILING_KEY = "x-grpc-test-echo-trailing-bin"


def load_testing_stubs():
    """Returns (empty_pb2, messages_pb2, test_pb2_grpc) for grpc.testing."""
    modules = load_package_stubs(PROTO_ROOT, PROTO_FILES)
    return modules["empty_pb2"], modules["messages_pb2"], modules["test_pb2_grpc"]


def inflate_message(raw):
    """The message inside `raw` if `raw` is one complete gzip or zlib stream
    (what gRPC's "gzip" and "deflate" message compression send), else None."""
    if len(raw) < 2:
        return None
    inflater = zlib.decompressobj(wbits=15 + 32)  # 32: gzip or zlib header
    try:
        out = inflater.decompress(raw)
    except zlib.error:
        return None
    if not inflater.eof or inflater.unused_data:
        return None
    return out


def inflating_deserializer(message_type, log=None):
    """A response/request deserializer for a peer with gRPC's decompression
    off: decodes `message_type` from a message that may be compressed. With
    `log` (a list), appends per message whether it was."""
    def deserialize(raw):
        plain = inflate_message(raw)
        if log is not None:
            log.append(plain is not None)
        return message_type.FromString(raw if plain is None else plain)
    return deserialize


def zeros(messages_pb2, size):
    """A payload of `size` zero bytes."""
    return messages_pb2.Payload(type=messages_pb2.COMPRESSABLE, body=bytes(size))
