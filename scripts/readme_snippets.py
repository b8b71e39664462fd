#!/usr/bin/env python3
"""Keeps README code blocks identical to regions of the samples.

A README block preceded by `<!-- snippet: PATH#NAME -->` must equal the lines
between the two `// [NAME]` markers in PATH. Run with --fix to rewrite the
README from the samples; without it, exit 1 on any drift (a test runs this).
"""
import pathlib
import re
import sys

root = pathlib.Path(__file__).resolve().parent.parent
readme_path = root / "README.md"
readme = readme_path.read_text()
fix = "--fix" in sys.argv


def region(path, name):
    lines = (root / path).read_text().splitlines()
    marks = [i for i, l in enumerate(lines) if l.strip() == f"// [{name}]"]
    if len(marks) != 2:
        raise SystemExit(f"{path}: expected two '// [{name}]' markers, found {len(marks)}")
    return "\n".join(lines[marks[0] + 1:marks[1]]).rstrip() + "\n"


pattern = re.compile(r"(<!-- snippet: (\S+?)#(\S+?) -->\n```(\w*)\n)(.*?)(```)", re.S)
drift = []


def replace(m):
    want = region(m.group(2), m.group(3))
    if m.group(5) != want:
        drift.append(f"{m.group(2)}#{m.group(3)}")
    return m.group(1) + want + m.group(6)


new = pattern.sub(replace, readme)
count = len(pattern.findall(readme))
if fix:
    readme_path.write_text(new)
    print(f"README: {count} snippets written")
elif drift:
    print("README snippets differ from the samples (run scripts/readme_snippets.py --fix):")
    for d in drift:
        print("  " + d)
    sys.exit(1)
else:
    print(f"README: {count} snippets match the samples")
    if count == 0:
        sys.exit(1)
