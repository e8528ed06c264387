//! A skewable wall clock (`ServerConfig::skewable_clock`,
//! `RedisServer::set_clock_offset`) on real `redis-server` processes: a
//! clock set ahead ends a key's lease early and `TIME` shows the shift, at
//! once, on the running server; a restart keeps the shim and the offset; a
//! server without the shim is untouched; the shim does not get in the way
//! of a busy server or of killing it.
//!
//! Every assertion compares what Redis reports with the offset the test set,
//! never with a duration: the offsets are minutes or hours, the time a test
//! takes between two commands only ever moves a value in the direction the
//! bounds allow.

use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::support::{assert_gone, conn, server, HANG_GUARD};
use locklab::server::{ClockOffset, RedisServer, ServerConfig, ServerError};
use locklab_impl::{redis, Conn};

const MINUTE: Duration = Duration::from_secs(60);
const HOUR: Duration = Duration::from_secs(3600);

fn skewable() -> RedisServer {
    RedisServer::start_with(ServerConfig::new().skewable_clock(true))
        .unwrap_or_else(|e| panic!("start redis-server with a skewable clock: {e}"))
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap()
}

async fn set_px(conn: &Conn, key: &str, ttl: Duration) {
    let _: () = conn
        .query(
            redis::cmd("SET")
                .arg(key)
                .arg("v")
                .arg("PX")
                .arg(millis(ttl)),
        )
        .await
        .unwrap();
}

async fn pttl(conn: &Conn, key: &str) -> i64 {
    conn.query(redis::cmd("PTTL").arg(key)).await.unwrap()
}

async fn exists(conn: &Conn, key: &str) -> bool {
    let n: u64 = conn.query(redis::cmd("EXISTS").arg(key)).await.unwrap();
    n == 1
}

/// The server's `TIME`, in microseconds since the epoch.
async fn server_time_us(conn: &Conn) -> i64 {
    let (secs, micros): (i64, i64) = conn.query(&redis::cmd("TIME")).await.unwrap();
    secs * 1_000_000 + micros
}

/// The machine's wall clock, in whole microseconds since the epoch.
fn machine_time_us() -> i64 {
    let since = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    i64::try_from(since.as_micros()).unwrap()
}

/// Asserts that the server's `TIME` is the machine's clock plus `offset`:
/// read between two readings of the machine's clock, the server's minus the
/// offset lies between them (both clocks are the kernel's, truncated to the
/// microsecond).
async fn assert_time_shifted(conn: &Conn, offset: ClockOffset) {
    let before = machine_time_us();
    let server = server_time_us(conn).await;
    let after = machine_time_us();
    let unshifted = server - offset.as_nanos() / 1000;
    assert!(
        (before..=after).contains(&unshifted),
        "TIME {server} µs minus {offset} is outside the machine's [{before}, {after}] µs"
    );
}

/// Redis 7.0 expires keys by the wall clock: a clock jump ahead takes from
/// every lease at once, and past the lease the key is gone on its next
/// access, with no time passing. Setting the clock back does not bring it
/// back.
#[tokio::test]
async fn a_clock_ahead_ends_a_lease_early() {
    let server = skewable();
    let conn = conn(&server).await;
    let ttl = 10 * MINUTE;
    set_px(&conn, "lease", ttl).await;
    assert!(pttl(&conn, "lease").await > millis(ttl - 5 * MINUTE));

    let jump = 5 * MINUTE;
    server.set_clock_offset(ClockOffset::ahead(jump)).unwrap();
    assert_eq!(server.clock_offset(), ClockOffset::ahead(jump));
    let left = pttl(&conn, "lease").await;
    assert!(
        left > 0 && left <= millis(ttl - jump),
        "PTTL {left} ms after a jump of {jump:?} into a lease of {ttl:?}"
    );

    server
        .set_clock_offset(ClockOffset::ahead(ttl + Duration::from_secs(1)))
        .unwrap();
    assert!(!exists(&conn, "lease").await, "the lease outlived the jump");
    server.set_clock_offset(ClockOffset::ZERO).unwrap();
    assert!(!exists(&conn, "lease").await, "an expired key came back");
}

#[tokio::test]
async fn time_shows_the_offset_ahead_and_behind() {
    let server = skewable();
    let conn = conn(&server).await;
    assert_time_shifted(&conn, ClockOffset::ZERO).await;
    for offset in [
        ClockOffset::ahead(HOUR),
        ClockOffset::behind(HOUR + Duration::from_micros(250)),
        ClockOffset::ahead(Duration::from_millis(1500)),
    ] {
        server.set_clock_offset(offset).unwrap();
        assert_time_shifted(&conn, offset).await;
    }
}

