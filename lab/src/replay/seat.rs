//! Where a client of a replay sits: in the lab's own process, or in a worker
//! process of its own behind the lab's TCP proxy.
//!
//! In process, a pause is the conductor withholding the client's steps and
//! a delayed reply is a request whose reply is read late. In a worker, a
//! pause is SIGSTOP of the whole process (anything it runs in the
//! background — a lease watchdog — stops too, as in a GC pause), a crash is
//! SIGKILL, and a delayed reply is the proxy holding the bytes on their way
//! back. The conductor drives both the same way.

use std::path::PathBuf;

use locklab_impl::{LockKey, ResourceKey, Ttl};
use locklab_model::{Call, ClientOp, Outcome};
use tokio::task::JoinHandle;

use crate::client::{open, ClientSpec, Keys, LabClient, OpError, Strategy};
use crate::proxy::{Direction, Proxy};
use crate::worker::{Exit, LockCommand, Request, WorkerHandle, WorkerSpec};

/// How the clients of a replay are run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Clients {
    /// In the lab's own process.
    InProcess,
    /// One worker process each (this `locklab` binary), behind a proxy.
    Workers {
        /// The `locklab` binary that serves as worker.
        binary: PathBuf,
    },
    /// One worker process each, started from a user's command
    /// (`--lock-cmd`), behind a proxy.
    Command {
        /// The command.
        command: LockCommand,
    },
}

impl Clients {
    /// Whether each client is a process of its own.
    pub fn in_workers(&self) -> bool {
        !matches!(self, Clients::InProcess)
    }
}

/// What a seat needs to open its client.
pub struct SeatSpec<'a> {
    /// `c1`, …
    pub name: String,
    /// The lock's name: one of `locklab-impl`'s protocols, or a peer such
    /// as `rslock` (any client [`open`] knows).
    pub lock: &'a str,
    /// The lock's Redis: one URL per master.
    pub lock_urls: &'a [String],
    /// The lock's servers' addresses (the proxies' upstreams), one per
    /// master.
    pub lock_addrs: &'a [std::net::SocketAddr],
    /// The resource's Redis.
    pub resource_url: &'a str,
    /// The lock key.
    pub lock_key: &'a LockKey,
    /// The resource key.
    pub resource_key: &'a ResourceKey,
    /// The lease.
    pub ttl: Ttl,
    /// Connection timeouts.
    pub connect: &'a locklab_impl::ConnectOptions,
    /// A quorum lock's drift and per-master timeout.
    pub redlock: Option<locklab_impl::RedlockOptions>,
}

type Delayed = JoinHandle<(Box<dyn LabClient>, Result<Outcome, OpError>)>;

/// One client's seat.
pub enum Seat {
    /// In the lab's process.
    Local {
        /// The client; `None` while a delayed acquire holds it, or after a
        /// crash.
        lock: Option<Box<dyn LabClient>>,
        /// A delayed acquire in flight.
        in_flight: Option<Delayed>,
    },
    /// In a worker process.
    Worker {
        /// The worker.
        worker: Box<WorkerHandle>,
        /// Its proxies, one to each master of the lock.
        proxies: Vec<Proxy>,
        /// Killed.
        crashed: bool,
    },
}

fn gone() -> OpError {
    OpError::definite("the client has crashed")
}

fn worker_error(e: impl std::fmt::Display) -> OpError {
    OpError::indefinite(e.to_string())
}

