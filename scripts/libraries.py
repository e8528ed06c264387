#!/usr/bin/env python3
"""Writes docs/libraries.md from a real run: every lock adapter in adapters/
through `locklab worker-check` (is the adapter sound?), `locklab chaos
--lock-cmd` under each fault (none, pause, delay, crash, restart, retry;
judged against the token model), and one exact schedule in which the holder
loses its lock (SIGSTOPped past its lease while another client acquires;
it resumes, writes, releases), whose timeline says what the library told
its caller (the `said` of its replies, recorded in the history).

Run from the repository root, after scripts/setup.sh:
    python3 scripts/libraries.py [--schedules N] [--seed S]
"""
import argparse
import datetime
import json
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
PY = ".venv/bin/python"
ADAPTERS = [
    # (library, command, tick in ms: python-redis-lock's expire is whole seconds)
    ("redis-py `Lock`", f"{PY} adapters/python/redis_py_lock.py", 25),
    ("python-redis-lock (auto-renewal)", f"{PY} adapters/python/python_redis_lock.py", 334),
    ("pottery `Redlock` (1 master)", f"{PY} adapters/python/pottery_redlock.py", 25),
    ("node-redlock v5 (ioredis)", "node adapters/node/redlock.js", 25),
]
FAULTS = ["none", "pause", "delay", "crash", "restart", "retry"]
PROPERTIES = ["mutual-exclusion", "no-foreign-release", "fenced-resource", "no-leaked-hold"]
LOST = "acquire c1; pause c1; tick; tick; tick; acquire c2; resume c1; tick; write c1; release c1"


