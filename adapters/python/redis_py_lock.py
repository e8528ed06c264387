"""redis-py's `redis.lock.Lock` as a locklab worker (docs/worker-protocol.md).

One attempt per `acquire` (blocking=False): `SET key token NX PX lease`.
`release` runs the library's compare-and-delete script; when the lock is no
longer ours it raises LockNotOwnedError, which is what the library tells its
caller when it lost the lock, and is passed on as `said`. No fencing token.
"""

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

    def acquire(self):
        lock = self.client.lock(self.key, timeout=self.lease, thread_local=False)
        if not lock.acquire(blocking=False):
            return {"ok": "busy"}
        self.lock = lock
        return {"ok": "granted", "token": lock.local.token.decode()}

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
