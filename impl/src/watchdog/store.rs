//! Where a kept lease lives: the two operations the watchdog needs from it.
//!
//! The watchdog's logic (when to renew, when the lease counts as lost, how
//! release and renewal exclude each other) does not depend on Redis, only
//! on these two compare-then-act operations. Keeping them behind a small
//! trait lets the same logic run against Redis ([`RedisLeaseStore`]), an
//! in-memory store in the crate's tokio tests, and a stand-in under loom.
//!
//! Both operations must compare the token and act in one atomic step, and
//! `renew` must never create a key: the safety of the watchdog against a
//! late renewal rests on that (see the [watchdog docs](super)).
//!
//! [`RedisLeaseStore`] renews as its lock's protocol declares
//! ([`Capabilities::renewal`](locklab_spec::declaration::Capabilities)): by
//! token (`renew`), or — the two mistakes the lab keeps to show them on
//! real Redis — with a bare `PEXPIRE` (`renew-unchecked`) or re-creating a
//! missing key (`renew-reacquire`). Those two break this contract on
//! purpose, and read as [`Renewal::Extended`] to the watchdog, as they do
//! in the libraries that make them; [`RedisLeaseStore::renew_traced`] says
//! what really happened.

use std::future::Future;

use locklab_spec::declaration::Renewal as Renews;

use crate::base::LockBase;
use crate::error::LockError;
use crate::grant::ReleaseOutcome;
use crate::scripts;
use crate::token::Token;
use crate::token_lock::compare_and_delete;

/// What one renewal found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Renewal {
    /// The key held our token; its TTL is a full lease again.
    Extended,
    /// The key is gone; nothing was changed (in particular, nothing was
    /// created).
    Gone,
    /// The key holds another token; nothing was changed.
    Taken,
}

/// One renewal as Redis ran it: what the watchdog reads, and what the lab
/// records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Traced {
    /// What the watchdog reads.
    pub renewal: Renewal,
    /// The token of the key the renewal extended, or found (`None`: no
    /// key).
    pub key_token: Option<String>,
    /// The key was gone and the renewal created it again.
    pub recreated: bool,
}

/// The lease's key on some store: compare-and-extend, compare-and-delete.
///
/// Implemented by [`RedisLeaseStore`]; implement it to keep a lease on
/// something else (or a fake, in tests). Contract:
///
/// - `renew(token)` extends the key's lease only if the key holds `token`,
///   atomically, and never creates or re-creates the key.
/// - `release(token)` deletes the key only if it holds `token`, atomically.
pub trait LeaseStore: Send + Sync + 'static {
    /// Extends the lease if the key still holds `token`.
    fn renew(&self, token: Token) -> impl Future<Output = Result<Renewal, LockError>> + Send;

    /// Deletes the key if it still holds `token`:
    /// [`ReleaseOutcome::Released`] or [`ReleaseOutcome::NotHeld`].
    fn release(
        &self,
        token: Token,
    ) -> impl Future<Output = Result<ReleaseOutcome, LockError>> + Send;
}

/// A token or fenced lock's key on Redis: renewal by the `renew.lua` script
/// (compare-and-`PEXPIRE` to the lock's TTL), release by compare-and-delete.
///
/// Made by [`TokenLock::keep`](crate::TokenLock::keep) and
/// [`FencedLock::keep`](crate::FencedLock::keep). The fence counter is
/// never touched: a kept fenced grant keeps its fencing token.
#[derive(Debug, Clone)]
pub struct RedisLeaseStore {
    base: LockBase,
    renews: Renews,
}

/// How a lock that declares no renewal is kept: by token.
const BY_TOKEN: Renews = Renews {
    checked: true,
    reacquire: false,
};

fn unexpected(script: &str, reply: impl std::fmt::Debug) -> LockError {
    LockError::Redis(redis::RedisError::from((
        redis::ErrorKind::UnexpectedReturnType,
        "a renewal script answered outside its replies",
        format!("{script}: {reply:?}"),
    )))
}

impl RedisLeaseStore {
    /// The store of `base`'s key, renewing as its protocol declares (by
    /// token, for a lock that declares no renewal of its own).
    pub(crate) fn new(base: LockBase) -> Self {
        let renews = base.protocol.caps().renewal.unwrap_or(BY_TOKEN);
        Self { base, renews }
    }

    /// One renewal, and what it really did.
    pub async fn renew_traced(&self, token: Token) -> Result<Traced, LockError> {
        let key = self.base.key.as_str();
        let ms = self.base.ttl.as_millis();
        let mine = Some(token.to_string());
        let traced = |renewal, key_token, recreated| Traced {
            renewal,
            key_token,
            recreated,
        };
        let conn = &self.base.conn;
        let traced = if !self.renews.checked {
            let reply: Vec<redis::Value> = conn
                .invoke(scripts::RENEW_UNCHECKED.key(key).arg(ms))
                .await?;
            match reply.as_slice() {
                [redis::Value::Int(1), redis::Value::BulkString(value)] => traced(
                    Renewal::Extended,
                    Some(String::from_utf8_lossy(value).into_owned()),
                    false,
                ),
                [redis::Value::Int(0)] => traced(Renewal::Gone, None, false),
                other => return Err(unexpected("renew_unchecked.lua", other)),
            }
        } else if self.renews.reacquire {
            let reply: i64 = conn
                .invoke(scripts::RENEW_REACQUIRE.key(key).arg(token).arg(ms))
                .await?;
            match reply {
                1 => traced(Renewal::Extended, mine, false),
                2 => traced(Renewal::Extended, mine, true),
                -1 => traced(Renewal::Taken, None, false),
                other => return Err(unexpected("renew_reacquire.lua", other)),
            }
        } else {
            let reply: i64 = conn
                .invoke(scripts::RENEW.key(key).arg(token).arg(ms))
                .await?;
            match reply {
                1 => traced(Renewal::Extended, mine, false),
                0 => traced(Renewal::Gone, None, false),
                -1 => traced(Renewal::Taken, None, false),
                other => return Err(unexpected("renew.lua", other)),
            }
        };
        tracing::debug!(key = %self.base.key, %token, ?traced, "renew");
        Ok(traced)
    }
}

impl LeaseStore for RedisLeaseStore {
    async fn renew(&self, token: Token) -> Result<Renewal, LockError> {
        Ok(self.renew_traced(token).await?.renewal)
    }

    async fn release(&self, token: Token) -> Result<ReleaseOutcome, LockError> {
        compare_and_delete(&self.base, token).await
    }
}
