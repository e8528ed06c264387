#!/usr/bin/env python3
"""Regenerates what the book (docs/*.md and README.md) shows of real runs and
of the declarations, so the book never shows a hand-made one:

    <!-- locklab: ARGS -->
    ...
    <!-- /locklab -->

is replaced by the output of `locklab ARGS` (the release binary, built
first), as a text block headed by the command. With `--markdown` among ARGS
(`locklab list … --markdown`: the protocols, claims, faults, properties and
the worker protocol's operations, read from the declarations and the code)
the output is a Markdown table and goes in as it is, with the command below
it.

    <!-- locklab: ARGS | rows: PATTERN; … | keep: PATTERN; … -->

cuts a long output to what the chapter discusses. `rows:` cuts the tables
at the left margin (a header line, a rule of `─`, then rows up to a blank
line or a line that starts with neither a letter, a digit nor a space,
such as a legend) to the rows matching a PATTERN. `keep:` cuts the sections
(a heading at the left margin after a blank line, with ` — ` in it and no
table under it, up to the blank line before the next line at the margin)
to those whose heading matches a PATTERN; `keep:` with no pattern cuts them
all. A PATTERN is text found anywhere in the line, in which `*` stands for
any characters. `⋮` marks each cut, and a line under the block says that
the command prints it all. Every other line stays. The lab's `book` test
(lab/tests/lab/book.rs) makes the same cut and fails when a region that
does not depend on timing — the `check` listings and the `list` tables —
differs from what the binary prints now.

    <!-- locklab figure: NAME [NAME...] | ARGS | ARGS ... -->
    ...
    <!-- /locklab -->

is replaced by the diagrams NAME of the report made from the `--json` output
of each `locklab ARGS` (`locklab report --from ... --svg-dir docs/figures
--figure NAME`): the same drawing code as `locklab report`, written to
docs/figures/NAME.svg and linked from the region.

With --screenshot it instead makes a default `locklab report` and saves a
screenshot of one counterexample card as docs/report.png (for the README),
with the browser test's driver (needs `bash scripts/setup.sh`).

docs/libraries.md is written by scripts/libraries.py, not by this script.

Run from the repository root:  python3 scripts/docs.py [--screenshot | --quick] [FILE.md ...]
(no FILE: README.md and every docs/*.md, in one run; the time it took is
printed at the end). --quick regenerates only what the `book` test compares
(the `check` listings and the `list` tables), in seconds.
"""
import pathlib
import re
import shlex
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
REGION = re.compile(r"(<!-- locklab: (.*?) -->\n)(.*?)(<!-- /locklab -->)", re.S)
FIGURE = re.compile(r"(<!-- locklab figure: (.*?) -->\n)(.*?)(<!-- /locklab -->)", re.S)
FIGURES = ROOT / "docs" / "figures"
SHOT_CARD = "cx-naive-pause-no-foreign-release"
CUT = "⋮"
CUT_NOTE = f"({CUT} marks lines cut here; the command above prints them all.)\n"


def locklab(binary, args, **kw):
    done = subprocess.run([binary, *args], cwd=ROOT, capture_output=True, text=True, timeout=1800, **kw)
    if done.returncode not in (0, 1):
        raise SystemExit(f"locklab {' '.join(args)} failed ({done.returncode}): {done.stderr}")
    return done.stdout


def is_rule(line: str) -> bool:
    return "─" in line and set(line) <= {"─", " "}


def matcher(patterns: str):
    """Whether a line holds one of `patterns` (separated by `;`, `*` any
    characters); no pattern at all matches nothing."""
    parts = [p.strip() for p in patterns.split(";") if p.strip()]
    regex = re.compile("|".join(".*".join(map(re.escape, p.split("*"))) for p in parts)) if parts else None
    return lambda line: bool(regex and regex.search(line))


def options(spec: str) -> tuple[str, str | None, str | None]:
    """A region's command, and its `rows:` and `keep:` patterns (None: no
    cut)."""
    command, *rest = spec.split(" | ")
    rows = keep = None
    for option in rest:
        name, _, patterns = option.strip().partition(":")
        if name == "rows":
            rows = patterns
        elif name == "keep":
            keep = patterns
        else:
            raise SystemExit(f"unknown region option {option!r} in `{spec}`: give rows: or keep:")
    return command, rows, keep


