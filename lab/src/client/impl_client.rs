//! [`ImplClient`]: the locks of `locklab-impl` as lab clients — the one
//! place where their attempts, grants and release outcomes become the lab's
//! [`Outcome`]s.
//!
//! Which lock and which resource a client gets is read from the protocol's
//! declaration: a lock that fences writes to a [`FencedResource`] with its
//! grant's fencing token, the others to a [`PlainResource`] that accepts
//! everything (so the history shows what fencing would have refused).
//!
//! A lock that renews its lease ([`Capabilities::renews`]) gets its
//! watchdog's store, renewing as the protocol declares; the lab times the
//! renewals (each `renew` step is one, as the model's script says), and
//! the client keeps the holder's local lease deadline, checked before each
//! write as the watchdog's holder does.
//!
//! [`Capabilities::renews`]: locklab_model::declaration::Capabilities::renews

use std::time::{Duration, Instant};

use locklab_impl::watchdog::{RedisLeaseStore, Renewal, Traced};
use locklab_impl::{
    AcquireRequest, Attempt, Conn, Grant, LockError, LockKey, PendingGrant, Protocol,
    ReleaseOutcome, Ttl, Wait, WaitingLock,
};
use locklab_model::{Call, ClientOp, Outcome, Reply};

use super::follow::connect_any;
use super::resource::Resource;
use super::spec::{ClientSpec, Strategy};
use super::{refuse, ClientFuture, Keys, LabClient, OpError};

/// A lock of `locklab-impl` with its state: the grants it believes it
/// holds, innermost last.
#[derive(Debug)]
pub struct ImplClient {
    protocol: Protocol,
    conn: Conn,
    resource_conn: Conn,
    ttl: Ttl,
    wait: Wait,
    lock: WaitingLock,
    resource: Resource,
    grants: Vec<Grant>,
    /// The request whose reply was lost, for the retry that sends it again.
    lost: Option<AcquireRequest>,
    /// A grant the primary made that awaits its confirmation (a lock that
    /// confirms its grants: its acquire is two operations).
    pending: Option<PendingGrant>,
    /// A lock that renews: its watchdog's store.
    store: Option<RedisLeaseStore>,
    /// While it holds a lock that renews: when its lease ends by its local
    /// clock (a whole lease from the send of its grant or last renewal).
    deadline: Option<Instant>,
    /// The token of the key the last renewal extended, or tried to.
    extended: Option<String>,
    /// A renewal Redis ran whose reply the watchdog has not read (the
    /// `delay` fault): when it was sent, and what it did.
    held: Option<(Instant, Traced)>,
}

fn err(e: LockError) -> OpError {
    OpError::of(&e)
}

impl ImplClient {
    /// Opens a client of `protocol` as `spec` says.
    pub async fn open(protocol: Protocol, spec: &ClientSpec) -> Result<ImplClient, LockError> {
        let url = spec.redis.first().map(String::as_str).unwrap_or_default();
        let conn = connect_any(url, &spec.connect).await?;
        let resource_conn = if spec.resource_url() == url {
            conn.clone()
        } else {
            connect_any(spec.resource_url(), &spec.connect).await?
        };
        let wait = match spec.strategy {
            Strategy::Wait(wait) => wait,
            Strategy::Default | Strategy::Retry(_) => Wait::Poll(Default::default()),
        };
        let ttl = Ttl::new(spec.ttl)?;
        let (lock, resource) = Self::build(protocol, &conn, &resource_conn, &spec.keys, ttl, wait)?;
        let store = Self::store(protocol, &lock)?;
        Ok(ImplClient {
            protocol,
            conn,
            resource_conn,
            ttl,
            wait,
            lock,
            resource,
            grants: Vec::new(),
            lost: None,
            pending: None,
            store,
            deadline: None,
            extended: None,
            held: None,
        })
    }

    fn store(protocol: Protocol, lock: &WaitingLock) -> Result<Option<RedisLeaseStore>, LockError> {
        if !protocol.caps().renews() {
            return Ok(None);
        }
        lock.plain().lease_store().map(Some)
    }

    fn build(
        protocol: Protocol,
        conn: &Conn,
        resource_conn: &Conn,
        keys: &Keys,
        ttl: Ttl,
        wait: Wait,
    ) -> Result<(WaitingLock, Resource), LockError> {
        let lock = WaitingLock::new(
            protocol,
            conn.clone(),
            LockKey::new(keys.lock.as_str())?,
            ttl,
            wait,
        )?;
        let resource = Resource::of(protocol, resource_conn, keys.resource.as_str())?;
        Ok((lock, resource))
    }

    /// The grants it believes it holds, innermost last.
    pub fn grants(&self) -> &[Grant] {
        &self.grants
    }

