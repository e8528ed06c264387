//! Worker protocol version 2 — renewals — against a real `redis-server`:
//! the lab's own renewing worker, told a period, renews on its timer and
//! reports each renewal and its loss as event lines; the history judges
//! them (a bare `PEXPIRE` after a pause extends the next holder's key: a
//! foreign extension, found); `worker-check` holds a renewing adapter to
//! its claim and refuses a bad period in one line; chaos plays the renewing
//! locks in workers.
//!
//! Every wait is for a state (an event, a key gone), bounded; nothing
//! asserts how long anything took.

use std::path::Path;
use std::time::{Duration, Instant};

use locklab::client::LabClient;
use locklab::history::{self, Op, Recorder};
use locklab::worker::{WorkerError, WorkerEvent, WorkerHandle, WorkerSpec};
use locklab_impl::redis;
use locklab_model::{Call, ClientOp, Outcome, PropertyName, Verdict};

use crate::support::{conn_to, locklab, server, HANG_GUARD};

/// A lease long enough that a busy machine keeps it renewed.
const LEASE: Duration = Duration::from_millis(600);
/// A third of it.
const PERIOD: Duration = Duration::from_millis(200);

fn binary() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_locklab"))
}

fn spec(name: &str, protocol: &str, url: &str, key: &str, every: Option<Duration>) -> WorkerSpec {
    let mut spec = WorkerSpec::new(name, protocol, url, key, format!("{key}:data"), LEASE);
    spec.renew_every = every;
    spec
}

async fn acquired(w: &mut WorkerHandle) -> Outcome {
    w.perform(Call::now(ClientOp::Acquire), "")
        .await
        .unwrap_or_else(|e| panic!("{} acquire: {e}", w.name()))
}

/// Reads `w`'s event lines until `until` says the ones read so far are
/// enough (bounded by [`HANG_GUARD`]); they are recorded in `rec` as the
/// conductor records them.
async fn events_until(
    w: &mut WorkerHandle,
    rec: &mut Recorder,
    until: impl Fn(&[WorkerEvent]) -> bool,
) -> Vec<WorkerEvent> {
    let deadline = Instant::now() + HANG_GUARD;
    let mut seen = Vec::new();
    while !until(&seen) {
        assert!(
            Instant::now() < deadline,
            "{}: no such events within {HANG_GUARD:?}; got {seen:?}",
            w.name()
        );
        if let Err(line) = w.gather_events(PERIOD).await {
            panic!("{} printed {line:?} unasked", w.name());
        }
        for (read, event) in w.take_events() {
            let event = event.unwrap_or_else(|e| panic!("a bad event line: {e}"));
            rec.reported(w.name(), read, &event);
            seen.push(event);
        }
    }
    seen
}

fn renewed(events: &[WorkerEvent]) -> usize {
    events
        .iter()
        .filter(|e| {
            matches!(
                e,
                WorkerEvent::Renewal {
                    ok: Some(locklab::worker::event::Renewed::Renewed),
                    ..
                }
            )
        })
        .count()
}

fn token(outcome: &Outcome) -> Option<String> {
    match outcome {
        Outcome::Granted { token, .. } => token.clone(),
        other => panic!("want a grant, got {other}"),
    }
}

