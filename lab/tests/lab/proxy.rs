//! The lab's TCP proxy against a real `redis-server`: commands pass through;
//! a held reply waits in the proxy while Redis has run the command, and
//! arrives on release; a held request does not reach Redis until released;
//! a partition breaks connections and refuses new ones until repaired;
//! delayed bytes keep their order; a long hold is capped; dropping the proxy
//! closes everything.
//!
//! "Does not arrive" means "not within a short client-side read timeout";
//! no test asserts how long anything took.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use crate::support::{conn_to as conn, server, HANG_GUARD};
use locklab::proxy::{Direction, Proxy, MAX_QUEUED_BYTES};
use locklab::server::RedisServer;
use locklab_impl::redis;
use locklab_impl::Conn;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// How long a client waits before calling a reply "not arrived".
const SHORT: Duration = Duration::from_millis(200);

async fn proxy(server: &RedisServer) -> Proxy {
    Proxy::start(server.addr())
        .await
        .unwrap_or_else(|e| panic!("start the proxy: {e}"))
}

async fn get(conn: &Conn, key: &str) -> Option<String> {
    conn.query(redis::cmd("GET").arg(key)).await.unwrap()
}

/// Polls Redis (directly) until `key` holds `value`.
async fn until_value(conn: &Conn, key: &str, value: &str) {
    let poll = async {
        while get(conn, key).await.as_deref() != Some(value) {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    };
    tokio::time::timeout(HANG_GUARD, poll)
        .await
        .unwrap_or_else(|_| panic!("{key} never became {value:?} on Redis"));
}

/// A raw RESP connection, so a test sees exactly which bytes arrive. Reads
/// are cancel-safe: a reply cut by a timeout stays in the buffer.
struct Raw {
    stream: TcpStream,
    buf: Vec<u8>,
}

/// How a read ended when no reply came.
#[derive(Debug, PartialEq)]
enum NoReply {
    /// Nothing within the time given.
    TimedOut,
    /// The connection was closed or reset.
    Closed,
}

impl Raw {
    async fn connect(addr: SocketAddr) -> Raw {
        let stream = tokio::time::timeout(HANG_GUARD, TcpStream::connect(addr))
            .await
            .expect("connect in time")
            .unwrap_or_else(|e| panic!("connect to {addr}: {e}"));
        Raw {
            stream,
            buf: Vec::new(),
        }
    }

    /// Sends a command. A failure shows in the next [`reply`](Self::reply)
    /// as [`NoReply::Closed`].
    async fn send(&mut self, args: &[&str]) {
        let mut request = format!("*{}\r\n", args.len());
        for arg in args {
            request.push_str(&format!("${}\r\n{arg}\r\n", arg.len()));
        }
        let _ = self.stream.write_all(request.as_bytes()).await;
    }

    /// The next reply (`+OK`, `:3`, `$foo`, `$nil`, `-ERR …`), waiting at
    /// most `within`.
    async fn reply(&mut self, within: Duration) -> Result<String, NoReply> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            if let Some((reply, used)) = parse(&self.buf) {
                self.buf.drain(..used);
                return Ok(reply);
            }
            let mut chunk = [0u8; 4096];
            match tokio::time::timeout_at(deadline, self.stream.read(&mut chunk)).await {
                Err(_) => return Err(NoReply::TimedOut),
                Ok(Ok(0)) | Ok(Err(_)) => return Err(NoReply::Closed),
                Ok(Ok(n)) => self.buf.extend_from_slice(&chunk[..n]),
            }
        }
    }
}

