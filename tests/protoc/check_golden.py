#!/usr/bin/env python3
"""Golden test of protoc-gen-actio: runs protoc with the plugin on every
tests/protoc/*.proto and compares what it writes with tests/protoc/golden/.

Usage: check_golden.py PLUGIN [--update]
--update rewrites the golden files from the plugin's output (review the diff)."""
import filecmp
import pathlib
import shutil
import subprocess
import sys
import tempfile

here = pathlib.Path(__file__).resolve().parent
golden = here / "golden"
plugin = sys.argv[1]
update = "--update" in sys.argv[2:]

with tempfile.TemporaryDirectory(prefix="actio-golden-") as out:
    protos = sorted(p.name for p in here.glob("*.proto"))
    subprocess.run(["protoc", f"--proto_path={here}", f"--plugin=protoc-gen-actio={plugin}",
                    f"--actio_out={out}", *protos], check=True)
    got = sorted(p.name for p in pathlib.Path(out).iterdir())
    if update:
        shutil.rmtree(golden, ignore_errors=True)
        shutil.copytree(out, golden)
        print(f"golden: wrote {len(got)} files")
        sys.exit(0)
    want = sorted(p.name for p in golden.iterdir())
    failed = False
    if got != want:
        print(f"FAIL: the plugin wrote {got}, the golden set is {want}")
        failed = True
    for name in sorted(set(got) & set(want)):
        if not filecmp.cmp(pathlib.Path(out) / name, golden / name, shallow=False):
            diff = subprocess.run(["diff", "-u", str(golden / name), str(pathlib.Path(out) / name)],
                                  capture_output=True, text=True).stdout
            print(f"FAIL: {name} differs from its golden file:\n{diff}")
            failed = True
    print(f"golden: {len(protos)} protos, {len(got)} files, {'FAILED' if failed else 'all match'}")
    sys.exit(1 if failed else 0)
