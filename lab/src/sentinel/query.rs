//! Asking the Sentinels and the nodes what they see: one lazily opened
//! connection per process, every command under a timeout, and the replies
//! read into the few fields the set's waits look at.
//!
//! Failures come back as one readable line each, since a wait treats them
//! as "not yet" and reports the last one if the deadline passes. Sentinel
//! closes the clients of every node it reconfigures (`CLIENT KILL TYPE
//! normal`), so a link drops its connection on any error and opens a new
//! one for the next command.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, Cmd, FromRedisValue};
use tokio::sync::Mutex;

/// The longest one command (or opening a connection) may take.
pub(crate) const QUERY_TIMEOUT: Duration = Duration::from_secs(2);

/// A connection to one process, opened on first use and after any error.
pub(crate) struct Link {
    addr: SocketAddr,
    client: redis::Client,
    conn: Mutex<Option<MultiplexedConnection>>,
}

impl Link {
    pub(crate) fn new(addr: SocketAddr) -> Self {
        let client = redis::Client::open(format!("redis://{addr}/"))
            .expect("a redis:// URL made of a socket address is valid");
        Self {
            addr,
            client,
            conn: Mutex::new(None),
        }
    }

    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Runs `cmd`; an error is one line naming this process.
    pub(crate) async fn query<T: FromRedisValue>(&self, cmd: &Cmd) -> Result<T, String> {
        let result = tokio::time::timeout(QUERY_TIMEOUT, self.query_once(cmd))
            .await
            .unwrap_or_else(|_| Err(format!("no answer within {QUERY_TIMEOUT:?}")));
        if result.is_err() {
            *self.conn.lock().await = None;
        }
        result.map_err(|e| format!("{}: {e}", self.addr))
    }

    async fn query_once<T: FromRedisValue>(&self, cmd: &Cmd) -> Result<T, String> {
        let mut conn = {
            let mut slot = self.conn.lock().await;
            match &*slot {
                Some(conn) => conn.clone(),
                None => {
                    let config = AsyncConnectionConfig::new()
                        .set_connection_timeout(Some(QUERY_TIMEOUT))
                        .set_response_timeout(Some(QUERY_TIMEOUT));
                    let conn = self
                        .client
                        .get_multiplexed_async_connection_with_config(&config)
                        .await
                        .map_err(|e| e.to_string())?;
                    slot.insert(conn).clone()
                }
            }
        };
        cmd.query_async(&mut conn).await.map_err(|e| e.to_string())
    }
}

/// What one Sentinel says about the monitored primary and its replicas
/// (`SENTINEL MASTER` and `SENTINEL REPLICAS`).
#[derive(Debug, Clone)]
pub(crate) struct SentinelView {
    /// The Sentinel's own address.
    pub(crate) sentinel: SocketAddr,
    /// The address it names as the primary.
    pub(crate) primary: SocketAddr,
    /// Its flags for the primary: `master`, plus `s_down`, `o_down`,
    /// `failover_in_progress`… while something is wrong.
    pub(crate) primary_flags: String,
    /// How many other Sentinels it knows.
    pub(crate) other_sentinels: usize,
    pub(crate) replicas: Vec<ReplicaView>,
}

/// One replica as a Sentinel sees it.
#[derive(Debug, Clone)]
pub(crate) struct ReplicaView {
    pub(crate) addr: SocketAddr,
    /// `slave`, plus `s_down`, `disconnected`… while something is wrong.
    pub(crate) flags: String,
    /// `master-link-status` is `ok`.
    pub(crate) link_ok: bool,
    /// `slave-priority`, from the replica's last INFO.
    pub(crate) priority: i64,
    /// `slave-repl-offset`, from the replica's last INFO.
    pub(crate) offset: u64,
}

impl SentinelView {
    /// Asks one Sentinel about `service`.
    pub(crate) async fn read(link: &Link, service: &str) -> Result<Self, String> {
        let master: HashMap<String, String> = link
            .query(redis::cmd("SENTINEL").arg("MASTER").arg(service))
            .await?;
        let replicas: Vec<HashMap<String, String>> = link
            .query(redis::cmd("SENTINEL").arg("REPLICAS").arg(service))
            .await?;
        let bad = |what: &str| format!("{}: SENTINEL MASTER {service}: {what}", link.addr());
        Ok(SentinelView {
            sentinel: link.addr(),
            primary: addr_of(&master).ok_or_else(|| bad("no ip and port"))?,
            primary_flags: master.get("flags").cloned().unwrap_or_default(),
            other_sentinels: field(&master, "num-other-sentinels").unwrap_or(0),
            replicas: replicas
                .iter()
                .filter_map(|r| {
                    Some(ReplicaView {
                        addr: addr_of(r)?,
                        flags: r.get("flags").cloned().unwrap_or_default(),
                        link_ok: r.get("master-link-status").map(String::as_str) == Some("ok"),
                        priority: field(r, "slave-priority").unwrap_or(-1),
                        offset: field(r, "slave-repl-offset").unwrap_or(0),
                    })
                })
                .collect(),
        })
    }

    pub(crate) fn replica(&self, addr: SocketAddr) -> Option<&ReplicaView> {
        self.replicas.iter().find(|r| r.addr == addr)
    }
}

