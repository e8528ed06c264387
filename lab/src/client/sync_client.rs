//! [`SyncClient`]: a sync protocol's worker (or producer) of
//! `locklab-impl` as a lab client — the one place where its reads, claims,
//! effects and marks become the lab's [`Outcome`]s.
//!
//! Which protocol it runs is read from the declaration's capabilities by
//! [`SyncWorker`]; the conductor drives it with the model's steps like any
//! other client.

use std::time::Duration;

use locklab_impl::sync::{Marked, Produced, SinkKey, SyncError, SyncKey, SyncWorker, Taken};
use locklab_impl::{connect, LockError, Ttl};
use locklab_model::{ClientOp, Outcome, Protocol};

use super::spec::ClientSpec;
use super::{error_line, refuse, Applied, ClientFuture, Inspection, Keys, LabClient, OpError};

/// A sync protocol's worker, or its producer.
#[derive(Debug)]
pub struct SyncClient {
    protocol: Protocol,
    worker: SyncWorker,
}

fn err(e: SyncError) -> OpError {
    OpError {
        message: error_line(&e),
        definite: e.is_definite(),
        // As for a lock: a sync worker's normal answers are never server
        // errors, so one is the server refusing.
        refused: matches!(
            e,
            SyncError::Redis(locklab_impl::LockError::Redis(_)) | SyncError::WrongType { .. }
        ),
    }
}

impl SyncClient {
    /// Opens a worker of `protocol` as `spec` says: the units pass through
    /// `spec.keys.lock`, the effects go to `spec.keys.resource` (on the
    /// resource's server), and `spec.ttl` is the marker's and claim's lease
    /// (a Stream's claim idle time).
    pub async fn open(protocol: Protocol, spec: &ClientSpec) -> Result<SyncClient, SyncError> {
        let caps = locklab_impl::sync::caps_of(protocol)?;
        let url = spec.redis.first().map(String::as_str).unwrap_or_default();
        let conn = connect(url, &spec.connect).await?;
        let sink_conn = if spec.resource_url() == url {
            conn.clone()
        } else {
            connect(spec.resource_url(), &spec.connect).await?
        };
        let ttl = Ttl::new(spec.ttl).map_err(SyncError::from)?;
        let worker = SyncWorker::open(
            caps,
            conn,
            sink_conn,
            SyncKey::new(spec.keys.lock.as_str())?,
            SinkKey::new(spec.keys.resource.as_str())?,
            ttl,
        )
        .await?;
        Ok(SyncClient { protocol, worker })
    }

    /// The worker itself, for a caller that runs its production loop
    /// ([`SyncWorker::work_once`], the bench).
    pub fn worker(&mut self) -> &mut SyncWorker {
        &mut self.worker
    }

    /// The worker, to read from ([`SyncWorker::inspect`]).
    pub fn worker_ref(&self) -> &SyncWorker {
        &self.worker
    }

    fn taken(taken: Taken, claimed: bool) -> Outcome {
        match taken {
            Taken::Unit(u) if claimed => Outcome::Claimed { unit: u.0 },
            Taken::Unit(u) => Outcome::Read { unit: u.0 },
            Taken::Empty => Outcome::Empty,
            Taken::Conflict => Outcome::Conflict,
        }
    }

    fn marked(marked: Marked) -> Outcome {
        match marked {
            Marked::Done => Outcome::Marked,
            Marked::Conflict => Outcome::Conflict,
        }
    }
}

impl From<LockError> for OpError {
    fn from(e: LockError) -> Self {
        OpError::of(&e)
    }
}

impl LabClient for SyncClient {
    fn protocol(&self) -> &str {
        self.protocol.name()
    }

    fn produce(&mut self) -> ClientFuture<'_, Outcome> {
        Box::pin(async move {
            Ok(match self.worker.produce().await.map_err(err)? {
                Produced::Written(u) => Outcome::Produced { unit: u.0 },
                Produced::Full => Outcome::Conflict,
            })
        })
    }

    fn read(&mut self) -> ClientFuture<'_, Outcome> {
        Box::pin(async move { Ok(Self::taken(self.worker.read().await.map_err(err)?, false)) })
    }

    fn claim(&mut self) -> ClientFuture<'_, Outcome> {
        Box::pin(async move { Ok(Self::taken(self.worker.claim().await.map_err(err)?, true)) })
    }

    fn process<'a>(&'a mut self, data: &'a str) -> ClientFuture<'a, Outcome> {
        Box::pin(async move {
            let applied = self.worker.process(data).await.map_err(err)?;
            Ok(Outcome::Processed {
                unit: applied.unit.0,
                applied: applied.applied,
            })
        })
    }

    fn mark(&mut self) -> ClientFuture<'_, Outcome> {
        Box::pin(async move { Ok(Self::marked(self.worker.mark().await.map_err(err)?)) })
    }

    fn ack(&mut self) -> ClientFuture<'_, Outcome> {
        Box::pin(async move { Ok(Self::marked(self.worker.ack().await.map_err(err)?)) })
    }

    fn acquire_within(&mut self, _deadline: Duration) -> ClientFuture<'_, Outcome> {
        refuse(self, ClientOp::Acquire)
    }

    fn reset<'a>(&'a mut self, keys: &'a Keys) -> ClientFuture<'a, ()> {
        Box::pin(async move {
            let key = SyncKey::new(keys.lock.as_str()).map_err(err)?;
            let sink = SinkKey::new(keys.resource.as_str()).map_err(err)?;
            self.worker.switch(key, sink).await.map_err(err)
        })
    }

    fn ping(&mut self) -> ClientFuture<'_, ()> {
        Box::pin(async move { self.worker.ping().await.map_err(err) })
    }

    fn inspect(&mut self) -> ClientFuture<'_, Option<Inspection>> {
        Box::pin(async move {
            let seen = self.worker.inspect().await.map_err(err)?;
            Ok(Some(Inspection {
                applied: seen
                    .applied
                    .into_iter()
                    .map(|e| Applied {
                        unit: e.unit.0,
                        tag: e.tag,
                    })
                    .collect(),
                waiting: seen.waiting.into_iter().map(|u| u.0).collect(),
            }))
        })
    }
}
