#!/usr/bin/env python3
"""Runs protoc for meson's `actio_protoc` generator:
  run_protoc.py PROTOC PLUGIN SOURCE_DIR OUT_DIR INPUT [EXTRA_PROTOC_ARGS...]
Import paths: the folder of the meson.build (SOURCE_DIR), then the folder of
INPUT itself (so a .proto from another folder, e.g. ../helloworld/x.proto,
needs nothing extra), then any extra -I/--proto_path given by the caller."""
import os
import subprocess
import sys

protoc, plugin, source_dir, out_dir, input_proto, *extra = sys.argv[1:]
paths = [source_dir]
input_dir = os.path.dirname(input_proto) or "."
if os.path.normpath(input_dir) != os.path.normpath(source_dir):
    paths.append(input_dir)
cmd = [protoc, *("--proto_path=" + p for p in paths), *extra,
       "--cpp_out=" + out_dir, "--actio_out=" + out_dir, "--plugin=protoc-gen-actio=" + plugin, input_proto]
sys.exit(subprocess.call(cmd))