/// One simple RESP reply from the front of `buf`, and its length.
fn parse(buf: &[u8]) -> Option<(String, usize)> {
    let end = buf.windows(2).position(|w| w == b"\r\n")?;
    let line = std::str::from_utf8(&buf[..end]).ok()?;
    if let Some(len) = line.strip_prefix('$') {
        if len == "-1" {
            return Some(("$nil".into(), end + 2));
        }
        let len: usize = len.parse().ok()?;
        let start = end + 2;
        if buf.len() < start + len + 2 {
            return None;
        }
        let body = String::from_utf8_lossy(&buf[start..start + len]);
        return Some((format!("${body}"), start + len + 2));
    }
    Some((line.to_owned(), end + 2))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_pass_through_and_are_counted() {
    let server = server();
    let proxy = proxy(&server).await;
    assert_eq!(
        proxy.url(),
        format!("redis://127.0.0.1:{}/", proxy.addr().port())
    );
    assert_ne!(proxy.addr().port(), server.port());
    let via = conn(&proxy.url()).await;
    via.ping().await.unwrap();
    let _: () = via
        .query(redis::cmd("SET").arg("locklab:p").arg("v"))
        .await
        .unwrap();
    assert_eq!(get(&via, "locklab:p").await.as_deref(), Some("v"));
    let direct = conn(&server.url()).await;
    assert_eq!(get(&direct, "locklab:p").await.as_deref(), Some("v"));

    for dir in Direction::BOTH {
        let stats = proxy.stats(dir);
        assert!(stats.forwarded > 0, "{dir}: {stats:?}");
        assert_eq!(stats.forwarded, proxy.forwarded_bytes(dir));
        assert_eq!(stats.dropped, 0, "{dir}: {stats:?}");
        assert!(!stats.is_held);
    }
    assert!(proxy.connections().accepted >= 1);
    assert!(proxy.connections().active >= 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_held_reply_waits_in_the_proxy_while_redis_has_run_the_command() {
    let server = server();
    let proxy = proxy(&server).await;
    let direct = conn(&server.url()).await;
    let mut client = Raw::connect(proxy.addr()).await;
    client.send(&["PING"]).await;
    assert_eq!(client.reply(HANG_GUARD).await.unwrap(), "+PONG");

    proxy.hold(Direction::ToClient);
    assert!(proxy.is_held(Direction::ToClient));
    client.send(&["SET", "locklab:held", "v"]).await;
    // Redis ran it...
    until_value(&direct, "locklab:held", "v").await;
    // ...its reply ("+OK\r\n") is in the proxy...
    assert!(
        proxy
            .wait_held(Direction::ToClient, "+OK\r\n".len(), HANG_GUARD)
            .await,
        "the reply never reached the proxy: {:?}",
        proxy.stats(Direction::ToClient)
    );
    assert_eq!(proxy.held_bytes(Direction::ToClient), 5);
    // ...and not with the client.
    assert_eq!(client.reply(SHORT).await, Err(NoReply::TimedOut));

    // A second command's reply queues behind the first.
    client.send(&["GET", "locklab:held"]).await;
    assert!(
        proxy
            .wait_held(Direction::ToClient, 5 + 7, HANG_GUARD)
            .await
    );
    assert_eq!(client.reply(SHORT).await, Err(NoReply::TimedOut));

    proxy.release(Direction::ToClient);
    assert_eq!(client.reply(HANG_GUARD).await.unwrap(), "+OK");
    assert_eq!(client.reply(HANG_GUARD).await.unwrap(), "$v");
    assert_eq!(proxy.held_bytes(Direction::ToClient), 0);
    assert_eq!(proxy.stats(Direction::ToClient).dropped, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_held_request_reaches_redis_only_when_released() {
    let server = server();
    let proxy = proxy(&server).await;
    let direct = conn(&server.url()).await;
    let mut client = Raw::connect(proxy.addr()).await;

    proxy.hold(Direction::ToServer);
    client.send(&["SET", "locklab:req", "v"]).await;
    let request_len = "*3\r\n$3\r\nSET\r\n$11\r\nlocklab:req\r\n$1\r\nv\r\n".len();
    assert!(
        proxy
            .wait_held(Direction::ToServer, request_len, HANG_GUARD)
            .await
    );
    // The whole request is in the proxy, so Redis cannot have run it.
    assert_eq!(get(&direct, "locklab:req").await, None);
    assert_eq!(client.reply(SHORT).await, Err(NoReply::TimedOut));

    proxy.release(Direction::ToServer);
    assert_eq!(client.reply(HANG_GUARD).await.unwrap(), "+OK");
    assert_eq!(get(&direct, "locklab:req").await.as_deref(), Some("v"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partition_breaks_connections_and_repair_lets_new_ones_in() {
    let server = server();
    let proxy = proxy(&server).await;
    let via = conn(&proxy.url()).await;
    via.ping().await.unwrap();
    let mut raw = Raw::connect(proxy.addr()).await;
    raw.send(&["PING"]).await;
    assert_eq!(raw.reply(HANG_GUARD).await.unwrap(), "+PONG");

    // A reply held at the moment of the partition is dropped with it.
    proxy.hold(Direction::ToClient);
    raw.send(&["PING"]).await;
    assert!(proxy.wait_held(Direction::ToClient, 7, HANG_GUARD).await);
    proxy.partition();
    proxy.release(Direction::ToClient);
    assert!(proxy.is_partitioned());
    assert_eq!(raw.reply(HANG_GUARD).await, Err(NoReply::Closed));
    assert!(proxy.stats(Direction::ToClient).dropped >= 7);

    let err = via.ping().await.expect_err("the connection is broken");
    assert!(err.is_retryable(), "{err}");
    // New connections are closed as soon as they are accepted.
    let refused_before = proxy.connections().refused;
    // (The reset may even beat the end of the handshake.)
    if let Ok(stream) = TcpStream::connect(proxy.addr()).await {
        let mut late = Raw {
            stream,
            buf: Vec::new(),
        };
        late.send(&["PING"]).await;
        assert_eq!(late.reply(HANG_GUARD).await, Err(NoReply::Closed));
    }
    assert!(
        via.ping().await.is_err(),
        "no way through while partitioned"
    );
    assert!(proxy.connections().refused > refused_before);

    proxy.repair();
    assert!(!proxy.is_partitioned());
    via.ping()
        .await
        .unwrap_or_else(|e| panic!("the client reconnects after repair: {e}"));
    let mut fresh = Raw::connect(proxy.addr()).await;
    fresh.send(&["PING"]).await;
    assert_eq!(fresh.reply(HANG_GUARD).await.unwrap(), "+PONG");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delayed_bytes_keep_their_order() {
    let server = server();
    let proxy = proxy(&server).await;
    let mut client = Raw::connect(proxy.addr()).await;
    proxy.delay(Direction::ToClient, Duration::from_millis(20));
    proxy.delay(Direction::ToServer, Duration::from_millis(3));
    assert_eq!(
        proxy.stats(Direction::ToClient).delay,
        Duration::from_millis(20)
    );
    // Pipelined, with the delays changed midway: the replies still come in
    // the order the commands were sent.
    for i in 0..60 {
        client.send(&["INCR", "locklab:n"]).await;
        if i == 20 {
            proxy.undelay(Direction::ToServer);
        }
        if i == 40 {
            proxy.undelay(Direction::ToClient);
            proxy.delay(Direction::ToServer, Duration::from_millis(5));
        }
        if i % 7 == 0 {
            tokio::task::yield_now().await;
        }
    }
    for expected in 1..=60 {
        assert_eq!(
            client.reply(HANG_GUARD).await.unwrap(),
            format!(":{expected}")
        );
    }
    proxy.undelay(Direction::ToServer);
    assert_eq!(proxy.stats(Direction::ToServer).delay, Duration::ZERO);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_the_proxy_closes_its_connections_and_its_port() {
    let server = server();
    let proxy = proxy(&server).await;
    let addr = proxy.addr();
    let mut client = Raw::connect(addr).await;
    client.send(&["PING"]).await;
    assert_eq!(client.reply(HANG_GUARD).await.unwrap(), "+PONG");
    drop(proxy);
    assert_eq!(client.reply(HANG_GUARD).await, Err(NoReply::Closed));
    let refused = async {
        loop {
            match TcpStream::connect(addr).await {
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => return,
                _ => tokio::time::sleep(Duration::from_millis(5)).await,
            }
        }
    };
    tokio::time::timeout(HANG_GUARD, refused)
        .await
        .expect("the proxy's port closes");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_hold_is_capped_by_back_pressure_and_loses_nothing() {
    // An upstream that sends more than the cap as soon as a client comes.
    const TOTAL: usize = MAX_QUEUED_BYTES + (4 << 20);
    let upstream = TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
        .await
        .unwrap();
    let upstream_addr = upstream.local_addr().unwrap();
    let sender = tokio::spawn(async move {
        let (mut s, _) = upstream.accept().await.unwrap();
        let data: Vec<u8> = (0..TOTAL).map(|i| (i % 251) as u8).collect();
        s.write_all(&data).await.unwrap();
        s.shutdown().await.unwrap();
    });
    let proxy = Proxy::start(upstream_addr).await.unwrap();
    proxy.hold(Direction::ToClient);
    let mut client = TcpStream::connect(proxy.addr()).await.unwrap();

    assert!(
        proxy
            .wait_held(Direction::ToClient, MAX_QUEUED_BYTES, HANG_GUARD)
            .await,
        "{:?}",
        proxy.stats(Direction::ToClient)
    );
    // Wait (bounded) until the reader has hit the cap.
    let stalled = async {
        while proxy.stats(Direction::ToClient).cap_stalls == 0 {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    };
    tokio::time::timeout(HANG_GUARD, stalled)
        .await
        .expect("the reader stops at the cap");
    let stats = proxy.stats(Direction::ToClient);
    assert!(stats.held <= MAX_QUEUED_BYTES + 16 * 1024, "{stats:?}");

    proxy.release(Direction::ToClient);
    let mut got = Vec::with_capacity(TOTAL);
    tokio::time::timeout(HANG_GUARD, client.read_to_end(&mut got))
        .await
        .expect("everything arrives")
        .unwrap();
    assert_eq!(got.len(), TOTAL);
    assert!(
        got.iter().enumerate().all(|(i, &b)| b == (i % 251) as u8),
        "bytes in order"
    );
    sender.await.unwrap();
    assert_eq!(proxy.stats(Direction::ToClient).dropped, 0);
}
