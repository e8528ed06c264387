#!/usr/bin/env python3
"""Writes docs/libraries.md from a real run: every lock adapter in adapters/
through `locklab worker-check` (is the adapter sound?), `locklab chaos
--lock-cmd` under each fault of its family (none, pause, delay, crash,
restart, retry, and failover for the adapters that follow one; judged
against the model of the protocol the library follows: token, fenced for a
fencing lock, redlock for one on three masters), one exact schedule in which
the holder loses its lock (SIGSTOPped past its lease while another client
acquires; it resumes, writes, releases), whose timeline says what the
library told its caller (the `said` of its replies, recorded in the
history), and `locklab bench --lock-cmd` at 1 and 16 clients beside the
no-op worker of the adapter's language (the protocol's own cost).

Each adapter's results are kept in target/libraries/ (one JSON file each);
`--only WORD` runs again only the adapters whose name or command holds WORD
and takes the others from there, so that new rows need not cost a run of
the whole table.

Run from the repository root, after scripts/setup.sh:
    python3 scripts/libraries.py [--schedules N] [--seed S] [--only WORD]...
"""
import argparse
import datetime
import json
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
PY = ".venv/bin/python"
FAULTS = ["none", "pause", "delay", "crash", "restart", "retry"]
# A failover cell plays at 3 s a tick: kept to the fencing lock and one of
# the Go locks (each follows a failover through its library's Sentinel
# client; the others' adapters do too).
FAILOVER = FAULTS + ["failover"]
# Redlock's restart cells shrink slowly (every candidate restarts masters):
# kept to the faults the gates are about.
QUORUM = ["none", "delay"]
# pottery's and node-redlock's Redlock on three masters: pause too (the
# model breaks there; none and delay are where it holds).
QUORUM_LIBS = ["none", "delay", "pause"]
REDISSON = "adapters/java/redisson"
GO = "adapters/go/bin/locklab-go"
NOOP = {"python": f"{PY} adapters/python/noop.py", "jvm": f"{REDISSON} noop", "go": f"{GO} noop"}
ADAPTERS = [
    # (library, command, tick in ms — python-redis-lock's expire is whole
    # seconds —, the protocol it is judged against, its faults, the no-op
    # worker of its language)
    ("redis-py `Lock`", f"{PY} adapters/python/redis_py_lock.py", 25, "token", FAULTS, "python"),
    ("python-redis-lock (auto-renewal)", f"{PY} adapters/python/python_redis_lock.py", 334, "token", FAULTS, "python"),
    ("pottery `Redlock` (1 master)", f"{PY} adapters/python/pottery_redlock.py", 25, "token", FAULTS, "python"),
    # The Redlock they are: three masters, asked a master at a time through
    # gates. At 250 ms a tick (go-redsync's) more than half of their
    # fault-free and pause schedules were late on a loaded 2-core machine.
    ("pottery `Redlock` (3 masters)", f"{PY} adapters/python/pottery_redlock.py", 500, "redlock", QUORUM_LIBS, None),
    ("node-redlock v5 (1 master)", "node adapters/node/redlock.js", 25, "token", FAULTS, None),
    ("node-redlock v5 (3 masters)", "node adapters/node/redlock.js", 500, "redlock", QUORUM_LIBS, None),
    ("Redisson `RLock` (watchdog)", f"{REDISSON} watchdog", 25, "token", FAULTS, "jvm"),
    ("Redisson `RLock` (lease)", f"{REDISSON} lease", 25, "token", FAULTS, "jvm"),
    ("Redisson `RFencedLock`", f"{REDISSON} fenced", 25, "fenced", FAILOVER, "jvm"),
    ("Redisson `RFencedLock`, checkLockSyncedSlaves off", f"{REDISSON} fenced --unsynced", 25, "fenced", ["failover"], None),
    ("go-redsync `Mutex` (1 master)", f"{GO} redsync", 25, "token", FAULTS, "go"),
    # Three masters: at 100 ms a tick, a loaded 2-core machine played every
    # fault-free schedule late (not judged).
    ("go-redsync `Mutex` (3 masters)", f"{GO} redsync", 250, "redlock", QUORUM, None),
    ("bsm/redislock `Obtain`", f"{GO} redislock", 25, "token", FAILOVER, "go"),
]
CACHE = ROOT / "target/libraries"
# Rows renamed since a page was generated: the name they had there.
FORMERLY = {"node-redlock v5 (1 master)": "node-redlock v5 (ioredis)"}
PROPERTIES = ["mutual-exclusion", "no-foreign-release", "fenced-resource", "no-leaked-hold"]
LOST = "acquire c1; pause c1; tick; tick; tick; acquire c2; resume c1; tick; write c1; release c1"
# Three masters, no fault: c1 asks every master, and its replies come back
# after its lease has run out (three ticks); meanwhile c2 takes the lock on
# every master. The model lets c1's attempt expire (a majority, no validity
# left); a library that does not check the validity holds the lock with c2.
SLOW = "ask c1 n1; ask c1 n2; ask c1 n3; tick; tick; tick; ask c2 n1; ask c2 n2; ask c2 n3; conclude c2; conclude c1; write c2"
# Two grants on the primary, none replicated; Sentinel promotes the replica;
# the next grant's fencing token is compared with the last one before.
ACROSS = "acquire c1; write c1; release c1; acquire c1; write c1; failover n2; acquire c2; write c2"