def locklab(*args, timeout=7200):
    done = subprocess.run(
        [str(ROOT / "target/release/locklab"), *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout
    )
    return done.returncode, done.stdout, done.stderr


def lost_lock(command, tick):
    """The timeline lines of the lost-lock schedule, and what the library
    said on them."""
    code, out, err = locklab(
        "chaos", "--lock-cmd", command, "--protocol", "token", "--faults", "pause", "--clients", "2",
        "--tick-ms", str(tick * 4), "--schedule", LOST,
    )
    if code not in (0, 1):
        raise SystemExit(f"chaos --schedule on {command} failed ({code}): {err}")
    steps = [l.strip() for l in out.splitlines() if " c1 " in l and any(op in l for op in ("acquire", "write", "release"))]
    said = [l.split(" — said: ", 1)[1] for l in steps if " — said: " in l]
    return steps, said


# What a divergence from the token model means, by the conductor's words.
MEANINGS = [
    (
        ("(deliver", "the model says granted", "Redis said busy"),
        "it refused a grant whose reply arrived after the lease had run out (a validity check): "
        "**safer than the model** here — a finding, not a failure",
    ),
    (
        ("(acquire-delayed", "has no lock key where the model says it is there"),
        "while the lab held its reply, the key never appeared: the library sends another command before "
        "its `SET NX`, so the delayed reply is that command's — different from the model, not judged",
    ),
    (
        ("(tick)", "still has the lock key where the model says it is gone"),
        "its lease did not run out when the model's did: a renewal thread kept it while the holder ran — "
        "**safer than the model** here",
    ),
]


def meaning(example):
    for needles, text in MEANINGS:
        if all(n in example for n in needles):
            return text
    return f"something else than the model did at that step: `{example.split(': ')[0]}…`"


def cell_text(cell, prop):
    if prop not in cell["model"]:
        return "·"
    model = cell["model"][prop]
    found = cell["violations"].get(prop, 0)
    judged = cell["schedules"]
    if model == "violated" and found:
        return f"**breaks** ({found}/{judged})"
    if model == "holds" and not found:
        return f"holds ({judged})"
    if model == "holds" and found:
        return f"**breaks where the model holds** ({found}/{judged})"
    if cell["diverged"]:
        return f"kept in {judged} judged; model breaks it (diverged {cell['diverged']})"
    return f"not found in {judged} (model breaks it)"


def fault_of(cell):
    return cell["faults"][0] if cell["faults"] else "none"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--schedules", type=int, default=30)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", default=str(ROOT / "docs/libraries.md"))
    args = parser.parse_args()
    subprocess.run(["cargo", "build", "--release", "-q", "-p", "locklab"], cwd=ROOT, check=True)

    sections, rows, summary = [], [], []
    for library, command, tick in ADAPTERS:
        print(f"{library}: worker-check", file=sys.stderr)
        code, out, err = locklab("worker-check", "--lock-cmd", command, "--json")
        check = json.loads(out) if out.strip() else {"checks": [], "lock": library}
        passed = sum(c["ok"] for c in check["checks"])
        conformance = f"{passed}/{len(check['checks'])}" if code == 0 else f"FAILED: {err.strip()}"
        optional = {c["name"]: c["detail"] for c in check["checks"]}
        # python-redis-lock needs a longer tick, so fewer schedules fit.
        schedules = args.schedules if tick < 100 else max(5, args.schedules // 4)
        print(f"{library}: chaos, {schedules} schedules per fault, tick {tick} ms", file=sys.stderr)
        faults = [a for f in FAULTS for a in ("--faults", f)]
        code, out, err = locklab(
            "chaos", "--lock-cmd", command, *faults, "--depth", "1", "--schedules", str(schedules),
            "--seed", str(args.seed), "--tick-ms", str(tick), "--parallel", "2", "--json",
        )
        if code not in (0, 1):
            raise SystemExit(f"chaos {command} failed ({code}): {err}")
        report = json.loads(out)
        print(f"{library}: the lost-lock schedule", file=sys.stderr)
        steps, said = lost_lock(command, tick)

        breaks = [fault_of(c) for c in report["runs"] if c["violations"].get("mutual-exclusion", 0) > 0]
        leaks = [fault_of(c) for c in report["runs"] if c["violations"].get("no-leaked-hold", 0) > 0]
        findings = sorted({meaning(e) for c in report["runs"] for e in c.get("diverged_examples", [])})
        lock = check.get("lock", library)
        line = f"- **{lock}** (conformance {conformance}): loses mutual exclusion under {', '.join(breaks) or 'no fault'}"
        line += ", as the token model says it can" if breaks else ""
        if leaks:
            line += f"; leaks its hold under {', '.join(leaks)} (its retry re-sends a `SET NX` its own first one answered)"
        line += f"; when it lost the lock it told its caller {'; '.join(f'`{x}`' for x in said) if said else 'nothing'}"
        if findings:
            line += "; " + "; ".join(f.replace("**", "") for f in findings)
        summary.append(line + ".")

        text = [f"## {lock}\n", f"`--lock-cmd '{command}'` · 1 tick = {tick} ms · conformance {conformance}\n"]
        for name in ("acquire-within", "acquire-lost, acquire-resent"):
            if name in optional:
                text.append(f"- `{name}`: {optional[name]}")
        text.append("")
        text.append(
            "**When it lost the lock** — c1 SIGSTOPped past its lease while c2 acquires; c1 resumes, "
            f"writes and releases (`locklab chaos --schedule '{LOST}'`), c1's steps as the history has them:\n"
        )
        text.append("```text")
        text.extend(steps)
        text.append("```\n")
        text.append(
            f"What the library told its caller: {'; '.join(f'`{s}`' for s in said)}.\n" if said
            else "What the library told its caller: nothing.\n"
        )
        for cell in report["runs"]:
            fault = fault_of(cell)
            rows.append([library, fault] + [cell_text(cell, p) for p in PROPERTIES] + [str(cell["diverged"]), "yes" if cell["agree"] else "no"])
            for prop, shrunk in cell["shrunk"].items():
                text.append(f"**{fault} — {prop} broken**, shrunk from {shrunk['from_len']} to {shrunk['len']} steps:\n")
                for step in shrunk["steps"]:
                    text.append(f"{step['n']}. {step['says']}")
                text.append(
                    f"\nreplay: `locklab chaos --lock-cmd '{command}' --tick-ms {tick} --protocol token --faults {fault} --schedule '{shrunk['schedule']}'`\n"
                )
            seen = set()
            for example in cell.get("diverged_examples", []):
                what = meaning(example)
                if what in seen:
                    continue
                seen.add(what)
                total = cell["schedules"] + cell["diverged"] + cell["late"]
                text.append(
                    f"**{fault} — diverged** from the token model on {cell['diverged']} of {total} schedules: {what}. "
                    f"The first such step: `{example.split(': ')[0]}`.\n"
                )
        for why in report.get("skipped", []):
            fault = why.split(" under ", 1)[1].split(":", 1)[0] if " under " in why else "?"
            rows.append([library, fault] + ["skipped"] * len(PROPERTIES) + ["-", "-"])
            text.append(f"**skipped**: {why.split(': ', 1)[1] if ': ' in why else why}\n")
        sections.append("\n".join(text))

    today = datetime.date.today().isoformat()
    header = f"""# What the lock libraries people use do under faults

<!-- generated by scripts/libraries.py on {today}; do not edit by hand -->

Each library below is run by `locklab chaos --lock-cmd` as it is used by
default (one attempt per acquire), one worker process per client behind the
lab's proxy, against a real `redis-server`, under each fault of the lab's
menu, and judged against the model of the protocol these libraries follow:
`token` (`SET key <random> NX PX lease`, released by compare-and-delete).
{args.schedules} random schedules per fault (seed {args.seed}; fewer for
python-redis-lock, whose whole-second leases need 334 ms ticks), every break
shrunk. Before that, `locklab worker-check` runs the protocol's conformance
script on the adapter: an adapter that fails it is broken, and its results
would say nothing about the library. A cell reads:

- **breaks** (n/N): n of N judged schedules broke the property, as the token
  model says they can; the shrunk counterexample is below.
- holds (N): no schedule broke it, and the model says none can.
- kept … (diverged d): the model breaks it, but the library did something
  else than the model on d schedules (not judged), and none of the judged
  ones broke it. With a conformant adapter this is **a finding about the
  library, not a failure**: it is safer than the model there, or merely
  different (the divergence is quoted below).
- not found in N: the model breaks it, and no schedule of the sample did
  (a sample too small).
- **breaks where the model holds**: a real disagreement (exit 1).
- skipped: the fault needs an operation the library cannot do (the retry
  fault re-sends a lost acquire request, which only redis-py's adapter can:
  redis-py's own `Retry` does it); · : the property does not apply there.

The fenced-resource property breaks wherever mutual exclusion does: none of
these libraries issues a fencing token, so every write is a plain one.

In short (from the run below):

SUMMARY

| library | fault | {' | '.join(PROPERTIES)} | diverged | agrees |
|---|---|{'---|' * len(PROPERTIES)}---|---|
"""
    table = "\n".join("| " + " | ".join(r) + " |" for r in rows)
    header = header.replace("SUMMARY", "\n".join(summary))
    body = header + table + "\n\n" + "\n\n".join(sections) + "\n"
    pathlib.Path(args.out).write_text(body)
    print(f"wrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
