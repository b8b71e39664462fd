#!/usr/bin/env python3
"""Counts passed/failed test cases in a meson testlog.json.

A gtest executable counts each of its cases (meson records them in the
"testcases"-less stdout, so we parse gtest's summary lines); a script test
counts as one. Prints "PASSED FAILED".
"""
import json
import re
import sys

passed = failed = 0
try:
    lines = open(sys.argv[1]).read().splitlines()
except OSError:
    print("0 1")
    sys.exit(0)
for line in lines:
    t = json.loads(line)
    out = t.get("stdout") or ""
    ok_cases = len(re.findall(r"^\[       OK \] ", out, re.M))
    bad_cases = len(set(re.findall(r"^\[  FAILED  \] (\S+) \(", out, re.M)))
    if ok_cases or bad_cases:
        passed += ok_cases
        failed += bad_cases
        # A crash after the cases ran (sanitizer report, abort) still fails.
        if t["result"] != "OK" and bad_cases == 0:
            failed += 1
    else:
        if t["result"] in ("OK", "EXPECTEDFAIL"):
            passed += 1
        elif t["result"] != "SKIP":
            failed += 1
print(passed, failed)
