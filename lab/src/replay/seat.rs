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
use tokio::task::JoinHandle;

use crate::proxy::{Direction, Proxy};
use crate::worker::{
    open, ClientSpec, LabAttempt, LabLock, LabRelease, LabWrite, Request, WorkerHandle, WorkerSpec,
};

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
}

/// What a seat needs to open its client.
pub struct SeatSpec<'a> {
    /// `c1`, …
    pub name: String,
    /// The lock's name: one of `locklab-impl`'s protocols, or a peer such
    /// as `rslock` (any [`LabLock`] the worker knows).
    pub lock: &'a str,
    /// The lock's Redis.
    pub lock_url: &'a str,
    /// The lock's server address (the proxy's upstream).
    pub lock_addr: std::net::SocketAddr,
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
}

type Delayed = JoinHandle<(Box<dyn LabLock>, Result<LabAttempt, String>)>;

/// One client's seat.
pub enum Seat {
    /// In the lab's process.
    Local {
        /// The client; `None` while a delayed acquire holds it, or after a
        /// crash.
        lock: Option<Box<dyn LabLock>>,
        /// A delayed acquire in flight.
        in_flight: Option<Delayed>,
    },
    /// In a worker process.
    Worker {
        /// The worker.
        worker: Box<WorkerHandle>,
        /// Its proxy to the lock's Redis.
        proxy: Proxy,
        /// Killed.
        crashed: bool,
    },
}

fn gone() -> String {
    "the client has crashed".to_owned()
}

impl Seat {
    /// Opens a client where `clients` says.
    pub async fn open(clients: &Clients, spec: SeatSpec<'_>) -> Result<Seat, String> {
        match clients {
            Clients::InProcess => {
                let lock = open(&ClientSpec {
                    protocol: spec.lock.to_owned(),
                    redis: spec.lock_url.to_owned(),
                    resource_redis: Some(spec.resource_url.to_owned()),
                    lock_key: spec.lock_key.as_str().to_owned(),
                    resource_key: spec.resource_key.as_str().to_owned(),
                    ttl: spec.ttl.as_duration(),
                    connect: *spec.connect,
                })
                .await
                .map_err(|e| e.to_string())?;
                Ok(Seat::Local {
                    lock: Some(lock),
                    in_flight: None,
                })
            }
            Clients::Workers { binary } => {
                let proxy = Proxy::start(spec.lock_addr)
                    .await
                    .map_err(|e| format!("starting a proxy: {e}"))?;
                let mut worker_spec = WorkerSpec::new(
                    spec.name,
                    spec.lock,
                    proxy.url(),
                    spec.lock_key.as_str(),
                    spec.resource_key.as_str(),
                    spec.ttl.as_duration(),
                );
                worker_spec.resource_redis = Some(spec.resource_url.to_owned());
                let worker = WorkerHandle::spawn(binary, &worker_spec)
                    .await
                    .map_err(|e| e.to_string())?;
                Ok(Seat::Worker {
                    worker: Box::new(worker),
                    proxy,
                    crashed: false,
                })
            }
        }
    }

    fn local(lock: &mut Option<Box<dyn LabLock>>) -> Result<&mut Box<dyn LabLock>, String> {
        lock.as_mut().ok_or_else(gone)
    }

    /// One acquire attempt, its reply read at once.
    pub async fn acquire(&mut self) -> Result<LabAttempt, String> {
        match self {
            Seat::Local { lock, .. } => Self::local(lock)?.try_acquire().await,
            Seat::Worker { worker, .. } => worker.try_acquire().await,
        }
    }

    /// Sends an acquire whose reply is not read until [`Seat::deliver`].
    pub async fn send_acquire(&mut self) -> Result<(), String> {
        match self {
            Seat::Local {
                lock, in_flight, ..
            } => {
                let mut client = lock.take().ok_or_else(gone)?;
                *in_flight = Some(tokio::spawn(async move {
                    let attempt = client.try_acquire().await;
                    (client, attempt)
                }));
                Ok(())
            }
            Seat::Worker { worker, proxy, .. } => {
                proxy.hold(Direction::ToClient);
                worker
                    .send(&Request::Acquire)
                    .await
                    .map_err(|e| e.to_string())
            }
        }
    }

    /// Reads the reply of the acquire sent by [`Seat::send_acquire`].
    pub async fn deliver(&mut self) -> Result<LabAttempt, String> {
        match self {
            Seat::Local {
                lock, in_flight, ..
            } => {
                let task = in_flight.take().ok_or("no acquire in flight")?;
                let (client, attempt) = task.await.map_err(|e| e.to_string())?;
                *lock = Some(client);
                attempt
            }
            Seat::Worker { worker, proxy, .. } => {
                proxy.release(Direction::ToClient);
                worker
                    .recv()
                    .await
                    .map_err(|e| e.to_string())?
                    .into_attempt()
            }
        }
    }

    /// A write to the protected resource.
    pub async fn write(&mut self, data: &str) -> Result<LabWrite, String> {
        match self {
            Seat::Local { lock, .. } => Self::local(lock)?.write(data.as_bytes()).await,
            Seat::Worker { worker, .. } => worker.write(data.as_bytes()).await,
        }
    }

    /// A release.
    pub async fn release(&mut self) -> Result<LabRelease, String> {
        match self {
            Seat::Local { lock, .. } => Self::local(lock)?.release().await,
            Seat::Worker { worker, .. } => worker.release().await,
        }
    }

    /// Stops the client (a worker is SIGSTOPped; in process, the conductor
    /// simply gives it no steps).
    pub async fn pause(&mut self) -> Result<(), String> {
        match self {
            Seat::Local { .. } => Ok(()),
            Seat::Worker { worker, .. } => worker.pause().await.map_err(|e| e.to_string()),
        }
    }

    /// Lets the client go on (SIGCONT for a worker).
    pub async fn resume(&mut self) -> Result<(), String> {
        match self {
            Seat::Local { .. } => Ok(()),
            Seat::Worker { worker, .. } => worker.resume().await.map_err(|e| e.to_string()),
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