/// A flag that makes a Sentinel unwilling to use an instance.
pub(crate) fn troubled(flags: &str) -> Option<&str> {
    flags.split(',').find(|f| {
        matches!(
            *f,
            "s_down" | "o_down" | "disconnected" | "failover_in_progress" | "promoted"
        )
    })
}

/// What a node says about itself in `INFO replication`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NodeInfo {
    /// `role:master`.
    pub(crate) is_primary: bool,
    /// A replica's `master_host:master_port`.
    pub(crate) primary: Option<SocketAddr>,
    /// A replica's `master_link_status:up`.
    pub(crate) link_up: bool,
    /// How far into the replication stream it is: a primary's
    /// `master_repl_offset`, a replica's `slave_repl_offset`.
    pub(crate) offset: u64,
    /// A primary with `min-replicas-to-write`: the replicas it counts as
    /// good (`min_slaves_good_slaves`: online, acknowledged within
    /// `min-replicas-max-lag`), which decides whether it takes writes. A
    /// replica is counted a moment after its own link says it is up.
    pub(crate) good_replicas: Option<u64>,
}

impl NodeInfo {
    pub(crate) async fn read(link: &Link) -> Result<Self, String> {
        let info: String = link.query(redis::cmd("INFO").arg("replication")).await?;
        NodeInfo::parse(&info).map_err(|e| format!("{}: INFO replication: {e}", link.addr()))
    }

    fn parse(info: &str) -> Result<Self, String> {
        let fields: HashMap<&str, &str> = info
            .lines()
            .filter_map(|l| l.trim_end().split_once(':'))
            .collect();
        let number = |name: &str| -> Result<u64, String> {
            fields
                .get(name)
                .ok_or_else(|| format!("no {name}"))?
                .parse()
                .map_err(|_| format!("{name} is not a number"))
        };
        match fields.get("role").copied() {
            Some("master") => Ok(NodeInfo {
                is_primary: true,
                primary: None,
                link_up: false,
                offset: number("master_repl_offset")?,
                good_replicas: number("min_slaves_good_slaves").ok(),
            }),
            Some("slave") => Ok(NodeInfo {
                is_primary: false,
                primary: fields
                    .get("master_host")
                    .and_then(|h| h.parse::<IpAddr>().ok())
                    .zip(fields.get("master_port").and_then(|p| p.parse().ok()))
                    .map(SocketAddr::from),
                link_up: fields.get("master_link_status") == Some(&"up"),
                offset: number("slave_repl_offset")?,
                good_replicas: None,
            }),
            other => Err(format!("role {other:?}")),
        }
    }
}

fn addr_of(fields: &HashMap<String, String>) -> Option<SocketAddr> {
    let ip: IpAddr = fields.get("ip")?.parse().ok()?;
    let port: u16 = fields.get("port")?.parse().ok()?;
    Some(SocketAddr::from((ip, port)))
}

fn field<T: std::str::FromStr>(fields: &HashMap<String, String>, name: &str) -> Option<T> {
    fields.get(name)?.parse().ok()
}

/// `Ok` from a command that answers `+OK`, else its answer as a line.
pub(crate) fn expect_ok(reply: redis::Value) -> Result<(), String> {
    match reply {
        redis::Value::Okay => Ok(()),
        redis::Value::SimpleString(s) if s == "OK" => Ok(()),
        other => Err(format!("{other:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_replicas_info() {
        let info = "# Replication\r\nrole:slave\r\nmaster_host:127.0.0.1\r\nmaster_port:4242\r\n\
                    master_link_status:up\r\nslave_read_repl_offset:120\r\nslave_repl_offset:118\r\n\
                    slave_priority:100\r\nmaster_repl_offset:118\r\n";
        assert_eq!(
            NodeInfo::parse(info).unwrap(),
            NodeInfo {
                is_primary: false,
                primary: Some("127.0.0.1:4242".parse().unwrap()),
                link_up: true,
                offset: 118,
                good_replicas: None,
            }
        );
    }

    #[test]
    fn reads_a_primarys_info() {
        let info = "# Replication\r\nrole:master\r\nconnected_slaves:1\r\n\
                    slave0:ip=127.0.0.1,port=5,state=online,offset=9,lag=0\r\nmaster_repl_offset:9\r\n";
        let node = NodeInfo::parse(info).unwrap();
        assert!(node.is_primary);
        assert_eq!(node.offset, 9);
        assert_eq!(node.good_replicas, None);
        let counting = "# Replication\r\nrole:master\r\nconnected_slaves:1\r\n\
                        min_slaves_good_slaves:0\r\nmaster_repl_offset:9\r\n";
        assert_eq!(NodeInfo::parse(counting).unwrap().good_replicas, Some(0));
        assert!(NodeInfo::parse("role:sentinel\r\n").is_err());
        assert!(NodeInfo::parse("role:master\r\n").is_err());
    }

    #[test]
    fn troubled_flags() {
        assert_eq!(troubled("master"), None);
        assert_eq!(troubled("slave"), None);
        assert_eq!(troubled("slave,s_down,disconnected"), Some("s_down"));
        assert_eq!(
            troubled("master,failover_in_progress"),
            Some("failover_in_progress")
        );
    }
}