/// The offset is the node's clock, not the process's: a restarted server
/// (a new process, empty) runs with the shim and reads the same clock.
#[tokio::test]
async fn a_restart_keeps_the_shim_and_the_offset() {
    let mut server = skewable();
    let offset = ClockOffset::ahead(HOUR);
    server.set_clock_offset(offset).unwrap();
    let first = server.pid();
    server.restart().unwrap();
    assert_ne!(server.pid(), first);
    assert_eq!(server.clock_offset(), offset);
    let conn = conn(&server).await;
    assert_time_shifted(&conn, offset).await;
}

/// A server started without a skewable clock has no shim, keeps the
/// machine's clock while another server's clock is shifted, and refuses an
/// offset with one line.
#[tokio::test]
async fn a_server_without_the_shim_keeps_the_machines_clock() {
    let plain = server();
    let skewed = skewable();
    let plain_conn = conn(&plain).await;
    let skewed_conn = conn(&skewed).await;
    let ttl = 10 * MINUTE;
    set_px(&plain_conn, "lease", ttl).await;
    set_px(&skewed_conn, "lease", ttl).await;
    skewed.set_clock_offset(ClockOffset::ahead(HOUR)).unwrap();

    assert!(!exists(&skewed_conn, "lease").await);
    assert!(pttl(&plain_conn, "lease").await > millis(ttl - 5 * MINUTE));
    assert_time_shifted(&plain_conn, ClockOffset::ZERO).await;

    assert_eq!(plain.clock_offset(), ClockOffset::ZERO);
    let err = plain
        .set_clock_offset(ClockOffset::ahead(HOUR))
        .unwrap_err();
    assert!(matches!(err, ServerError::ClockNotSkewable { .. }), "{err}");
    assert!(!err.to_string().contains('\n'), "one line: {err}");

    // Read from the memory map: Redis writes its process title over its
    // environment, so /proc/PID/environ no longer shows LD_PRELOAD.
    let has_shim = |pid: u32| {
        std::fs::read_to_string(format!("/proc/{pid}/maps"))
            .unwrap()
            .contains("locklab-clockshim.so")
    };
    assert!(!has_shim(plain.pid()));
    assert!(has_shim(skewed.pid()));
}

/// Thousands of commands while another thread moves the clock back and
/// forth: every write lands, every `TIME` shows one of the offsets the
/// thread set (a torn read of the clock file would show another), `INFO`
/// answers, and the server is killed and reaped as any other.
#[test]
fn the_shim_keeps_a_busy_server_working_and_killable() {
    const WRITES: u64 = 3000;
    /// A bound on the other thread's loop; it stops when the writes are done.
    const MAX_FLIPS: usize = 1_000_000;
    let mut server = skewable();
    let client = redis::Client::open(server.url()).unwrap();
    let mut conn = client.get_connection_with_timeout(HANG_GUARD).unwrap();
    conn.set_read_timeout(Some(HANG_GUARD)).unwrap();
    let pong: String = redis::cmd("PING").query(&mut conn).unwrap();
    assert_eq!(pong, "PONG");

    let wobble = [
        ClockOffset::ahead(Duration::from_secs(1)),
        ClockOffset::behind(Duration::from_secs(1)),
    ];
    let done = AtomicBool::new(false);
    thread::scope(|scope| {
        scope.spawn(|| {
            for offset in wobble.iter().cycle().take(MAX_FLIPS) {
                server.set_clock_offset(*offset).unwrap();
                if done.load(Ordering::Relaxed) {
                    break;
                }
            }
        });
        for i in 0..WRITES {
            let () = redis::cmd("SET")
                .arg(format!("k{i}"))
                .arg(i)
                .query(&mut conn)
                .unwrap();
            if i % 10 == 0 {
                let before = machine_time_us();
                let (secs, micros): (i64, i64) = redis::cmd("TIME").query(&mut conn).unwrap();
                let after = machine_time_us();
                let time = secs * 1_000_000 + micros;
                let shown = [ClockOffset::ZERO, wobble[0], wobble[1]]
                    .into_iter()
                    .find(|off| (before..=after).contains(&(time - off.as_nanos() / 1000)));
                assert!(
                    shown.is_some(),
                    "TIME {time} µs is no offset the lab set from [{before}, {after}] µs"
                );
            }
        }
        done.store(true, Ordering::Relaxed);
    });

    let size: u64 = redis::cmd("DBSIZE").query(&mut conn).unwrap();
    assert_eq!(size, WRITES);
    let info: String = redis::cmd("INFO").arg("server").query(&mut conn).unwrap();
    assert!(
        info.contains(&format!("process_id:{}", server.pid())),
        "INFO server: {info}"
    );
    assert!(wobble.contains(&server.clock_offset()));

    let pid = server.pid();
    server.kill().unwrap();
    assert!(!server.is_running());
    assert_gone(pid, "redis-server", "killed skewable server");
}