    /// What an attempt says, in the lab's words.
    fn words(&self, attempt: &Attempt) -> Outcome {
        match attempt {
            Attempt::Busy => Outcome::Busy,
            Attempt::Lost => Outcome::Lost,
            Attempt::Granted(grant) if grant.server_granted() => Outcome::Granted {
                token: grant
                    .token()
                    .map(|t| t.to_string())
                    .or_else(|| self.lock.plain().owner().map(|o| o.as_str().to_owned())),
                fence: grant.fence(),
                count: grant.count(),
            },
            Attempt::Granted(_) => Outcome::Believed,
            Attempt::Unacknowledged(_) => Outcome::Unacknowledged,
        }
    }

    /// What an attempt says, in the lab's words; a grant is remembered.
    fn took(&mut self, attempt: Attempt) -> Outcome {
        let outcome = self.words(&attempt);
        match attempt {
            Attempt::Granted(grant) => {
                if self.store.is_some() {
                    self.deadline = Some(grant.granted_at() + self.ttl.as_duration());
                }
                self.grants.push(grant)
            }
            Attempt::Lost => self.grants.clear(),
            Attempt::Busy | Attempt::Unacknowledged(_) => {}
        }
        outcome
    }

    async fn try_acquire(&mut self) -> Result<Outcome, OpError> {
        if let Some(lock) = self.lock.plain().token_wait() {
            // The grant alone; `confirm` asks the replicas.
            return Ok(
                match lock
                    .try_grant(&AcquireRequest::fresh())
                    .await
                    .map_err(err)?
                {
                    Some(pending) => {
                        self.pending = Some(pending);
                        Outcome::Pending
                    }
                    None => Outcome::Busy,
                },
            );
        }
        let attempt = self.lock.plain().try_acquire().await.map_err(err)?;
        Ok(self.took(attempt))
    }

    /// `WAIT` for the pending grant: held, or released as unacknowledged.
    async fn try_confirm(&mut self) -> Result<Outcome, OpError> {
        let (Some(lock), Some(pending)) = (self.lock.plain().token_wait(), self.pending.take())
        else {
            return Err(OpError::definite(
                "nothing to confirm: no grant awaits its WAIT",
            ));
        };
        let attempt = lock.confirm(pending).await.map_err(err)?;
        Ok(self.took(attempt))
    }

    /// A request whose reply is lost: the lab learns what Redis said, the
    /// client's state nothing.
    async fn acquire_lost(&mut self) -> Result<Outcome, OpError> {
        let request = AcquireRequest::fresh();
        self.lost = Some(request);
        let attempt = self.lock.plain().run_unread(&request).await.map_err(err)?;
        Ok(self.words(&attempt))
    }

    /// The lost request, sent again; this reply is read.
    async fn acquire_resent(&mut self) -> Result<Outcome, OpError> {
        let request = self
            .lost
            .take()
            .ok_or_else(|| OpError::definite("nothing to send again: no acquire reply was lost"))?;
        let attempt = self
            .lock
            .plain()
            .try_acquire_as(&request)
            .await
            .map_err(err)?;
        Ok(self.took(attempt))
    }

    /// One renewal by the watchdog, run on Redis: when it was sent, and
    /// what it did.
    async fn run_renewal(&mut self) -> Result<(Instant, Traced), OpError> {
        let Some(store) = &self.store else {
            return Err(OpError::definite(format!(
                "{} does not renew its lease",
                self.protocol
            )));
        };
        let token = self
            .grants
            .last()
            .and_then(Grant::token)
            .ok_or_else(|| OpError::definite("nothing to renew: no grant held"))?;
        let sent = Instant::now();
        let traced = store.renew_traced(token).await.map_err(err)?;
        self.extended = Some(
            traced
                .key_token
                .clone()
                .unwrap_or_else(|| token.to_string()),
        );
        Ok((sent, traced))
    }

    /// The watchdog reads what its renewal sent at `sent` did: extended
    /// (or, for a lock that re-creates a missing key, created again), or
    /// nothing of its own there — then the watchdog stops and the holder is
    /// told.
    fn read_renewal(&mut self, sent: Instant, traced: &Traced) -> Outcome {
        match traced.renewal {
            Renewal::Extended => {
                self.deadline = Some(sent + self.ttl.as_duration());
                if traced.recreated {
                    Outcome::Reacquired
                } else {
                    Outcome::Renewed
                }
            }
            Renewal::Gone | Renewal::Taken => {
                self.told_lost();
                Outcome::NotHeld
            }
        }
    }

    async fn try_renew(&mut self) -> Result<Outcome, OpError> {
        let (sent, traced) = self.run_renewal().await?;
        Ok(self.read_renewal(sent, &traced))
    }

    /// The holder learns its lock is lost: it gives up its grant.
    fn told_lost(&mut self) {
        self.grants.clear();
        self.deadline = None;
    }

    /// Before a write, a holder of a lock that renews checks its local
    /// lease deadline: passed, it learns it lost the lock and does not
    /// write.
    fn deadline_passed(&mut self) -> bool {
        let passed = self.deadline.is_some_and(|d| Instant::now() >= d);
        if passed {
            self.told_lost();
        }
        passed
    }