impl Seat {
    /// Opens a client where `clients` says.
    pub async fn open(clients: &Clients, spec: SeatSpec<'_>) -> Result<Seat, String> {
        match clients {
            Clients::InProcess => {
                let lock = open(&ClientSpec {
                    lock: spec.lock.to_owned(),
                    redis: spec.lock_urls.to_vec(),
                    resource_redis: Some(spec.resource_url.to_owned()),
                    keys: Keys {
                        lock: spec.lock_key.as_str().to_owned(),
                        resource: spec.resource_key.as_str().to_owned(),
                    },
                    ttl: spec.ttl.as_duration(),
                    connect: *spec.connect,
                    strategy: Strategy::Default,
                    redlock: spec.redlock,
                })
                .await
                .map_err(|e| e.to_string())?;
                Ok(Seat::Local {
                    lock: Some(lock),
                    in_flight: None,
                })
            }
            Clients::Workers { .. } | Clients::Command { .. } => {
                let mut proxies = Vec::with_capacity(spec.lock_addrs.len());
                for addr in spec.lock_addrs {
                    let proxy = Proxy::start(*addr)
                        .await
                        .map_err(|e| format!("starting a proxy: {e}"))?;
                    proxies.push(proxy);
                }
                // A Sentinel service's client finds the primary itself, and
                // follows it: no lab proxy in its path.
                let follows = spec.lock_urls.first().is_some_and(|url| {
                    matches!(
                        crate::sentinel::RedisTarget::parse(url),
                        Ok(crate::sentinel::RedisTarget::Sentinel(_))
                    )
                });
                let urls: Vec<String> = if follows {
                    spec.lock_urls.to_vec()
                } else {
                    proxies.iter().map(Proxy::url).collect()
                };
                let mut worker_spec = WorkerSpec::new(
                    spec.name,
                    spec.lock,
                    urls.first().cloned().unwrap_or_default(),
                    spec.lock_key.as_str(),
                    spec.resource_key.as_str(),
                    spec.ttl.as_duration(),
                );
                // On a Sentinel set the other nodes are the primary's
                // replicas, not masters of a quorum lock.
                if !follows {
                    worker_spec.masters = urls.into_iter().skip(1).collect();
                }
                worker_spec.redlock = spec.redlock;
                worker_spec.resource_redis = Some(spec.resource_url.to_owned());
                let binary = match clients {
                    Clients::Workers { binary } => binary.clone(),
                    _ => PathBuf::new(),
                };
                if let Clients::Command { command } = clients {
                    worker_spec.command = Some(command.clone());
                }
                let worker = WorkerHandle::spawn(&binary, &worker_spec)
                    .await
                    .map_err(|e| e.to_string())?;
                Ok(Seat::Worker {
                    worker: Box::new(worker),
                    proxies,
                    crashed: false,
                })
            }
        }
    }

    fn local(lock: &mut Option<Box<dyn LabClient>>) -> Result<&mut Box<dyn LabClient>, OpError> {
        lock.as_mut().ok_or_else(gone)
    }

    /// One operation, its reply read at once.
    pub async fn perform(&mut self, call: Call, data: &str) -> Result<Outcome, OpError> {
        match self {
            Seat::Local { lock, .. } => Self::local(lock)?.perform(call, data).await,
            Seat::Worker { worker, .. } => worker.perform(call, data).await,
        }
    }

    /// The client itself, unless it crashed or a delayed acquire holds it.
    pub fn client(&mut self) -> Option<&mut dyn LabClient> {
        match self {
            Seat::Local { lock, .. } => lock.as_deref_mut().map(|c| c as &mut dyn LabClient),
            Seat::Worker { worker, .. } => Some(&mut **worker),
        }
    }

    /// Why the client cannot follow a Sentinel failover, if it cannot: a
    /// worker whose `ready` did not say it follows one. A client in the
    /// lab's process follows a Sentinel URL's primary (client::follow).
    pub fn stays_on_one_server(&self) -> Option<String> {
        match self {
            Seat::Worker { worker, .. } if !worker.follows_failover() => Some(
                "it is given one Redis address and cannot follow a Sentinel failover (its ready line does not say \"follows_failover\":true, docs/worker-protocol.md)"
                    .to_owned(),
            ),
            _ => None,
        }
    }

    /// The event lines a worker sent since the last call (version 2),
    /// with when the lab read each; none in process.
    pub fn take_events(
        &mut self,
    ) -> Vec<(
        std::time::Instant,
        Result<crate::worker::WorkerEvent, crate::worker::event::EventError>,
    )> {
        match self {
            Seat::Local { .. } => Vec::new(),
            Seat::Worker { worker, .. } => worker.take_events(),
        }
    }

    /// What the library told its caller since the last call (a worker's
    /// `said`); `None` in process.
    pub fn take_said(&mut self) -> Option<String> {
        match self {
            Seat::Local { .. } => None,
            Seat::Worker { worker, .. } => worker.take_said(),
        }
    }

    /// Sends an operation whose reply is not read until [`Seat::deliver`].
    pub async fn send(&mut self, op: ClientOp) -> Result<(), OpError> {
        match self {
            // A watchdog's renewal: the holder keeps working meanwhile.
            Seat::Local { lock, .. } if op == ClientOp::Renew => {
                Self::local(lock)?.send_renewal().await
            }
            // In a worker (version 2) too: `renew-held` runs it and the
            // watchdog keeps the reply, while the worker serves the holder.
            Seat::Worker { worker, .. } if op == ClientOp::Renew => worker.send_renewal().await,
            Seat::Local {
                lock, in_flight, ..
            } => {
                let mut client = lock.take().ok_or_else(gone)?;
                *in_flight = Some(tokio::spawn(async move {
                    let outcome = client.perform(Call::now(op), "").await;
                    (client, outcome)
                }));
                Ok(())
            }
            Seat::Worker {
                worker, proxies, ..
            } => {
                if let Some(proxy) = proxies.get(op.node().map_or(0, |n| n.index())) {
                    proxy.hold(Direction::ToClient);
                }
                worker
                    .send(&Request::of(Call::now(op), "")?)
                    .await
                    .map_err(worker_error)
            }
        }
    }

