"""python-redis-lock's `redis_lock.Lock`, with its auto-renewal thread, as a
locklab worker (docs/worker-protocol.md).

`acquire(blocking=False)` is `SET key id NX EX expire` and starts a thread
that extends the lease every 2/3 of it for as long as the lock is held — so
the lease of a live holder never runs out, and that thread is part of what
is judged: a SIGSTOP stops it too. When it finds the lock gone (or Redis
unreachable) its `extend` raises in the thread and the thread dies; the
library tells its caller nothing then. This adapter reports the thread's
death as `said`, and `release` raises NotAcquired when the lock is no longer
ours. `acquire-within` is the library's own waiting (BLPOP on a signal list
that a release pushes to). No fencing token.

Given a renewal period (worker protocol version 2, `renew_every_ms`), the
thread renews at that period instead of every 2/3 of the lease, and every
renewal it makes is reported as an event line: `renewed`, `not-held`
(NotAcquired: the key is not ours; the thread dies, and the library tells
its caller nothing — no `lost` line is sent), or `err`.

The library prefixes its keys with `lock:`; the lab observes the key it gave,
so the lock is pointed at that one. Its expire is whole seconds: a lease
under 1 s is refused at start (give `--tick-ms 334` or more).
"""

import threading
from importlib.metadata import version

import redis_lock

import locklab_worker as worker


class ReportingLock(redis_lock.Lock):
    """The library's lock, its renewals reported to the lab as they end."""

    adapter = None

    def extend(self, expire=None):
        try:
            super().extend(expire)
        except redis_lock.NotAcquired:
            self.adapter.event({"event": "renewal", "ok": "not-held", "token": self.id})
            raise
        except Exception as error:  # noqa: BLE001 - reported, then as the library would
            self.adapter.event({"event": "renewal", "err": worker.describe(error)})
            raise
        self.adapter.event({"event": "renewal", "ok": "renewed", "token": self.id})


class PythonRedisLock(worker.Adapter):
    name = f"python-redis-lock {version('python-redis-lock')}"

    def __init__(self, start):
        super().__init__()
        if start["lease_ms"] < 1000:
            raise worker.Definite(
                f"python-redis-lock's expire is whole seconds; the lab's lease is "
                f"{start['lease_ms']} ms: give --tick-ms 334 or more"
            )
        self.expire = start["lease_ms"] // 1000
        self.renew_every = worker.renew_every(start)
        self.renews = self.renew_every is not None
        self.client = worker.redis_client(start)
        threading.excepthook = self.thread_died
        self.reset(start["lock_key"])

    def thread_died(self, args):
        self.note(f"the renewal thread died: {worker.describe(args.exc_value)}")

    def reset(self, lock_key):
        self.key = lock_key
        self.lock = None

    def new_lock(self):
        lock = ReportingLock(self.client, "-", expire=self.expire, auto_renewal=True)
        lock._name, lock._signal = self.key, f"{self.key}:signal"
        lock.adapter = self
        if self.renew_every is not None:
            lock._lock_renewal_interval = self.renew_every
        return lock

    def took(self, lock, acquired):
        if not acquired:
            return {"ok": "busy"}
        self.lock = lock
        return {"ok": "granted", "token": lock.id}

    def acquire(self):
        lock = self.new_lock()
        return self.took(lock, lock.acquire(blocking=False))

    def acquire_within(self, deadline):
        # Its own waiting: BLPOP on the signal list a release pushes to; the
        # timeout is whole seconds, so at least one.
        lock = self.new_lock()
        return self.took(lock, lock.acquire(blocking=True, timeout=max(1, int(deadline))))

    def release(self):
        lock, self.lock = self.lock, None
        if lock is None:
            raise worker.Definite("nothing to release: no grant held")
        try:
            lock.release()
        except redis_lock.NotAcquired as error:
            self.note(worker.describe(error))
            return {"ok": "not-held"}
        return {"ok": "released"}

    def ping(self):
        self.client.ping()


if __name__ == "__main__":
    worker.serve(PythonRedisLock)