fn record_grant(rec: &mut Recorder, client: &str, outcome: Outcome) {
    let i = rec.invoke(client, Op::call(ClientOp::Acquire));
    rec.complete(i, Ok(outcome));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_renewing_worker_reports_its_renewals_and_the_loss_it_is_told() {
    let redis = server();
    let key = "locklab:v2:told:lock";
    let mut w = WorkerHandle::spawn(
        binary(),
        &spec("c1", "renew", &redis.url(), key, Some(PERIOD)),
    )
    .await
    .expect("a renewing worker");
    assert_eq!(w.version(), 2);
    assert!(w.renews_by_itself(), "its ready says it renews");
    let mut rec = Recorder::new();
    let grant = acquired(&mut w).await;
    let own = token(&grant);
    record_grant(&mut rec, "c1", grant);

    let events = events_until(&mut w, &mut rec, |e| renewed(e) >= 2).await;
    for e in events
        .iter()
        .filter(|e| matches!(e, WorkerEvent::Renewal { .. }))
    {
        assert_eq!(
            e,
            &WorkerEvent::Renewal {
                ok: Some(locklab::worker::event::Renewed::Renewed),
                token: own.clone(),
                err: None
            }
        );
    }
    // Renewed, the key outlives its first lease: it is still there, ours.
    let lab = conn_to(&redis.url()).await;
    let held: Option<String> = lab.query(redis::cmd("GET").arg(key)).await.unwrap();
    assert_eq!(held, own);

    // The key goes; the next renewal finds nothing of c1's and tells it.
    let _: u64 = lab.query(redis::cmd("DEL").arg(key)).await.unwrap();
    let events = events_until(&mut w, &mut rec, |e| {
        e.iter().any(|e| matches!(e, WorkerEvent::Lost { .. }))
    })
    .await;
    assert!(
        events.iter().any(|e| matches!(
            e,
            WorkerEvent::Renewal {
                ok: Some(locklab::worker::event::Renewed::NotHeld),
                ..
            }
        )),
        "{events:?}"
    );
    let release = w.perform(Call::now(ClientOp::Release), "").await;
    assert!(release.unwrap_err().definite, "told, it holds nothing");
    let history = rec.finish();
    assert!(history.events.iter().any(|e| e.op == Op::Lost));
    for property in [PropertyName::LossTold, PropertyName::NoForeignExtension] {
        let found = history::finding(&history, property);
        assert_eq!(
            found.verdict,
            Verdict::Holds,
            "{property}: {:?}",
            found.says
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bare_pexpire_on_its_timer_extends_the_next_holders_key_and_is_found() {
    let redis = server();
    let key = "locklab:v2:foreign:lock";
    let url = redis.url();
    let mut c1 = WorkerHandle::spawn(
        binary(),
        &spec("c1", "renew-unchecked", &url, key, Some(PERIOD)),
    )
    .await
    .expect("c1");
    // c2 renews nothing by itself: the lab would time its renewals.
    let mut c2 = WorkerHandle::spawn(binary(), &spec("c2", "renew-unchecked", &url, key, None))
        .await
        .expect("c2");
    assert!(!c2.renews_by_itself());
    let mut rec = Recorder::new();
    let grant = acquired(&mut c1).await;
    record_grant(&mut rec, "c1", grant);
    c1.pause().await.expect("SIGSTOP c1");
    // c1's lease runs out while it is stopped (observed, bounded).
    let lab = conn_to(&url).await;
    let deadline = Instant::now() + HANG_GUARD;
    loop {
        let exists: bool = lab.query(redis::cmd("EXISTS").arg(key)).await.unwrap();
        if !exists {
            break;
        }
        assert!(Instant::now() < deadline, "the key outlived {HANG_GUARD:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let theirs = acquired(&mut c2).await;
    let c2_token = token(&theirs);
    record_grant(&mut rec, "c2", theirs);
    c1.resume().await.expect("SIGCONT c1");
    // The events c1 had sent before its pause, if any, came first.
    let events = events_until(&mut c1, &mut rec, |e| {
        e.iter().any(
            |e| matches!(e, WorkerEvent::Renewal { token, ok: Some(_), .. } if *token == c2_token),
        )
    })
    .await;
    assert!(!events.is_empty());
    let found = history::finding(&rec.finish(), PropertyName::NoForeignExtension);
    assert_eq!(found.verdict, Verdict::Violated);
    let says = found.says.unwrap_or_default();
    assert!(
        says.contains("c1's renewal") && says.contains("c2's"),
        "{says}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_period_not_below_the_lease_is_refused_at_start_up() {
    let redis = server();
    for every in [LEASE, Duration::ZERO] {
        let spec = spec("c1", "renew", &redis.url(), "locklab:v2:bad", Some(every));
        match WorkerHandle::spawn(binary(), &spec).await {
            Err(WorkerError::Refused { err, .. }) => {
                assert!(err.contains("renewal period"), "{err}");
                assert!(!err.contains('\n'));
            }
            Err(e) => panic!("{every:?}: refused as such, got {e}"),
            Ok(_) => panic!("{every:?}: a worker started with a period of {every:?}"),
        }
    }
}

/// An adapter that runs the lab's own renewing worker behind it and keeps
/// back the event lines (`drop`), or adds a renewal before any grant
/// (`early`): it says it renews, and does not keep its word.
fn liar(dir: &Path, name: &str, mode: &str) -> String {
    let source = format!(
        r#"import subprocess, sys, threading
child = subprocess.Popen([{bin:?}, "worker", "--protocol", "renew"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
def pump():
    for line in sys.stdin:
        child.stdin.write(line)
        child.stdin.flush()
    child.stdin.close()
threading.Thread(target=pump, daemon=True).start()
first = True
for line in child.stdout:
    if {mode:?} == "drop" and '"event"' in line:
        continue
    sys.stdout.write(line)
    if {mode:?} == "early" and first:
        sys.stdout.write('{{"event":"renewal","ok":"renewed"}}\n')
    first = False
    sys.stdout.flush()
"#,
        bin = binary().display().to_string(),
    );
    let path = dir.join(name);
    std::fs::write(&path, source).unwrap();
    format!("python3 {}", path.display())
}

#[test]
fn worker_check_holds_a_renewing_adapter_to_its_claim() {
    let dir = tempfile::tempdir().unwrap();
    let own = format!("{} worker --protocol renew", binary().display());
    let run = locklab(&["worker-check", "--lease-ms", "600", "--lock-cmd", &own]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stdout
            .contains("ok   renewals: renewed within 5 periods"),
        "{}",
        run.stdout
    );
    for (mode, says) in [
        ("drop", "reported no renewal within"),
        ("early", "before it was granted any"),
    ] {
        let cmd = liar(dir.path(), &format!("{mode}.py"), mode);
        let run = locklab(&["worker-check", "--lease-ms", "600", "--lock-cmd", &cmd]);
        assert_eq!(run.code, 2, "{mode}: {}\n{}", run.stdout, run.stderr);
        let lines: Vec<&str> = run.stderr.lines().collect();
        assert_eq!(lines.len(), 1, "{mode}: one line: {}", run.stderr);
        assert!(
            lines[0].contains("renewals: ") && lines[0].contains(says),
            "{mode}: {}",
            lines[0]
        );
    }
}

#[test]
fn worker_check_refuses_a_bad_renewal_period_before_any_work() {
    for (period, says) in [
        ("0", "a renewal period of 0 ms"),
        ("600", "not below the lease"),
    ] {
        let run = locklab(&[
            "worker-check",
            "--lease-ms",
            "600",
            "--renew-every-ms",
            period,
            "--lock-cmd",
            "/nonexistent/adapter",
        ]);
        assert_eq!(run.code, 2, "{period}: {}", run.stdout);
        assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
        assert!(run.stderr.contains(says), "{}", run.stderr);
        assert!(run.stdout.is_empty(), "no work: {}", run.stdout);
    }
}

#[test]
fn chaos_plays_the_renewing_locks_in_workers() {
    let run = locklab(&[
        "chaos",
        "--json",
        "--protocol",
        "renew",
        "--protocol",
        "renew-unchecked",
        "--protocol",
        "renew-reacquire",
        "--faults",
        "stall",
        "--faults",
        "pause",
        "--faults",
        "delay",
        "--schedules",
        "8",
        "--sentinel-schedules",
        "0",
    ]);
    assert_eq!(
        run.code, 0,
        "stderr: {}\nstdout: {}",
        run.stderr, run.stdout
    );
    let json = run.json();
    let runs = json["runs"].as_array().expect("runs");
    assert_eq!(runs.len(), 9, "every cell judged, in workers: {json}");
    assert_eq!(json["skipped"], serde_json::json!([]));
    for r in runs {
        assert_eq!(r["agree"], true, "{r}");
    }
    assert_eq!(json["disagreements"], 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_version_1_adapter_is_spoken_to_in_version_1() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v1.py");
    std::fs::write(
        &path,
        r#"import json, os, sys
start = json.loads(sys.stdin.readline())
if start.get("version") != 1:
    print(json.dumps({"err": "version", "definite": True}), flush=True)
    sys.exit(2)
print(json.dumps({"ready": "v1", "version": 1, "pid": os.getpid(), "name": start["client"], "renews": True}), flush=True)
for line in sys.stdin:
    op = json.loads(line)["op"]
    print(json.dumps({"ok": "pong"} if op == "ping" else {"err": op, "definite": True}), flush=True)
"#,
    )
    .unwrap();
    let command =
        locklab::worker::LockCommand::parse(&format!("python3 {}", path.display())).unwrap();
    let redis = server();
    let spec = spec("c1", "", &redis.url(), "locklab:v2:v1", Some(PERIOD));
    let mut w = WorkerHandle::start(&command, &spec)
        .await
        .expect("a v1 adapter starts");
    assert_eq!(w.version(), 1);
    assert!(!w.renews_by_itself(), "renews means nothing in version 1");
    w.ping().await.expect("pong");
    let e = w.renew().await.unwrap_err();
    assert!(e.definite && e.message.contains("version 1"), "{e}");
}