def locklab(*args, timeout=7200):
    done = subprocess.run(
        [str(ROOT / "target/release/locklab"), *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout
    )
    return done.returncode, done.stdout, done.stderr


def lost_lock(command, tick, protocol):
    """The timeline lines of the lost-lock schedule, and what the library
    said on them."""
    code, out, err = locklab(
        "chaos", "--lock-cmd", command, "--protocol", protocol, "--faults", "pause", "--clients", "2",
        "--tick-ms", str(tick * 4), "--schedule", LOST,
    )
    if code not in (0, 1):
        raise SystemExit(f"chaos --schedule on {command} failed ({code}): {err}")
    steps = [l.strip() for l in out.splitlines() if " c1 " in l and any(op in l for op in ("acquire", "write", "release"))]
    said = [l.split(" — said: ", 1)[1] for l in steps if " — said: " in l]
    return steps, said


def slow_round(command, tick):
    """The verdicts and timeline of SLOW on three masters."""
    code, out, err = locklab(
        "chaos", "--lock-cmd", command, "--protocol", "redlock", "--faults", "none", "--clients", "2",
        "--nodes", "3", "--tick-ms", str(tick), "--schedule", SLOW,
    )
    if code not in (0, 1, 3):
        raise SystemExit(f"chaos --schedule '{SLOW}' on {command} failed ({code}): {err}")
    lines = [l.rstrip() for l in out.splitlines()]
    start = next(i for i, l in enumerate(lines) if l.startswith("property"))
    return lines[start:] + [l.rstrip() for l in err.splitlines() if l.startswith("! ")]


def across_failover(command):
    """The timeline of ACROSS (every step), its verdicts, and the fencing
    tokens the grants carried, in order."""
    code, out, err = locklab(
        "chaos", "--lock-cmd", command, "--protocol", "fenced", "--faults", "failover", "--replicas", "1",
        "--clients", "2", "--rounds", "2", "--schedule", ACROSS,
    )
    if code not in (0, 1):
        raise SystemExit(f"chaos --schedule '{ACROSS}' on {command} failed ({code}): {err}")
    lines = [l.rstrip() for l in out.splitlines()]
    start = next(i for i, l in enumerate(lines) if l.startswith("property"))
    return lines[start:]


# What a divergence from the token model means, by the conductor's words.
MEANINGS = [
    (
        ("(deliver", "the model says granted", "Redis said busy"),
        "it refused a grant whose reply arrived after the lease had run out (a validity check): "
        "**safer than the model** here — a finding, not a failure",
    ),
    (
        ("node-redlock", "(conclude", "no validity left", "Redis said granted"),
        "it kept a grant the model lets expire: a majority granted, but the round took longer than the "
        "lease less the drift — node-redlock v5 does not check the validity on acquire",
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
    (
        ("Redisson", "(retry", "the model says busy", "Redis said granted"),
        "its resent acquire was granted: Redisson's lock is re-entrant per client and thread, so the "
        "resend (the same script, the same `<client id>:<thread id>`) re-enters the grant its lost first "
        "request took — hold count 2 on Redis where the caller knows of one; its one unlock then leaves the "
        "lock held. Different from the model's `SET NX` (busy), not judged",
    ),
    (
        ("Redisson", "the model says granted", "the command failed"),
        "on the Sentinel set, Redisson `WAIT`ed for the replicas after the grant and, none having "
        "acknowledged it within `slavesSyncTimeout`, threw `NoSyncedSlavesException` — while the lock key "
        "(and the fencing counter's increment) stayed on the primary: the caller is told it failed, Redis "
        "holds the lock for it",
    ),
]


def meaning(example, lock=""):
    """What a divergence means, by the conductor's words (and the lock's
    name, for a library's own behaviour)."""
    for needles, text in MEANINGS:
        if all(n in example or n in lock for n in needles):
            return text
    return f"something else than the model did at that step: `{example.split(': ')[0]}…`"


def against(cell, prop):
    """Judged schedules that broke `prop` where the model keeps it on that
    very schedule (the cell's model may break it on others): the
    disagreements the cell lists (its first 20)."""
    return sum(
        1 for d in cell.get("disagreements", [])
        if d["property"] == prop and d["model"] == "holds" and d["real"] == "violated"
    )


def cell_text(cell, prop):
    if prop not in cell["model"]:
        return "·"
    model = cell["model"][prop]
    found = cell["violations"].get(prop, 0)
    judged = cell["schedules"]
    if judged == 0 or cell.get("verdict") == "not judged":
        return f"not judged ({judged} judged, late {cell['late']}, diverged {cell['diverged']})"
    late = f"; late {cell['late']}" if cell.get("late") and "verdict" in cell else ""
    wrong = against(cell, prop)
    if wrong:
        also = f"; {found - wrong} as the model says" if found > wrong else ""
        return f"**breaks where the model holds** ({wrong}/{judged}{also}{late})"
    if model == "violated" and found:
        return f"**breaks** ({found}/{judged}{late})"
    if model == "holds" and not found:
        if cell["diverged"]:
            return f"holds ({judged}; diverged {cell['diverged']}{late})"
        return f"holds ({judged}{late})"
    if model == "holds" and found:
        return f"**breaks where the model holds** ({found}/{judged}{late})"
    if cell["diverged"]:
        return f"kept in {judged} judged; model breaks it (diverged {cell['diverged']}{late})"
    return f"not found in {judged} (model breaks it{late})"


def fault_of(cell):
    return cell["faults"][0] if cell["faults"] else "none"


def slug(command, protocol):
    return "".join(c if c.isalnum() else "-" for c in f"{command} {protocol}").strip("-")


def chaos(command, tick, protocol, faults, schedules, seed):
    """One chaos run per fault family (a failover cell needs a replica, the
    others must not have one), merged."""
    merged = {"runs": [], "skipped": []}
    plain = [f for f in faults if f != "failover"]
    runs = []
    if plain:
        runs.append([a for f in plain for a in ("--faults", f)])
    if "failover" in faults:
        # A failover cell's tick is 3 s: fewer schedules.
        few = str(max(2, schedules // 3))
        runs.append(["--faults", "failover", "--replicas", "1", "--sentinel-schedules", few])
    for extra in runs:
        code, out, err = locklab(
            "chaos", "--lock-cmd", command, "--protocol", protocol, *extra, "--depth", "1",
            "--schedules", str(schedules), "--seed", str(seed), "--tick-ms", str(tick), "--parallel", "2", "--json",
        )
        if code not in (0, 1):
            raise SystemExit(f"chaos {command} {' '.join(extra)} failed ({code}): {err}")
        report = json.loads(out)
        merged["runs"] += report["runs"]
        merged["skipped"] += report.get("skipped", [])
    return merged


def bench(command, noop):
    """Acquire p50 and grants/s at 1 and 16 clients, beside the no-op worker
    of the same language in the same run."""
    # 3 s a run: a JVM's first calls (class loading, its JIT) would
    # otherwise be most of a short run.
    code, out, err = locklab(
        "bench", "--duration-secs", "3", "--peer", "none", "--protocol", "token", "--wait", "poll",
        "--clients", "1,16", "--lock-cmd", command, "--lock-cmd", noop, "--json",
    )
    if code != 0:
        return {"error": err.strip().splitlines()[-1] if err.strip() else f"exit {code}"}
    report = json.loads(out)
    labels = [r["protocol"] for r in report["uncontended"] if r.get("wait") == "worker"]
    rows = {}
    for label in labels:
        one = next(r for r in report["uncontended"] if r["protocol"] == label)
        many = next((r for r in report["contended"] if r["protocol"] == label and r["clients"] == 16), None)
        rows[label] = {
            "acquire_p50_us": one["acquire_p50_us"],
            "grants_1": one["grants_per_s"],
            "grants_16": many["grants_per_s"] if many else None,
            "starved_16": many.get("starved", 0) if many else 0,
            "errors_16": many.get("errors", 0) if many else 0,
            "broken": one["mutual_exclusion"] != "holds" or (many and many["mutual_exclusion"] != "holds"),
        }
    lib, base = rows.get(labels[0]), rows.get(labels[-1]) if len(labels) > 1 else None
    return {"lib": lib, "noop": base, "rtt_us": report["rtt_us"]}


def net_rate(rate, noop_rate):
    """Grants/s with the protocol's own time per grant taken out."""
    if not rate or not noop_rate or 1 / rate <= 1 / noop_rate:
        return None
    return 1 / (1 / rate - 1 / noop_rate)


def run_adapter(library, command, tick, protocol, faults, noop, args):
    print(f"{library}: worker-check", file=sys.stderr)
    code, out, err = locklab("worker-check", "--lock-cmd", command, "--json")
    check = json.loads(out) if out.strip() else {"checks": [], "lock": library}
    passed = sum(c["ok"] for c in check["checks"])
    conformance = f"{passed}/{len(check['checks'])}" if code == 0 else f"FAILED: {err.strip()}"
    # python-redis-lock needs a longer tick, so fewer schedules fit.
    schedules = args.schedules if tick < 100 else max(5, args.schedules // 4)
    print(f"{library}: chaos as {protocol}, {schedules} schedules per fault, tick {tick} ms", file=sys.stderr)
    report = chaos(command, tick, protocol, faults, schedules, args.seed)
    steps, said = ([], [])
    if protocol != "redlock":
        print(f"{library}: the lost-lock schedule", file=sys.stderr)
        steps, said = lost_lock(command, tick, protocol)
    slow = None
    if protocol == "redlock":
        print(f"{library}: the slow round", file=sys.stderr)
        slow = slow_round(command, tick)
    across = None
    if protocol == "fenced" and "failover" in faults:
        print(f"{library}: fencing tokens across a failover", file=sys.stderr)
        across = across_failover(command)
    bench_rows = None
    if noop and protocol != "redlock":
        print(f"{library}: bench beside {NOOP[noop]}", file=sys.stderr)
        bench_rows = bench(command, NOOP[noop])
    return {
        "library": library, "command": command, "tick": tick, "protocol": protocol, "schedules": schedules,
        "lock": check.get("lock", library), "conformance": conformance,
        "optional": {c["name"]: c["detail"] for c in check["checks"]},
        "report": report, "steps": steps, "said": said, "bench": bench_rows, "across": across, "slow": slow,
    }


def kept_note(kept, args):
    if not kept:
        return ""
    names = ", ".join(kept)
    return (
        f"The rows of {names} are kept from this page's previous runs (each cell says how many schedules "
        f"it judged; their sections, from the adapters of those runs); this run (`--only`) ran the others, "
        f"{args.schedules} schedules per fault.\n\n"
    )


def starved(row):
    """What a 16-client run's grants/s does not show: clients that never
    got the lock, errors."""
    notes = [f"{row[k]} {w}" for k, w in (("starved_16", "starved"), ("errors_16", "errors")) if row.get(k)]
    return f" ({', '.join(notes)})" if notes else ""


def bench_table(results, kept):
    lines = [
        "| library | acquire p50 | no-op's | acquire p50 − no-op's | grants/s, 1 client | − protocol | grants/s, 16 clients | − protocol |",
        "|---|---|---|---|---|---|---|---|",
    ]
    fmt = lambda v, unit="": "–" if v is None else f"{v:,.0f}{unit}"
    for r in results:
        b = r.get("bench")
        if r.get("kept"):
            lines.extend(kept[r["library"]][3])
            continue
        if not b:
            continue
        if "error" in b:
            lines.append(f"| {r['library']} | bench failed: {b['error']} |  |  |  |  |  |  |")
            continue
        lib, noop = b["lib"], b["noop"]
        p50 = lib["acquire_p50_us"] - noop["acquire_p50_us"]
        lines.append(
            f"| {r['library']} | {fmt(lib['acquire_p50_us'], ' µs')} | {fmt(noop['acquire_p50_us'], ' µs')} | "
            f"{fmt(p50, ' µs')} | {fmt(lib['grants_1'])} | {fmt(net_rate(lib['grants_1'], noop['grants_1']))} | "
            f"{fmt(lib['grants_16'])}{starved(lib)} | {fmt(net_rate(lib['grants_16'], noop['grants_16']))} |"
        )
    return "\n".join(lines)


def kept_from(page, library, command, protocol):
    """A library's summary line, table rows and section as the last
    generated page has them; None when it has none. One command may have
    rows under two protocols (one master and three): the section and line
    that say `judged as` the row's protocol are preferred."""
    blocks = page.split("\n## ")
    judged = f"judged as `{protocol}`"
    sections = [b for b in blocks[1:] if f"`--lock-cmd '{command}'`" in b.split("\n", 3)[2]]
    section = next((b for b in sections if judged in b.split("\n", 3)[2]), None)
    if section is None and protocol == "token":
        section = next(iter(sections), None)
    if section is None:
        return None
    lock = section.split("\n", 1)[0]
    lines = [l for l in page.splitlines() if l.startswith(f"- **{lock}**")]
    line = next((l for l in lines if judged in l), None)
    if line is None and protocol == "token":
        line = next(iter(lines), None)
    faults_part, _, costs_part = page.partition("\n## What they cost")
    costs_part = costs_part.split("\n## ", 1)[0]
    named = library
    if not any(l.startswith(f"| {library} |") for l in faults_part.splitlines()):
        named = FORMERLY.get(library, library)

    def rows_in(text):
        return [l.replace(f"| {named} |", f"| {library} |", 1) for l in text.splitlines() if l.startswith(f"| {named} |")]

    table_rows, bench_rows = rows_in(faults_part), rows_in(costs_part)
    if line is None or not table_rows:
        return None
    return line, table_rows, ("## " + section).rstrip("\n"), bench_rows


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--schedules", type=int, default=30)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--only", action="append", default=[], help="run again only the adapters naming this")
    parser.add_argument("--bench-only", action="store_true", help="measure again only the bench rows of the kept results")
    parser.add_argument("--out", default=str(ROOT / "docs/libraries.md"))
    parser.add_argument("--no-build", action="store_true", help="use target/release/locklab as it is")
    parser.add_argument(
        "--render-only", action="store_true",
        help="run nothing: write the page from target/libraries/ and the page's kept rows",
    )
    args = parser.parse_args()
    if not args.no_build:
        subprocess.run(["cargo", "build", "--release", "-q", "-p", "locklab", "--all-features"], cwd=ROOT, check=True)
    CACHE.mkdir(parents=True, exist_ok=True)

    previous = pathlib.Path(args.out).read_text() if pathlib.Path(args.out).exists() else ""
    results, kept = [], {}
    for library, command, tick, protocol, faults, noop in ADAPTERS:
        cached = CACHE / f"{slug(command, protocol)}.json"
        wanted = not args.render_only and (not args.only or any(w in library or w in command for w in args.only))
        if (not wanted or args.bench_only) and not cached.exists() and kept_from(previous, library, command, protocol):
            # Not asked for, never run here: its rows stay as the last
            # generated page has them.
            kept[library] = kept_from(previous, library, command, protocol)
            results.append({"library": library, "kept": True})
            continue
        if args.bench_only and cached.exists() and wanted:
            result = json.loads(cached.read_text())
            if noop and protocol != "redlock":
                print(f"{library}: bench beside {NOOP[noop]}", file=sys.stderr)
                result["bench"] = bench(command, NOOP[noop])
                cached.write_text(json.dumps(result, indent=1))
        elif wanted or not cached.exists():
            if args.render_only:
                raise SystemExit(f"--render-only: {library} has no cached result and no row on the page to keep")
            result = run_adapter(library, command, tick, protocol, faults, noop, args)
            cached.write_text(json.dumps(result, indent=1))
        results.append(json.loads(cached.read_text()))

    sections, rows, summary = [], [], []
    for r in results:
        if r.get("kept"):
            line, table_rows, section, _ = kept[r["library"]]
            summary.append(line)
            rows.extend(table_rows)
            sections.append(section)
            continue
        library, command, tick, protocol = r["library"], r["command"], r["tick"], r["protocol"]
        report, said, steps, lock = r["report"], r["said"], r["steps"], r["lock"]
        conformance, optional = r["conformance"], r["optional"]
        if protocol == "redlock" and "masters" not in lock:
            # worker-check runs the adapter on one Redis: its ready line
            # names one master.
            lock += ", 3 masters"
        def broke(c):
            return c["violations"].get("mutual-exclusion", 0)

        breaks = [
            fault_of(c) for c in report["runs"]
            if c["model"].get("mutual-exclusion") == "violated" and broke(c) > against(c, "mutual-exclusion")
        ]
        wrong = [
            fault_of(c) for c in report["runs"]
            if against(c, "mutual-exclusion") or (c["model"].get("mutual-exclusion") == "holds" and broke(c))
        ]
        leaks = [fault_of(c) for c in report["runs"] if c["violations"].get("no-leaked-hold", 0) > 0]
        findings = sorted({meaning(e, lock) for c in report["runs"] for e in c.get("diverged_examples", [])})
        line = f"- **{lock}** (conformance {conformance}, judged as `{protocol}`): "
        if breaks:
            line += f"loses mutual exclusion under {', '.join(breaks)}, as the {protocol} model says it can"
        if wrong:
            line += ("; " if breaks else "") + (
                f"**loses mutual exclusion under {', '.join(wrong)} on schedules where the {protocol} model keeps it** "
                "(a disagreement)"
            )
        if not breaks and not wrong:
            line += "kept mutual exclusion in every schedule judged (a small sample: see the table)"
        if leaks:
            line += f"; leaks its hold under {', '.join(leaks)} (its retry re-sends a `SET NX` its own first one answered)"
        if protocol != "redlock":
            line += f"; when it lost the lock it told its caller {'; '.join(f'`{x}`' for x in said) if said else 'nothing'}"
        if findings:
            line += "; " + "; ".join(f.replace("**", "") for f in findings)
        summary.append(line + ".")

        text = [f"## {lock}\n", f"`--lock-cmd '{command}'` · judged as `{protocol}` · 1 tick = {tick} ms · conformance {conformance}\n"]
        for name in ("acquire-within", "acquire-lost, acquire-resent"):
            if name in optional:
                text.append(f"- `{name}`: {optional[name]}")
        text.append("")
        if steps:
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
        if r.get("slow"):
            text.append(
                "**A slow round** — no fault: c1 asks every master, its replies come back after its lease has "
                "run out, meanwhile c2 takes the lock on every master; the model lets c1's attempt expire "
                f"(`locklab chaos --lock-cmd '{command}' --protocol redlock --faults none --clients 2 --nodes 3 "
                f"--tick-ms {tick} --schedule '{SLOW}'`):\n"
            )
            text.append("```text")
            text.extend(r["slow"])
            text.append("```\n")
        if r.get("across"):
            text.append(
                "**Fencing tokens across a failover** — two grants to c1 on the primary (tokens 1 and 2), "
                "neither replicated; Sentinel promotes the replica; c2 acquires and writes "
                f"(`locklab chaos --lock-cmd '{command}' --protocol fenced --faults failover --replicas 1 "
                f"--clients 2 --rounds 2 --schedule '{ACROSS}'`):\n"
            )
            text.append("```text")
            text.extend(r["across"])
            text.append("```\n")
        for cell in report["runs"]:
            fault = fault_of(cell)
            verdict = cell.get("verdict")
            if verdict == "not judged" or not cell["schedules"]:
                agrees = "not judged"
            else:
                agrees = "yes" if cell["agree"] else "no"
            rows.append([library, fault] + [cell_text(cell, p) for p in PROPERTIES] + [str(cell["diverged"]), agrees])
            for prop, shrunk in cell["shrunk"].items():
                text.append(f"**{fault} — {prop} broken**, shrunk from {shrunk['from_len']} to {shrunk['len']} steps:\n")
                for step in shrunk["steps"]:
                    text.append(f"{step['n']}. {step['says']}")
                if cell["violations"].get(prop, 0) and against(cell, prop) == cell["violations"][prop]:
                    text.append(
                        f"\nEvery schedule of this cell that broke {prop} is one on which the model keeps it "
                        "(a disagreement: the divergence is below); so is the one this was shrunk from.\n"
                    )
                replicas = " --replicas 1" if cell.get("replicas") else ""
                text.append(
                    f"\nreplay: `locklab chaos --lock-cmd '{command}' --tick-ms {tick} --protocol {protocol} --faults {fault}{replicas} --schedule '{shrunk['schedule']}'`\n"
                )
            seen = set()
            for example in cell.get("diverged_examples", []):
                what = meaning(example, lock)
                if what in seen:
                    continue
                seen.add(what)
                # Played (since diverged runs are judged); older caches:
                # judged, diverged and late apart.
                total = cell.get("played") or cell["schedules"] + cell["diverged"] + cell["late"]
                text.append(
                    f"**{fault} — diverged** from the {protocol} model on {cell['diverged']} of {total} schedules: {what}. "
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
menu, and judged against the model of the protocol the library follows:
`token` (`SET key <random> NX PX lease`, released by compare-and-delete);
`fenced` for a lock that hands out a fencing token with each grant
(Redisson's `RFencedLock`); `redlock` for the Redlock libraries on three
masters (go-redsync, pottery, node-redlock), asked a master at a time:
a gate on each master's connection holds the acquire's request until the
lab asks that master, while the library itself counts the grants, times
the round and releases what it does not keep (pottery's and node-redlock's
adapters hand each reply to the library when the lab concludes, so that
the library decides where the model's client does, having heard from
every master; go-redsync's adapter hands each reply at once: redsync waits
for every master, `mutex.go:291`, and checks the validity then,
`mutex.go:115-116`, so it decides at the lab's last `ask`, not at
`conclude` — a tick between the two puts its decision before the model's,
and the slow round below, played on it, diverges for that reason, not for
a missing check). The adapters that follow a Sentinel failover
(their ready line says so: the JVM and Go ones) are played on the lab's
Sentinel set too (`failover`: a primary, one replica whose replication the
lab holds, three Sentinels; no proxy there). {args.schedules} random
schedules per fault (seed {args.seed}; a quarter of that, at least 5, at
ticks of 100 ms or more: python-redis-lock, whose whole-second leases need
334 ms ticks, and the three-master rows, at 250 or 500 ms; fewer under failover,
whose tick is 3 s), every break shrunk. Before that, `locklab worker-check` runs the
protocol's conformance script on the adapter: an adapter that fails it is
broken, and its results would say nothing about the library. A cell reads:

- **breaks** (n/N): n of N judged schedules broke the property, as the
  model says they can; the shrunk counterexample is below.
- holds (N): no schedule broke it, and the model says none can.
- kept … (diverged d): the model breaks it, but the library did something
  else than the model on d schedules, and none of the judged ones broke
  it. It is **a finding about the library**: safer than the model there,
  or merely different (the divergence is quoted below). Chaos counts such
  a schedule as a disagreement (exit 1): the model does not describe that
  library at that step. (Rows kept from runs before the lab's exit codes
  were made one table set such schedules aside, and say `yes`.)
- holds (N; diverged d): as holds, on N judged schedules, d of which
  diverged from the model (a disagreement: the divergence is quoted below).
- "; late l" after N: l more schedules were played too late to judge.
- not found in N: the model breaks it, and no schedule of the sample did
  (a sample too small).
- not judged: too few schedules were judged (late: the machine fell behind
  the ticks; or a worker died) — nothing is said about the library there.
- **breaks where the model holds**: a real disagreement (exit 1).
- skipped: the fault needs an operation the library cannot do (the retry
  fault re-sends a lost acquire request, as redis-py's own `Retry` and
  Redisson's command retry do), or the adapter does not follow a failover;
  · : the property does not apply there.

For the locks that issue no fencing token every write is a plain one, so
fenced-resource *can* break wherever mutual exclusion does — a stale write
needs the old holder to write after the new one — and the table shows it
broken in fewer schedules, or in none of a small sample (python-redis-lock
and go-redsync under restart: mutual exclusion broken, fenced-resource not
found). For `RFencedLock` it holds where the token is monotonic, and breaks
where the counter went back.

**node-redlock v5 does not check the validity on acquire.** Redlock's step
(the Redis distlock page): the lock is acquired only if a majority granted
it *and* the time the attempt took is less than the lock's validity.
node-redlock 5.0.0-beta.2 (the version in `adapters/node/package-lock.json`)
takes `const start = Date.now();` before its requests
(`node_modules/redlock/dist/cjs/index.js:210`, in `acquire`, line 205) and,
once a majority granted, returns `new Lock(this, resources, value, attempts,
start + duration - drift)` (line 217) without comparing that expiration
with the time now: a caller can get a Lock whose expiration is already past.
It also decides as soon as a majority answered, for or against (lines
326–339, in `_attemptOperation`), and measures time with `Date.now()`,
the wall clock (lines 210, 251, 253, 433, 445: `extend` and `using`
compare the expiration with it). On one master, judged as `token`, the
missing check is why node-redlock breaks mutual exclusion under `delay`
(a grant whose reply came back after the lease ran out) where pottery,
which checks, refuses the grant and diverges from the token model (safer
than it). On
three masters, judged against `redlock`, the lab shows the first: in the
slow round of its section below (an exact schedule, no fault: c1's
replies come back after its lease has run out, while c2 takes the lock),
node-redlock hands c1 the lock the model lets expire, and c1 and c2 both
hold it — mutual exclusion broken where the model keeps it. Its random
schedules' divergences and breaks are in the table and its section. The
wall clock is not exercised: the lab jumps the masters' clocks
(`clock-jump`), never a client's. pottery 3.0.1 does the check
(`pottery/redlock.py:343-348`: a majority, then `validity_time =
auto_release_time - drift - timer.elapsed()`, granted only if positive) on
a monotonic timer (`pottery/timer.py`: `timeit.default_timer`, which is
`time.perf_counter`), and lets the slow round expire, as the model does.

{kept_note(kept, args)}In short (from the run below):

SUMMARY

| library | fault | {' | '.join(PROPERTIES)} | diverged | agrees |
|---|---|{'---|' * len(PROPERTIES)}---|---|
"""
    table = "\n".join(r if isinstance(r, str) else "| " + " | ".join(r) + " |" for r in rows)
    header = header.replace("SUMMARY", "\n".join(summary))
    costs = f"""## What they cost

`locklab bench --duration-secs 3 --lock-cmd CMD --lock-cmd NOOP --clients 1,16`, one
run per library beside the no-op worker of its language (`noop.py`,
`redisson noop`, `locklab-go noop`: every answer at once, no Redis — the
worker protocol's own cost: two pipe writes, JSON both ways, two wake-ups).
Acquire p50 is uncontended; grants/s is one acquire-release cycle per
grant, with the no-op's time per grant taken out (`1 / (1/g − 1/g_noop)`;
at 16 clients the no-op's own contention is taken out with it). Node's
adapter has no no-op worker of its own and is not in this table.

{bench_table(results, kept)}
"""
    body = header + table + "\n\n" + costs + "\n" + "\n\n".join(sections) + "\n"
    pathlib.Path(args.out).write_text(body)
    print(f"wrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
