//! `locklab report`: a page written from the real commands' JSON (run here
//! at small bounds) and opened in a real browser — Debian's chromium driven
//! by playwright-core (`lab/tests/browser/report.mjs`; `scripts/setup.sh`
//! installs both) — and bad input refused in one line, with nothing left
//! behind.

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use locklab::process::spawn_guarded;

use crate::support::locklab;

/// The largest page the default matrix may make.
const MAX_PAGE_BYTES: u64 = 5 << 20;

/// A bound on the browser run, so that a hung browser fails the test.
const BROWSER_DEADLINE: Duration = Duration::from_secs(180);

/// Held by the tests that run chaos, the bench and a browser, so that they
/// do not load the 2 cores at once on top of the other areas' tests (chaos
/// judges schedules against real ticks).
static HEAVY: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn heavy() -> std::sync::MutexGuard<'static, ()> {
    HEAVY
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Runs a command with `--json` and keeps its output in `dir/name`.
fn json_of(dir: &Path, name: &str, args: &[&str]) -> PathBuf {
    let run = locklab(args);
    assert!(
        run.code == 0 || run.code == 1,
        "locklab {args:?} exited {}: {}",
        run.code,
        run.stderr
    );
    assert_eq!(
        run.json()["locklab"]["command"],
        args[0],
        "the output names its command in its envelope"
    );
    let path = dir.join(name);
    std::fs::write(&path, &run.stdout).expect("write the JSON");
    path
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("read the folder")
        .map(|e| {
            e.expect("an entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    names.sort();
    names
}

fn one_line_exit_2(args: &[&str], says: &str) {
    let run = locklab(args);
    assert_eq!(run.code, 2, "{args:?}: {}{}", run.stdout, run.stderr);
    let line = run.stderr.trim_end();
    assert!(!line.contains('\n'), "{args:?}: more than one line: {line}");
    assert!(line.contains(says), "{args:?}: {line}");
}

#[test]
fn bad_input_is_refused_in_one_line_and_leaves_nothing_behind() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let d = |name: &str| dir.path().join(name).display().to_string();
    std::fs::write(dir.path().join("foreign.json"), r#"{"verdicts": []}"#).unwrap();
    std::fs::write(
        dir.path().join("old.json"),
        r#"{"locklab": {"version": "0.0.1", "format": 0, "command": "check"}, "verdicts": []}"#,
    )
    .unwrap();
    std::fs::write(dir.path().join("text.json"), "hello").unwrap();
    std::fs::write(dir.path().join("file"), "").unwrap();
    let out = d("r.html");
    let from = |f: &str| d(f);
    for (args, says) in [
        (
            vec![
                "report",
                "--out",
                &d("missing/r.html"),
                "--from",
                &from("foreign.json"),
            ],
            "does not exist",
        ),
        (
            vec![
                "report",
                "--out",
                &d("file/r.html"),
                "--from",
                &from("foreign.json"),
            ],
            "is not a folder",
        ),
        (
            vec!["report", "--out", &d(""), "--from", &from("foreign.json")],
            "is a folder",
        ),
        (
            vec![
                "report",
                "--out",
                "/proc/locklab-report.html",
                "--from",
                &from("foreign.json"),
            ],
            "cannot write in /proc",
        ),
        (
            vec!["report", "--out", &out, "--from", &from("foreign.json")],
            "not locklab's JSON",
        ),
        (
            vec!["report", "--out", &out, "--from", &from("old.json")],
            "JSON format 0",
        ),
        (
            vec!["report", "--out", &out, "--from", &from("text.json")],
            "not JSON",
        ),
        (
            vec!["report", "--out", &out, "--from", &from("none.json")],
            "cannot read it",
        ),
        (
            vec!["report", "--out", &out, "--chaos-schedules", "0"],
            "--chaos-schedules 0",
        ),
    ] {
        one_line_exit_2(&args, says);
    }
    assert_eq!(
        files_in(dir.path()),
        ["file", "foreign.json", "old.json", "text.json"],
        "no report and no temporary file left"
    );
}

/// What `report.mjs` saw.
fn browse(page: &Path, shots: &Path) -> serde_json::Value {
    let browser = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser");
    assert!(
        browser
            .join("node_modules/playwright-core/package.json")
            .is_file(),
        "playwright-core is not installed in {}: run `bash scripts/setup.sh`",
        browser.display()
    );
    assert!(
        Path::new("/usr/bin/chromium").is_file(),
        "no /usr/bin/chromium: run `bash scripts/setup.sh`"
    );
    let mut cmd = Command::new("node");
    cmd.arg(browser.join("report.mjs"))
        .arg(page)
        .arg(shots)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = spawn_guarded(cmd).expect("start node (run `bash scripts/setup.sh`)");
    let mut stdout = child.take_stdout().expect("node's stdout");
    let mut stderr = child.take_stderr().expect("node's stderr");
    let out = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let status = child
        .wait_timeout(BROWSER_DEADLINE)
        .expect("wait for node")
        .unwrap_or_else(|| {
            let _ = child.kill_and_wait();
            panic!("the browser did not finish within {BROWSER_DEADLINE:?}")
        });
    let (out, err) = (
        out.join().unwrap_or_default(),
        err.join().unwrap_or_default(),
    );
    assert!(
        status.success(),
        "report.mjs failed ({status}):\n{err}\n{out}"
    );
    serde_json::from_str(out.trim())
        .unwrap_or_else(|e| panic!("report.mjs said ({e}): {out}\n{err}"))
}

#[test]
fn the_report_opens_in_a_real_browser_with_every_violated_cell_drawn() {
    let _heavy = heavy();
    let dir = tempfile::tempdir().expect("a temp dir");
    let inputs = [
        json_of(
            dir.path(),
            "check.json",
            &[
                "check",
                "--json",
                "--protocol",
                "naive",
                "--protocol",
                "fenced",
            ],
        ),
        json_of(
            dir.path(),
            "reproduce.json",
            &[
                "reproduce",
                "--json",
                "--protocol",
                "naive",
                "--protocol",
                "fenced",
            ],
        ),
        json_of(
            dir.path(),
            "chaos.json",
            &[
                "chaos",
                "--json",
                "--protocol",
                "naive",
                "--faults",
                "pause",
                "--schedules",
                "8",
            ],
        ),
        json_of(
            dir.path(),
            "bench.json",
            &[
                "bench",
                "--json",
                "--quick",
                "--protocol",
                "token",
                "--wait",
                "poll",
                "--peer",
                "none",
                "--clients",
                "1,4",
                "--duration-secs",
                "0.1",
            ],
        ),
    ];
    let page = dir.path().join("report.html");
    let svg = dir.path().join("svg");
    let mut args: Vec<String> = vec![
        "report".into(),
        "--out".into(),
        page.display().to_string(),
        "--svg-dir".into(),
        svg.display().to_string(),
    ];
    for f in &inputs {
        args.extend(["--from".to_owned(), f.display().to_string()]);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let run = locklab(&args);
    assert!(
        run.code == 0 || run.code == 1,
        "{}{}",
        run.stdout,
        run.stderr
    );
    let size = std::fs::metadata(&page).expect("the page").len();
    assert!(size < MAX_PAGE_BYTES, "{size} bytes");
    let written: Vec<&str> = run
        .stdout
        .lines()
        .filter(|l| l.starts_with("figure\t"))
        .collect();
    assert!(written.len() >= 10, "{written:?}");
    for line in written {
        let path = line.split('\t').nth(1).expect("a path");
        let text = std::fs::read_to_string(path).expect("the SVG");
        roxmltree::Document::parse(&text).unwrap_or_else(|e| panic!("{path}: {e}"));
    }

    // Screenshots go where cargo keeps integration tests' files.
    let shots = Path::new(env!("CARGO_TARGET_TMPDIR")).join("report-browser");
    let _ = std::fs::remove_dir_all(&shots);
    std::fs::create_dir_all(&shots).expect("the screenshot folder");
    let seen = browse(&page, &shots);
    eprintln!(
        "report: {size} bytes; opened in {} ms, ready {} ms after navigation; screenshots in {}",
        seen["openMs"],
        seen["readyMs"],
        shots.display()
    );
    assert_eq!(seen["consoleErrors"], serde_json::json!([]), "{seen}");
    assert_eq!(seen["externalRequests"], serde_json::json!([]), "{seen}");
    let cells = &seen["cells"];
    assert!(cells["violated"].as_u64() > Some(5), "{cells}");
    assert_eq!(cells["withDiagram"], cells["violated"], "{cells}");
    let s = &seen["slider"];
    assert_eq!(s["home"]["row"], "0", "{s}");
    assert_eq!(s["right"]["row"], "1", "{s}");
    assert_eq!(s["end"]["row"], s["before"]["row"], "{s}");
    assert_ne!(
        s["home"]["curtain"], "0",
        "stepping back hides the later rows: {s}"
    );
    assert_eq!(s["end"]["curtain"], "0", "{s}");
    let hover = seen["hoverInfo"].as_str().unwrap_or("");
    assert!(
        hover.contains("reply") && hover.contains("after it"),
        "{hover}"
    );
    for shot in seen["screenshots"].as_array().expect("screenshots") {
        let bytes = std::fs::read(shot.as_str().expect("a path")).expect("the screenshot");
        assert!(bytes.starts_with(b"\x89PNG"), "{shot} is not a PNG");
    }
}

#[test]
fn without_from_the_report_runs_the_four_commands_itself() {
    let _heavy = heavy();
    let dir = tempfile::tempdir().expect("a temp dir");
    let page = dir.path().join("report.html");
    let out = page.display().to_string();
    // Two protocols keep it short: the default runs every protocol's cells.
    let run = locklab(&[
        "report",
        "--out",
        &out,
        "--chaos-schedules",
        "1",
        "--protocol",
        "naive",
        "--protocol",
        "token",
    ]);
    // One schedule per chaos cell cannot find every break: exit 1 says so.
    assert!(
        run.code == 0 || run.code == 1,
        "{}{}",
        run.stdout,
        run.stderr
    );
    for n in 1..=4 {
        assert!(
            run.stderr.contains(&format!("report: [{n}/4]")),
            "{}",
            run.stderr
        );
    }
    let html = std::fs::read_to_string(&page).expect("the page");
    for made in [
        "$ locklab check --json",
        "$ locklab reproduce --json",
        "$ locklab chaos --json --schedules 1",
        "$ locklab bench --quick --json",
    ] {
        assert!(html.contains(made), "the page does not say it ran `{made}`");
    }
    assert!(html.contains(r#"<section id="bench">"#) && html.contains("<figure class=\"chart\""));
    assert!(
        html.contains(", against redis-server "),
        "the page names the Redis it ran on"
    );
    assert_eq!(
        files_in(dir.path()),
        ["report.html"],
        "nothing else left behind"
    );
}