def cut(text: str, rows: str | None, keep: str | None) -> str:
    """The output cut to the table rows matching `rows` and the sections
    whose heading matches `keep` (see the module docs). lab/tests/lab/book.rs
    makes the same cut."""
    lines = text.split("\n")
    n = len(lines)
    kept = [True] * n
    if rows is not None:
        row = matcher(rows)
        # Rows of the tables at the margin (not the timelines inside a section).
        for i, line in enumerate(lines):
            if i > 0 and line.startswith("─") and is_rule(line):
                j = i + 1
                while j < n and lines[j].strip() and (lines[j][0].isalnum() or lines[j][0] == " "):
                    kept[j] = row(lines[j])
                    j += 1
    if keep is not None:
        section = matcher(keep)
        # Sections: from a heading to the blank line before the next line at
        # the margin.
        for i, line in enumerate(lines):
            heading = (
                i > 0
                and not lines[i - 1].strip()
                and line[:1].strip()
                and " — " in line
                and not (i + 2 < n and is_rule(lines[i + 2]))
            )
            if not heading or section(line):
                continue
            end = n
            for k in range(i + 1, n):
                if not lines[k].strip() and k + 1 < n and lines[k + 1][:1].strip():
                    end = k + 1
                    break
            for k in range(i, end):
                kept[k] = False
    out, i = [], 0
    while i < n:
        if kept[i]:
            out.append(lines[i])
            i += 1
            continue
        j = i
        while j < n and not kept[j]:
            j += 1
        out.append(CUT)
        if not lines[j - 1].strip():
            out.append("")
        i = j
    return "\n".join(out)


def timeless(spec: str) -> bool:
    """Whether a region is one the `book` test compares: a `check` listing
    (not `--json`) or a `list` table."""
    args = shlex.split(options(spec)[0])
    return bool(args) and (args[0] == "list" or (args[0] == "check" and "--json" not in args))


def listing(binary, spec: str) -> str:
    """The body of a `<!-- locklab: … -->` region."""
    command, rows, keep = options(spec)
    args = shlex.split(command)
    out = locklab(binary, args).rstrip()
    if "--markdown" in args:
        return f"{out}\n\n<sub>`$ locklab {shlex.join(args)}`</sub>\n"
    whole = out
    out = cut(out, rows, keep)
    note = CUT_NOTE if out != whole else ""
    return f"```text\n$ locklab {shlex.join(args)}\n{out}\n```\n{note}"


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
    subprocess.run([binary, "report", "--out", str(page)], cwd=ROOT, check=False, timeout=1800)
    shot = ROOT / "docs" / "report.png"
    driver = ROOT / "lab" / "tests" / "browser" / "report.mjs"
    subprocess.run(["node", str(driver), str(page), str(work), "--card", SHOT_CARD, "--shot", str(shot)],
                   cwd=ROOT, check=True, timeout=300, stdout=subprocess.DEVNULL)
    print(f"wrote {shot.relative_to(ROOT)}", file=sys.stderr)
    return 0


def main() -> int:
    started = time.monotonic()
    subprocess.run(["cargo", "build", "--release", "-q", "-p", "locklab", "--all-features"], cwd=ROOT, check=True)
    binary = ROOT / "target" / "release" / "locklab"
    args = sys.argv[1:]
    if "--screenshot" in args:
        return screenshot(binary)
    quick = "--quick" in args
    args = [a for a in args if a != "--quick"]
    files = [pathlib.Path(f) for f in args] or [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    with tempfile.TemporaryDirectory() as tmp:
        for path in files:
            text = path.read_text()

            def run(match: re.Match) -> str:
                if quick and not timeless(match.group(2)):
                    return match.group(0)
                print(f"{path.name}: locklab {match.group(2)}", file=sys.stderr)
                return match.group(1) + listing(binary, match.group(2)) + match.group(4)

            def draw(match: re.Match) -> str:
                print(f"{path.name}: figures {match.group(2)}", file=sys.stderr)
                return match.group(1) + figures(binary, match.group(2), pathlib.Path(tmp)) + match.group(4)

            new = REGION.sub(run, text) if quick else FIGURE.sub(draw, REGION.sub(run, text))
            if new != text:
                path.write_text(new)
    print(f"docs.py: done in {time.monotonic() - started:.0f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
