#!/usr/bin/env python3
"""Regenerates what docs/ shows of real runs, so the book never shows a
hand-drawn one:

    <!-- locklab: ARGS -->
    ...
    <!-- /locklab -->

is replaced by the output of `locklab ARGS` (the release binary, built
first), and

    <!-- locklab figure: NAME [NAME...] | ARGS | ARGS ... -->
    ...
    <!-- /locklab -->

by the diagrams NAME of the report made from the `--json` output of each
`locklab ARGS` (`locklab report --from ... --svg-dir docs/figures --figure
NAME`): the same drawing code as `locklab report`, written to
docs/figures/NAME.svg and linked from the region.

With --screenshot it instead makes a default `locklab report` and saves a
screenshot of one counterexample card as docs/report.png (for the README),
with the browser test's driver (needs `bash scripts/setup.sh`).

Run from the repository root:  python3 scripts/docs.py [--screenshot] [docs/FILE.md ...]
"""
import pathlib
import re
import shlex
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parent.parent
REGION = re.compile(r"(<!-- locklab: (.*?) -->\n)(.*?)(<!-- /locklab -->)", re.S)
FIGURE = re.compile(r"(<!-- locklab figure: (.*?) -->\n)(.*?)(<!-- /locklab -->)", re.S)
FIGURES = ROOT / "docs" / "figures"
SHOT_CARD = "cx-naive-pause-no-foreign-release"


def locklab(binary, args, **kw):
    done = subprocess.run([binary, *args], cwd=ROOT, capture_output=True, text=True, timeout=900, **kw)
    if done.returncode not in (0, 1):
        raise SystemExit(f"locklab {' '.join(args)} failed ({done.returncode}): {done.stderr}")
    return done.stdout


def figures(binary, spec: str, tmp: pathlib.Path) -> str:
    names, *commands = [part.strip() for part in spec.split("|")]
    froms = []
    for i, command in enumerate(commands):
        path = tmp / f"input-{i}.json"
        path.write_text(locklab(binary, [*shlex.split(command), "--json"]))
        froms += ["--from", str(path)]
    wanted = []
    for name in names.split():
        wanted += ["--figure", name]
    FIGURES.mkdir(exist_ok=True)
    out = locklab(binary, ["report", *froms, "--out", str(tmp / "report.html"), "--svg-dir", str(FIGURES), *wanted])
    links = []
    for line in out.splitlines():
        if line.startswith("figure\t"):
            _, path, title = line.split("\t", 2)
            links.append(f"![{title}](figures/{pathlib.Path(path).name})")
    return "\n".join(links) + "\n"


def screenshot(binary) -> int:
    work = ROOT / "target" / "docs-report"
    work.mkdir(parents=True, exist_ok=True)
    page = work / "report.html"
    print(f"locklab report --out {page}", file=sys.stderr)
    subprocess.run([binary, "report", "--out", str(page)], cwd=ROOT, check=False, timeout=900)
    shot = ROOT / "docs" / "report.png"
    driver = ROOT / "lab" / "tests" / "browser" / "report.mjs"
    subprocess.run(["node", str(driver), str(page), str(work), "--card", SHOT_CARD, "--shot", str(shot)],
                   cwd=ROOT, check=True, timeout=300, stdout=subprocess.DEVNULL)
    print(f"wrote {shot.relative_to(ROOT)}", file=sys.stderr)
    return 0


def main() -> int:
    subprocess.run(["cargo", "build", "--release", "-q", "-p", "locklab", "--all-features"], cwd=ROOT, check=True)
    binary = ROOT / "target" / "release" / "locklab"
    args = sys.argv[1:]
    if "--screenshot" in args:
        return screenshot(binary)
    files = [pathlib.Path(f) for f in args] or sorted((ROOT / "docs").glob("*.md"))
    with tempfile.TemporaryDirectory() as tmp:
        for path in files:
            text = path.read_text()

            def run(match: re.Match) -> str:
                args = shlex.split(match.group(2))
                print(f"{path.name}: locklab {' '.join(args)}", file=sys.stderr)
                body = f"```text\n$ locklab {shlex.join(args)}\n{locklab(binary, args).rstrip()}\n```\n"
                return match.group(1) + body + match.group(4)

            def draw(match: re.Match) -> str:
                print(f"{path.name}: figures {match.group(2)}", file=sys.stderr)
                return match.group(1) + figures(binary, match.group(2), pathlib.Path(tmp)) + match.group(4)

            new = FIGURE.sub(draw, REGION.sub(run, text))
            if new != text:
                path.write_text(new)
    return 0


if __name__ == "__main__":
    sys.exit(main())
