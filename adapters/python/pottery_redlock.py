"""pottery's `Redlock` on one master as a locklab worker
(docs/worker-protocol.md).

`acquire(blocking=False)` sends `SET key uuid NX PX lease` to every master
(here one), counts a quorum and grants only while the validity time (lease −
elapsed − drift) is positive. With its default `raise_on_redis_errors=False`
a master it cannot reach counts as "not acquired", so a broken connection
looks like a busy lock to the caller. `release` raises ReleaseUnlockedLock
when the lock is no longer ours. `acquire-within` is the library's own
retry loop (random sleeps between attempts). No fencing token.

pottery prefixes its keys with `redlock:`; the lab observes the key it gave,
so the lock is pointed at that one.
"""

from importlib.metadata import version

from pottery import Redlock, ReleaseUnlockedLock

import locklab_worker as worker


class PotteryRedlock(worker.Adapter):
    name = f"pottery Redlock {version('pottery')} (1 master)"

    def __init__(self, start):
        super().__init__()
        self.client = worker.redis_client(start)
        self.lease = start["lease_ms"] / 1000
        self.reset(start["lock_key"])

    def reset(self, lock_key):
        self.key = lock_key
        self.lock = None

    def new_lock(self):
        lock = Redlock(key="-", masters={self.client}, auto_release_time=self.lease)
        object.__setattr__(lock, "_Primitive__key", self.key)
        return lock

    def took(self, lock, acquired):
        if not acquired:
            return {"ok": "busy"}
        self.lock = lock
        return {"ok": "granted", "token": lock._uuid}

    def acquire(self):
        lock = self.new_lock()
        return self.took(lock, lock.acquire(blocking=False))

    def acquire_within(self, deadline):
        lock = self.new_lock()
        return self.took(lock, lock.acquire(blocking=True, timeout=deadline))

    def release(self):
        lock, self.lock = self.lock, None
        if lock is None:
            raise worker.Definite("nothing to release: no grant held")
        try:
            lock.release()
        except ReleaseUnlockedLock as error:
            self.note(worker.describe(error))
            return {"ok": "not-held"}
        return {"ok": "released"}

    def ping(self):
        self.client.ping()


if __name__ == "__main__":
    worker.serve(PotteryRedlock)
