//! [`QuorumClient`]: `locklab-impl`'s [`Redlock`] as a lab client — the
//! one place where its rounds, grants and refusals become the lab's
//! [`Outcome`]s.
//!
//! A replay drives it a request at a time, as the model's steps do: `ask`
//! one master (its reply: granted, busy, or unreachable — a master that
//! errors or times out never aborts the attempt), then `conclude` (held, or
//! released everywhere: busy without a majority, expired without validity).
//! These go through the same [`Round`] and decision as the concurrent
//! `acquire`, which the bench and `acquire_within` use. Writes go to a
//! fenced resource with the grant's token when the protocol fences, to a
//! plain one otherwise.

use std::time::Duration;

use locklab_impl::redlock::Decision;
use locklab_impl::{
    connect, Conn, LockError, LockKey, MasterReply, Protocol, QuorumGrant, Redlock, RedlockOptions,
    Refusal, Round, Ttl, Wait,
};
use locklab_model::{Call, ClientOp, NodeId, Outcome, Reply};

use super::resource::Resource;
use super::spec::{ClientSpec, Strategy};
use super::{refuse, ClientFuture, Keys, LabClient, OpError};

/// A Redlock of `locklab-impl` with its state: the attempt in progress,
/// and the grant it believes it holds.
#[derive(Debug)]
pub struct QuorumClient {
    protocol: Protocol,
    masters: Vec<Conn>,
    resource_conn: Conn,
    ttl: Ttl,
    options: RedlockOptions,
    wait: Wait,
    lock: Redlock,
    resource: Resource,
    round: Option<Round>,
    held: Option<QuorumGrant>,
}

fn err(e: LockError) -> OpError {
    OpError::of(&e)
}

impl QuorumClient {
    /// Opens a client of `protocol` on every master of `spec` (each must
    /// answer within the connect timeout; the error names the one that did
    /// not), with the drift the spec's options give.
    pub async fn open(
        protocol: Protocol,
        spec: &ClientSpec,
        options: RedlockOptions,
    ) -> Result<QuorumClient, LockError> {
        let mut masters = Vec::with_capacity(spec.redis.len());
        for url in &spec.redis {
            masters.push(connect(url, &spec.connect).await?);
        }
        let resource_conn = match masters.first() {
            Some(first) if spec.redis.first().map(String::as_str) == Some(spec.resource_url()) => {
                first.clone()
            }
            _ => connect(spec.resource_url(), &spec.connect).await?,
        };
        let wait = match spec.strategy {
            Strategy::Wait(wait) => wait,
            Strategy::Default | Strategy::Retry(_) => Wait::Poll(options.backoff()),
        };
        let ttl = Ttl::new(spec.ttl)?;
        let (lock, resource) = Self::build(
            protocol,
            &masters,
            &resource_conn,
            &spec.keys,
            ttl,
            options,
            wait,
        )?;
        Ok(QuorumClient {
            protocol,
            masters,
            resource_conn,
            ttl,
            options,
            wait,
            lock,
            resource,
            round: None,
            held: None,
        })
    }

    fn build(
        protocol: Protocol,
        masters: &[Conn],
        resource_conn: &Conn,
        keys: &Keys,
        ttl: Ttl,
        options: RedlockOptions,
        wait: Wait,
    ) -> Result<(Redlock, Resource), LockError> {
        let lock = Redlock::new(
            protocol,
            masters.to_vec(),
            LockKey::new(keys.lock.as_str())?,
            ttl,
            options,
        )?
        .with_wait(wait)?;
        let resource = Resource::of(protocol, resource_conn, keys.resource.as_str())?;
        Ok((lock, resource))
    }

    /// The grant it believes it holds.
    pub fn held(&self) -> Option<&QuorumGrant> {
        self.held.as_ref()
    }

    fn master(&self, node: NodeId) -> Result<usize, OpError> {
        let k = node.index();
        if k < self.masters.len() {
            Ok(k)
        } else {
            Err(OpError::definite(format!(
                "no master {node}: the lock runs on {}",
                self.masters.len()
            )))
        }
    }

    /// A master's reply in the lab's words. A master that errors counts as
    /// unreachable — unless the server itself refused the command (out of
    /// memory, scripting disabled…): that is the environment, and is
    /// reported as the error it is.
    fn words(&self, reply: MasterReply) -> Result<Outcome, OpError> {
        Ok(match reply {
            MasterReply::Granted { fence } => Outcome::Granted {
                token: self.round.as_ref().map(|r| r.token().to_string()),
                fence,
                count: None,
            },
            MasterReply::Busy => Outcome::Busy,
            MasterReply::Unread => Outcome::Unreachable,
            MasterReply::Failed(e) => match &*e {
                LockError::Redis(_) => return Err(OpError::indefinite(super::error_line(&*e))),
                _ => Outcome::Unreachable,
            },
        })
    }

