#!/bin/sh
# Generate Python helloworld stubs into OUTDIR (never commit the output).
# Usage: gen_stubs.sh OUTDIR [PROTO]
# The Python peers in this directory generate their own stubs; this script is
# only a convenience for manual use.
set -eu
if [ $# -lt 1 ]; then
    echo "usage: $0 OUTDIR [PROTO]" >&2
    exit 2
fi
OUTDIR=$1
HERE=$(cd "$(dirname "$0")" && pwd)
PROTO=${2:-$HERE/../../../samples/helloworld/helloworld.proto}
PROTODIR=$(cd "$(dirname "$PROTO")" && pwd)
mkdir -p "$OUTDIR"
exec protoc -I"$PROTODIR" --python_out="$OUTDIR" --grpc_python_out="$OUTDIR" \
    --plugin=protoc-gen-grpc_python=/usr/bin/grpc_python_plugin \
    "$(basename "$PROTO")"
