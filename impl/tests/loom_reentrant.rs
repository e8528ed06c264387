//! loom models of the re-entrant lock's local hold,
//! [`Holds`](locklab_impl::reentrant::hold::Holds): every interleaving of two
//! tasks of one owner re-entering and releasing at once, against
//! [`LoomFakeReentrantStore`], an in-memory stand-in (for loom only) that
//! answers as `reentrant_acquire.lua` and `reentrant_release.lua` do, each
//! call atomic as a script is on Redis.
//!
//! The tasks call the hold exactly as `ReentrantLock` does: ask
//! `reentering` before sending an acquire, `granted` or `lost` when its
//! reply is back; send each release with its grant's fencing token, and
//! `released` when its reply is back. What must hold in every interleaving:
//! when both tasks are done, the store holds nothing for the owner (no
//! level leaked, none given back twice) and the owner believes it holds
//! nothing.
//!
//! This model found a race in an earlier design, which kept a local tenure
//! number and did not send a release of an ended tenure: a task's late
//! `Released` reply ended the tenure of the other task's fresh grant, whose
//! release was then never sent — a leaked level. Releasing by fencing token
//! leaves the decision to the store, where the order is known.
//!
//! Only built with `--cfg locklab_loom` (see `loom_watchdog.rs`).

#![cfg(locklab_loom)]

use loom::sync::{Arc, Mutex};
use loom::thread;

use locklab_impl::reentrant::hold::{Holds, Left};

/// The lock's hash as the scripts keep it: the owner's count and the
/// tenure's fencing token, and the fence counter. One owner only (the
/// tasks share it), so the owner id is left out.
#[derive(Debug, Default)]
struct LoomFakeReentrantStore {
    hash: Mutex<(u32, u64)>,
    counter: Mutex<u64>,
}

/// What the acquire script answers.
#[derive(Debug, PartialEq, Eq)]
enum Acquired {
    /// The count, and the fencing token of the hold.
    Granted(u32, u64),
    Lost,
}

impl LoomFakeReentrantStore {
    /// `reentrant_acquire.lua`, guarded: the owner's hold gets a level; a
    /// free lock is taken at 1 — unless the caller believed it was
    /// re-entering, which finds its hold gone.
    fn acquire(&self, reentering: bool) -> Acquired {
        let mut hash = self.hash.lock().unwrap();
        if hash.0 > 0 {
            hash.0 += 1;
            Acquired::Granted(hash.0, hash.1)
        } else if reentering {
            Acquired::Lost
        } else {
            let mut counter = self.counter.lock().unwrap();
            *counter += 1;
            *hash = (1, *counter);
            Acquired::Granted(1, *counter)
        }
    }

    /// `reentrant_release.lua`, naming the grant's fencing token: one level
    /// off that hold, deleted at 0; nothing when the hold is another one.
    fn release(&self, fence: u64) -> Left {
        let mut hash = self.hash.lock().unwrap();
        match *hash {
            (0, _) => Left::NotHeld,
            (_, f) if f != fence => Left::NotHeld,
            (1, _) => {
                *hash = (0, 0);
                Left::Released
            }
            (_, _) => {
                hash.0 -= 1;
                Left::StillHeld
            }
        }
    }

    fn count(&self) -> u32 {
        self.hash.lock().unwrap().0
    }
}

/// One task of the owner: acquire `levels` times, then release as many
/// grants as it got. What it did goes to `log`.
fn task(
    name: &str,
    holds: &Holds,
    store: &LoomFakeReentrantStore,
    levels: usize,
    log: &Mutex<Vec<String>>,
) {
    let note = |s: String| log.lock().unwrap().push(format!("{name}: {s}"));
    let mut grants = Vec::new();
    for _ in 0..levels {
        let reentering = holds.reentering();
        let got = store.acquire(reentering);
        note(format!("acquire (re-entering {reentering}) → {got:?}"));
        match got {
            Acquired::Granted(_, fence) => {
                holds.granted();
                grants.push(fence);
            }
            Acquired::Lost => holds.lost(),
        }
        note(format!("depth {}", holds.depth()));
    }
    for fence in grants.into_iter().rev() {
        let left = store.release(fence);
        note(format!("release (fence {fence}) → {left:?}"));
        holds.released(left);
        note(format!("depth {}", holds.depth()));
    }
}

fn explore(name: &str, model: impl Fn() + Sync + Send + 'static) {
    let mut builder = loom::model::Builder::new();
    if builder.preemption_bound.is_none() {
        builder.preemption_bound = Some(3);
    }
    builder.check(model);
    println!("{name}: explored");
}

#[test]
fn two_tasks_of_one_owner_acquiring_and_releasing_leave_nothing_held() {
    explore("one level each", || {
        let holds = Arc::new(Holds::new());
        let store = Arc::new(LoomFakeReentrantStore::default());
        let log = Arc::new(Mutex::new(Vec::new()));
        let (h, s, l) = (Arc::clone(&holds), Arc::clone(&store), Arc::clone(&log));
        let other = thread::spawn(move || task("t2", &h, &s, 1, &l));
        task("t1", &holds, &store, 1, &log);
        other.join().unwrap();
        assert_eq!(
            store.count(),
            0,
            "a level leaked on the store: {:#?}",
            log.lock().unwrap()
        );
        assert_eq!(holds.depth(), 0, "the owner still believes it holds");
    });
}

#[test]
fn a_task_re_entering_while_another_releases_leaves_nothing_held() {
    explore("two levels and one", || {
        let holds = Arc::new(Holds::new());
        let store = Arc::new(LoomFakeReentrantStore::default());
        let log = Arc::new(Mutex::new(Vec::new()));
        let (h, s, l) = (Arc::clone(&holds), Arc::clone(&store), Arc::clone(&log));
        let other = thread::spawn(move || task("t2", &h, &s, 2, &l));
        task("t1", &holds, &store, 1, &log);
        other.join().unwrap();
        assert_eq!(
            store.count(),
            0,
            "a level leaked on the store: {:#?}",
            log.lock().unwrap()
        );
        assert_eq!(holds.depth(), 0, "the owner still believes it holds");
    });
}