    async fn ask_master(&mut self, node: NodeId, lost: bool) -> Result<Outcome, OpError> {
        let k = self.master(node)?;
        if self.held.is_some() {
            return Err(OpError::definite(
                "already holds the lock: release it first",
            ));
        }
        let mut round = self.round.take().unwrap_or_else(|| self.lock.begin());
        let reply = if lost {
            self.lock.ask_unread(&mut round, k).await
        } else {
            self.lock.ask(&mut round, k).await
        };
        self.round = Some(round);
        self.words(reply)
    }

    fn concluded(&mut self, result: Result<QuorumGrant, Refusal>) -> Outcome {
        match result {
            Ok(grant) => {
                let outcome = Outcome::Granted {
                    token: grant.grant().token().map(|t| t.to_string()),
                    fence: grant.fence(),
                    count: None,
                };
                self.held = Some(grant);
                outcome
            }
            Err(refusal) => match refusal.decision {
                Decision::NoValidity { .. } => Outcome::Expired,
                _ => Outcome::Busy,
            },
        }
    }

    async fn try_conclude(&mut self) -> Result<Outcome, OpError> {
        let round = self
            .round
            .take()
            .ok_or_else(|| OpError::definite("nothing to conclude: no master was asked"))?;
        let result = self.lock.conclude(round).await;
        Ok(self.concluded(result))
    }

    async fn try_acquire(&mut self) -> Result<Outcome, OpError> {
        if self.held.is_some() {
            return Err(OpError::definite(
                "already holds the lock: release it first",
            ));
        }
        let result = self.lock.try_acquire().await;
        Ok(self.concluded(result))
    }

    async fn try_release(&mut self) -> Result<Outcome, OpError> {
        let grant = self
            .held
            .take()
            .ok_or_else(|| OpError::definite("nothing to release: no grant held"))?;
        Ok(match self.lock.release(&grant).await.map_err(err)? {
            locklab_impl::ReleaseOutcome::Released => Outcome::Released,
            _ => Outcome::NotHeld,
        })
    }
}

impl LabClient for QuorumClient {
    fn protocol(&self) -> &str {
        self.protocol.name()
    }

    fn ask(&mut self, node: NodeId) -> ClientFuture<'_, Outcome> {
        Box::pin(self.ask_master(node, false))
    }

    fn lose(&mut self, op: ClientOp) -> ClientFuture<'_, Outcome> {
        match op {
            ClientOp::Ask { node } => Box::pin(self.ask_master(node, true)),
            op => refuse(
                self,
                Call {
                    op,
                    reply: Reply::Lost,
                },
            ),
        }
    }

    fn conclude(&mut self) -> ClientFuture<'_, Outcome> {
        Box::pin(self.try_conclude())
    }

    fn acquire(&mut self) -> ClientFuture<'_, Outcome> {
        Box::pin(self.try_acquire())
    }

    fn write<'a>(&'a mut self, data: &'a str) -> ClientFuture<'a, Outcome> {
        let fence = self.held.as_ref().and_then(QuorumGrant::fence);
        Box::pin(self.resource.write(fence, data))
    }

    fn release(&mut self) -> ClientFuture<'_, Outcome> {
        Box::pin(self.try_release())
    }

    fn acquire_within(&mut self, deadline: Duration) -> ClientFuture<'_, Outcome> {
        Box::pin(async move {
            match self.lock.acquire(deadline).await {
                Ok(grant) => Ok(self.concluded(Ok(grant))),
                Err(LockError::NoQuorum { .. }) => Ok(Outcome::Busy),
                Err(e) => Err(err(e)),
            }
        })
    }

    fn reset<'a>(&'a mut self, keys: &'a Keys) -> ClientFuture<'a, ()> {
        Box::pin(async move {
            let (lock, resource) = Self::build(
                self.protocol,
                &self.masters,
                &self.resource_conn,
                keys,
                self.ttl,
                self.options,
                self.wait,
            )
            .map_err(err)?;
            self.lock = lock;
            self.resource = resource;
            self.round = None;
            self.held = None;
            Ok(())
        })
    }

    /// Every master's connection made usable (the first ping on a broken
    /// one fails and replaces it). A master that is down stays so: that is
    /// the model's business, not an error here.
    fn ping(&mut self) -> ClientFuture<'_, ()> {
        Box::pin(async move {
            for conn in &self.masters {
                if conn.ping().await.is_err() {
                    let _ = conn.ping().await;
                }
            }
            Ok(())
        })
    }
}
