#!/usr/bin/env python3
"""Regenerates the listings in docs/: every region

    <!-- locklab: ARGS -->
    ...
    <!-- /locklab -->

is replaced by the output of `locklab ARGS` (the release binary, built
first), so the book shows real runs, never hand-drawn ones.

Run from the repository root:  python3 scripts/docs.py [docs/FILE.md ...]
"""
import pathlib
import re
import shlex
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
REGION = re.compile(r"(<!-- locklab: (.*?) -->\n)(.*?)(<!-- /locklab -->)", re.S)


def main() -> int:
    subprocess.run(["cargo", "build", "--release", "-q", "-p", "locklab", "--all-features"], cwd=ROOT, check=True)
    binary = ROOT / "target" / "release" / "locklab"
    files = [pathlib.Path(f) for f in sys.argv[1:]] or sorted((ROOT / "docs").glob("*.md"))
    for path in files:
        text = path.read_text()

        def run(match: re.Match) -> str:
            args = shlex.split(match.group(2))
            print(f"{path.name}: locklab {' '.join(args)}", file=sys.stderr)
            done = subprocess.run([binary, *args], cwd=ROOT, capture_output=True, text=True, timeout=600)
            if done.returncode not in (0, 1):
                raise SystemExit(f"locklab {' '.join(args)} failed ({done.returncode}): {done.stderr}")
            body = f"```text\n$ locklab {' '.join(args)}\n{done.stdout.rstrip()}\n```\n"
            return match.group(1) + body + match.group(4)

        new = REGION.sub(run, text)
        if new != text:
            path.write_text(new)
    return 0


if __name__ == "__main__":
    sys.exit(main())
