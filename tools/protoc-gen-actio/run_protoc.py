#!/usr/bin/env python3
"""Runs protoc for meson's `actio_protoc` generator:
  run_protoc.py PROTOC PLUGIN SOURCE_DIR OUT_DIR INPUT [EXTRA_PROTOC_ARGS...]
Import paths: the folder of INPUT itself first (so the outputs are named
after the file alone, as meson's generator expects, wherever the .proto
lives, e.g. ../helloworld/x.proto), then the folder of the meson.build
(SOURCE_DIR), then any extra -I/--proto_path given by the caller."""
import os
import subprocess
import sys

protoc, plugin, source_dir, out_dir, input_proto, *extra = sys.argv[1:]
input_dir = os.path.dirname(input_proto) or "."
paths = [input_dir]
if os.path.normpath(input_dir) != os.path.normpath(source_dir):
    paths.append(source_dir)
cmd = [protoc, *("--proto_path=" + p for p in paths), *extra,
       "--cpp_out=" + out_dir, "--actio_out=" + out_dir, "--plugin=protoc-gen-actio=" + plugin, input_proto]
sys.exit(subprocess.call(cmd))
