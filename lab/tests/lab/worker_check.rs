//! Bad adapters, each a few lines in the test's temp dir, through
//! `locklab worker-check` and `chaos --lock-cmd`: a command that does not
//! exist, one that exits at once, prints a non-JSON line, answers out of
//! order, never answers, speaks another protocol version, or floods stdout.
//! Each is one line on stderr naming the adapter and what it did (with its
//! stderr's last line where it wrote one), exit 2, never a hang, and no
//! process of it left behind — also when the lab itself is SIGKILLed.

use std::path::Path;
use std::time::Duration;

use crate::support::{assert_gone, locklab, locklab_child, HANG_GUARD};

/// A tiny adapter: `python3` running this source.
fn adapter(dir: &Path, name: &str, source: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, source).unwrap();
    format!("python3 {}", path.display())
}

/// Pids of live Python processes whose command line mentions `needle`.
fn processes_mentioning(needle: &str) -> Vec<u32> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
            continue;
        };
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        // The lab's own command line holds the adapter's too.
        let adapter = crate::support::proc_stat(pid)
            .is_some_and(|s| s.state != 'Z' && s.comm.starts_with("python"));
        if cmdline.contains(needle) && adapter {
            found.push(pid);
        }
    }
    found
}

const READY: &str = r#"import json, os, sys
start = json.loads(sys.stdin.readline())
print(json.dumps({"ready": "bad", "version": 1, "pid": os.getpid(), "name": start["client"]}), flush=True)
"#;

#[test]
fn each_bad_adapter_is_one_line_exit_2_and_leaves_nothing_behind() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let cases: Vec<(String, &str)> = vec![
        (
            format!("{}/no-such-adapter.py", d.display()),
            "no such file",
        ),
        (
            adapter(d, "exits.py", "import sys\nprint('cannot find my config', file=sys.stderr)\nsys.exit(3)\n"),
            "exited (exit status: 3); its stderr ends: cannot find my config",
        ),
        (
            adapter(d, "chatty.py", "import sys\nsys.stdin.readline()\nprint('hello, I am a lock', flush=True)\nsys.stdin.read()\n"),
            "sent \"hello, I am a lock\", which is not a reply",
        ),
        (
            adapter(d, "disorder.py", &format!("{READY}answers = ['released', 'pong', 'busy']\nfor i, line in enumerate(sys.stdin):\n    print(json.dumps({{'ok': answers[i % 3]}}), flush=True)\n")),
            "ping: the worker answered {\"ok\":\"released\"} to ping",
        ),
        (
            adapter(d, "silent.py", "import sys, time\nsys.stdin.readline()\nprint('thinking', file=sys.stderr, flush=True)\ntime.sleep(600)\n"),
            "did not say ready within",
        ),
        (
            adapter(d, "mute.py", &format!("{READY}import time\ntime.sleep(600)\n")),
            "ping: worker c1 · mute.py",
        ),
        (
            adapter(d, "newer.py", "import json, os, sys\nstart = json.loads(sys.stdin.readline())\nprint(json.dumps({'ready': 'v3', 'version': 3, 'pid': os.getpid(), 'name': 'c1'}), flush=True)\nsys.stdin.read()\n"),
            "speaks worker protocol version 3; this lab speaks 1 to 2",
        ),
        (
            adapter(d, "flood.py", "import sys\nsys.stdin.readline()\nwhile True:\n    sys.stdout.write('x' * 100 + '\\n')\n"),
            "which is not a reply",
        ),
    ];
    for (cmd, says) in &cases {
        let run = locklab(&["worker-check", "--deadline-ms", "1500", "--lock-cmd", cmd]);
        assert_eq!(run.code, 2, "{cmd}: {}\n{}", run.stdout, run.stderr);
        let lines: Vec<&str> = run.stderr.lines().collect();
        assert_eq!(lines.len(), 1, "{cmd}: one line, got {}", run.stderr);
        assert!(
            lines[0].contains(cmd.as_str()),
            "names the adapter: {}",
            lines[0]
        );
        assert!(
            lines[0].contains(says),
            "{cmd}: says {says:?}: {}",
            lines[0]
        );
    }
    let left = processes_mentioning(&d.display().to_string());
    assert!(left.is_empty(), "adapters left behind: {left:?}");

    // chaos, reproduce and bench with a broken adapter: the same one line
    // before any schedule or run.
    for args in [
        &["chaos", "--schedules", "1"][..],
        &["reproduce"],
        &[
            "bench",
            "--quick",
            "--peer",
            "none",
            "--protocol",
            "token",
            "--wait",
            "poll",
            "--clients",
            "1",
        ],
    ] {
        let mut argv = args.to_vec();
        argv.extend(["--lock-cmd", cases[1].0.as_str()]);
        let run = locklab(&argv);
        assert_eq!(run.code, 2, "{argv:?}: {}", run.stdout);
        assert_eq!(run.stderr.lines().count(), 1, "{argv:?}: {}", run.stderr);
        assert!(run.stderr.contains(cases[1].1), "{argv:?}: {}", run.stderr);
        assert!(
            run.stderr.contains(cases[1].0.as_str()),
            "{argv:?}: {}",
            run.stderr
        );
    }
    let left = processes_mentioning(&d.display().to_string());
    assert!(left.is_empty(), "adapters left behind: {left:?}");
}

/// The adapter runs as the lab's own child (no shell in between, or a
/// shell that `exec`s), so the kernel kills it when the lab is SIGKILLed.
#[test]
fn no_adapter_outlives_a_sigkilled_lab() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let direct = adapter(
        d,
        "direct.py",
        &format!("{READY}import time\ntime.sleep(600)\n"),
    );
    let script = d.join("wrapped.py");
    std::fs::write(&script, format!("{READY}import time\ntime.sleep(600)\n")).unwrap();
    let wrapped = format!("sh -c 'exec python3 {}'", script.display());
    for (cmd, needle) in [(direct, "direct.py"), (wrapped, "wrapped.py")] {
        let mut lab =
            locklab_child(&["worker-check", "--deadline-ms", "60000", "--lock-cmd", &cmd]);
        let deadline = std::time::Instant::now() + HANG_GUARD;
        let pids = loop {
            let pids = processes_mentioning(&d.join(needle).display().to_string());
            if !pids.is_empty() || std::time::Instant::now() >= deadline {
                break pids;
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        assert!(!pids.is_empty(), "{cmd}: the adapter never started");
        lab.kill().unwrap();
        lab.wait().unwrap();
        for pid in pids {
            assert_gone(pid, "python3", &cmd);
        }
    }
}