    async fn try_release(&mut self) -> Result<Outcome, OpError> {
        let grant = self
            .grants
            .pop()
            .ok_or_else(|| OpError::definite("nothing to release: no grant held"))?;
        let released = self.lock.release(&grant).await.map_err(err)?;
        Ok(match released {
            ReleaseOutcome::Released => Outcome::Released,
            ReleaseOutcome::NotHeld => Outcome::NotHeld,
            ReleaseOutcome::Deleted => Outcome::Deleted,
            ReleaseOutcome::NothingToDelete => Outcome::NothingToDelete,
            ReleaseOutcome::StillHeld { count } => Outcome::StillHeld { count },
        })
    }
}

impl LabClient for ImplClient {
    fn protocol(&self) -> &str {
        self.protocol.name()
    }

    fn acquire(&mut self) -> ClientFuture<'_, Outcome> {
        Box::pin(self.try_acquire())
    }

    fn confirm(&mut self) -> ClientFuture<'_, Outcome> {
        Box::pin(self.try_confirm())
    }

    fn write<'a>(&'a mut self, data: &'a str) -> ClientFuture<'a, Outcome> {
        if self.deadline_passed() {
            return Box::pin(std::future::ready(Ok(Outcome::Lost)));
        }
        let fence = self.grants.last().and_then(Grant::fence);
        Box::pin(self.resource.write(fence, data))
    }

    fn release(&mut self) -> ClientFuture<'_, Outcome> {
        Box::pin(self.try_release())
    }

    fn renew(&mut self) -> ClientFuture<'_, Outcome> {
        Box::pin(self.try_renew())
    }

    fn extended(&self) -> Option<String> {
        self.extended.clone()
    }

    fn knows_lost(&mut self) -> bool {
        self.deadline_passed()
    }

    fn renews(&self) -> bool {
        self.store.is_some()
    }

    fn has_lease_to_renew(&self) -> bool {
        self.store.is_some() && self.grants.last().and_then(Grant::token).is_some()
    }

    fn send_renewal(&mut self) -> ClientFuture<'_, ()> {
        Box::pin(async move {
            let ran = self.run_renewal().await?;
            self.held = Some(ran);
            Ok(())
        })
    }

    fn deliver_renewal(&mut self) -> ClientFuture<'_, Outcome> {
        Box::pin(async move {
            let (sent, traced) = self
                .held
                .take()
                .ok_or_else(|| OpError::definite("no renewal reply held"))?;
            Ok(self.read_renewal(sent, &traced))
        })
    }

    fn lose(&mut self, op: ClientOp) -> ClientFuture<'_, Outcome> {
        match op {
            ClientOp::Acquire => Box::pin(self.acquire_lost()),
            op => refuse(
                self,
                Call {
                    op,
                    reply: Reply::Lost,
                },
            ),
        }
    }

    fn resend(&mut self, op: ClientOp) -> ClientFuture<'_, Outcome> {
        match op {
            ClientOp::Acquire => Box::pin(self.acquire_resent()),
            op => refuse(
                self,
                Call {
                    op,
                    reply: Reply::Resent,
                },
            ),
        }
    }

    fn acquire_within(&mut self, deadline: Duration) -> ClientFuture<'_, Outcome> {
        Box::pin(async move {
            match self.lock.acquire(deadline).await {
                Ok(grant) => Ok(self.took(Attempt::Granted(grant))),
                Err(LockError::NotAcquired { .. }) => Ok(Outcome::Busy),
                Err(e) => Err(err(e)),
            }
        })
    }

    fn reset<'a>(&'a mut self, keys: &'a Keys) -> ClientFuture<'a, ()> {
        Box::pin(async move {
            let (lock, resource) = Self::build(
                self.protocol,
                &self.conn,
                &self.resource_conn,
                keys,
                self.ttl,
                self.wait,
            )
            .map_err(err)?;
            self.store = Self::store(self.protocol, &lock).map_err(err)?;
            self.lock = lock;
            self.resource = resource;
            self.grants.clear();
            self.lost = None;
            self.pending = None;
            self.deadline = None;
            self.extended = None;
            self.held = None;
            Ok(())
        })
    }

    fn write_fence(&self) -> Option<u64> {
        self.resource
            .token(self.grants.last().and_then(Grant::fence))
    }

    fn ping(&mut self) -> ClientFuture<'_, ()> {
        Box::pin(async move {
            // On a Sentinel service: go where the primary is now.
            for conn in [&self.conn, &self.resource_conn] {
                conn.follow().await.map_err(err)?;
            }
            // The first ping on a broken connection fails and replaces it.
            if self.conn.ping().await.is_ok() {
                return Ok(());
            }
            self.conn.ping().await.map_err(err)
        })
    }
}