    /// Waits (at most `timeout`) until Redis has answered the operation
    /// sent by [`Seat::send`]: its reply is held (by the proxy), or waits
    /// in the task, unread. Whether it has.
    pub async fn wait_answered(&mut self, timeout: std::time::Duration) -> bool {
        match self {
            Seat::Local { in_flight, .. } => {
                let deadline = tokio::time::Instant::now() + timeout;
                loop {
                    match in_flight {
                        None => return false,
                        Some(task) if task.is_finished() => return true,
                        Some(_) if tokio::time::Instant::now() >= deadline => return false,
                        Some(_) => tokio::time::sleep(std::time::Duration::from_micros(200)).await,
                    }
                }
            }
            Seat::Worker { proxies, .. } => match proxies.first() {
                Some(proxy) => proxy.wait_held(Direction::ToClient, 1, timeout).await,
                None => false,
            },
        }
    }

    /// Reads the reply of the operation sent by [`Seat::send`].
    pub async fn deliver(&mut self, op: ClientOp) -> Result<Outcome, OpError> {
        match self {
            Seat::Local { lock, .. } if op == ClientOp::Renew => {
                Self::local(lock)?.deliver_renewal().await
            }
            Seat::Worker { worker, .. } if op == ClientOp::Renew => worker.deliver_renewal().await,
            Seat::Local {
                lock, in_flight, ..
            } => {
                let task = in_flight
                    .take()
                    .ok_or_else(|| OpError::definite("no operation in flight"))?;
                let (client, outcome) = task.await.map_err(worker_error)?;
                *lock = Some(client);
                outcome
            }
            Seat::Worker {
                worker, proxies, ..
            } => {
                if let Some(proxy) = proxies.get(op.node().map_or(0, |n| n.index())) {
                    proxy.release(Direction::ToClient);
                }
                worker.recv().await.map_err(worker_error)?.into_outcome(op)
            }
        }
    }

    /// Reads what the client's protected resource holds (see
    /// [`LabClient::inspect`]); a worker's client is not asked (`None`).
    pub async fn inspect(&mut self) -> Result<Option<crate::client::Inspection>, OpError> {
        match self {
            Seat::Local { lock, .. } => Self::local(lock)?.inspect().await,
            Seat::Worker { .. } => Ok(None),
        }
    }

    /// Stops the client (a worker is SIGSTOPped; in process, the conductor
    /// simply gives it no steps).
    pub async fn pause(&mut self) -> Result<(), OpError> {
        match self {
            Seat::Local { .. } => Ok(()),
            Seat::Worker { worker, .. } => worker.pause().await.map_err(worker_error),
        }
    }

    /// Lets the client go on (SIGCONT for a worker).
    pub async fn resume(&mut self) -> Result<(), OpError> {
        match self {
            Seat::Local { .. } => Ok(()),
            Seat::Worker { worker, .. } => worker.resume().await.map_err(worker_error),
        }
    }

    /// If the client's worker exited by itself: how. Never for a client
    /// in the lab's process, nor for one the lab crashed.
    pub async fn exit(&mut self) -> Option<Exit> {
        match self {
            Seat::Local { .. } => None,
            Seat::Worker { worker, .. } => worker.exit().await,
        }
    }

    /// Stops the client for good (SIGKILL for a worker).
    pub fn crash(&mut self) {
        match self {
            Seat::Local {
                lock, in_flight, ..
            } => {
                if let Some(task) = in_flight.take() {
                    task.abort();
                }
                *lock = None;
            }
            Seat::Worker {
                worker, crashed, ..
            } => {
                let _ = worker.kill();
                *crashed = true;
            }
        }
    }

    /// Makes sure the client's connection is up and usable: before the
    /// first step (a lazily connecting client would otherwise spend its
    /// first step — perhaps a held one — connecting), and after Redis
    /// restarted (so its next step is not spent finding out the old
    /// connection broke).
    pub async fn warm(&mut self) {
        match self {
            Seat::Local { lock, .. } => {
                if let Some(lock) = lock {
                    let _ = lock.ping().await;
                }
            }
            Seat::Worker {
                worker, crashed, ..
            } => {
                if !*crashed {
                    for _ in 0..5 {
                        if worker.ping().await.is_ok() {
                            break;
                        }
                    }
                }
            }
        }
    }

    /// Ends the seat: a worker is killed (its schedule is over; a reply the
    /// proxy still holds need not be waited for); an in-process client is
    /// dropped.
    pub async fn close(self) {
        match self {
            Seat::Local { in_flight, .. } => {
                if let Some(task) = in_flight {
                    task.abort();
                }
            }
            Seat::Worker {
                mut worker,
                crashed,
                ..
            } => {
                if !crashed {
                    let _ = worker.kill();
                }
            }
        }
    }
}
