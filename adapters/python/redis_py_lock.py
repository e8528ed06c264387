"""redis-py's `redis.lock.Lock` as a locklab worker (docs/worker-protocol.md).

One attempt per `acquire` (blocking=False): `SET key token NX PX lease`;
`acquire-within` is the library's own blocking acquire (it sleeps 0.1 s
between attempts). `release` runs the library's compare-and-delete script;
when the lock is no longer ours it raises LockNotOwnedError, which is what
the library tells its caller when it lost the lock, and is passed on as
`said`. No fencing token.

The retry fault is what redis-py's own connection retry does (a `Retry`
with `retry_on_timeout`): a `SET NX` whose reply timed out is sent again,
the same command with the same token. The lost request is `do_acquire`
with a token of its own; the resend is `acquire(token=...)` with it.
"""

import uuid
from importlib.metadata import version

from redis.exceptions import LockNotOwnedError

import locklab_worker as worker


class RedisPyLock(worker.Adapter):
    name = f"redis-py Lock {version('redis')}"

    def __init__(self, start):
        super().__init__()
        self.client = worker.redis_client(start)
        self.lease = start["lease_ms"] / 1000
        self.reset(start["lock_key"])

    def reset(self, lock_key):
        self.key = lock_key
        self.lock = None
        self.lost = None

    def new_lock(self):
        return self.client.lock(self.key, timeout=self.lease, thread_local=False)

    def took(self, lock, acquired):
        if not acquired:
            return {"ok": "busy"}
        self.lock = lock
        return {"ok": "granted", "token": lock.local.token.decode()}

    def acquire(self):
        lock = self.new_lock()
        return self.took(lock, lock.acquire(blocking=False))

    def acquire_within(self, deadline):
        lock = self.new_lock()
        return self.took(lock, lock.acquire(blocking=True, blocking_timeout=deadline))

    def acquire_lost(self):
        lock, token = self.new_lock(), uuid.uuid1().hex.encode()
        self.lost = (lock, token)
        return {"ok": "granted", "token": token.decode()} if lock.do_acquire(token) else {"ok": "busy"}

    def acquire_resent(self):
        if self.lost is None:
            raise worker.Definite("nothing to send again: no acquire reply was lost")
        (lock, token), self.lost = self.lost, None
        return self.took(lock, lock.acquire(blocking=False, token=token))

    def release(self):
        lock, self.lock = self.lock, None
        if lock is None:
            raise worker.Definite("nothing to release: no grant held")
        try:
            lock.release()
        except LockNotOwnedError as error:
            self.note(worker.describe(error))
            return {"ok": "not-held"}
        return {"ok": "released"}

    def ping(self):
        self.client.ping()


if __name__ == "__main__":
    worker.serve(RedisPyLock)
