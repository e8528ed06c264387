"""pottery's `Redlock` as a locklab worker (docs/worker-protocol.md), on
every master the start-up message gives: one (judged as `token`), or three
— the Redlock it is (judged as `redlock`), driven a master at a time
through gates.

`acquire(blocking=False)` sends `SET key uuid NX PX lease` to every master
(one thread each), and as the replies come in grants as soon as a majority
granted and the validity time (lease − drift − elapsed, on a monotonic
timer) is positive; otherwise, once every master answered, it releases
everywhere. With its default `raise_on_redis_errors=False` a master it
cannot reach counts as "not acquired", so a broken connection looks like a
busy lock to the caller. `release` raises ReleaseUnlockedLock when the lock
is no longer ours on a majority. `acquire-within` is the library's own retry
loop (random sleeps between attempts). No fencing token.

The gates (three masters): the quorum model's steps ask one master at a
time (`ask n`), then `conclude`. A gate on each master's client holds the
acquire's `SET NX` until the lab asks that master, and hands its reply to
pottery when the lab concludes (replies slow on their way back, as the
lab's proxy may make them): pottery then decides where the model's client
does, having heard from every master, its timer started at the round's
first request — while pottery itself counts the grants, measures the
validity and releases what it does not keep. Outside a round the lab
drives with `ask`, nothing waits.

pottery prefixes its keys with `redlock:`; the lab observes the key it gave,
so the lock is pointed at that one.
"""

import threading
from importlib.metadata import version

import redis
from pottery import Redlock, ReleaseUnlockedLock

import locklab_worker as worker

# What opens the gates of a round that ends before every master was asked
# (a reset): their requests are not sent.
ABANDONED = "abandoned"


class Gate:
    """One master's `SET NX` of a round: sent when the lab asks that master,
    its reply delivered to pottery when the lab concludes."""

    def __init__(self, delivered, timeout):
        self.opened = threading.Event()
        self.lost = False
        self.said = threading.Event()
        self.reply = None  # ("result", value) or ("error", exception)
        self.delivered = delivered
        self.timeout = timeout

    def open(self, lost):
        self.lost = lost
        self.opened.set()


class GatedRedis(redis.Redis):
    """A master whose acquire (`SET NX`, pottery's only `set`) waits at the
    round's gate."""

    gate = None

    def set(self, *args, **kwargs):
        gate = self.gate
        if gate is None or not kwargs.get("nx"):
            return super().set(*args, **kwargs)
        if not gate.opened.wait(gate.timeout):
            raise redis.exceptions.TimeoutError("the lab never asked this master")
        if gate.lost == ABANDONED:
            raise redis.exceptions.ConnectionError("the round was abandoned before this master was asked")
        try:
            gate.reply = ("result", super().set(*args, **kwargs))
        except redis.exceptions.RedisError as error:
            gate.reply = ("error", error)
        gate.said.set()
        gate.delivered.wait(gate.timeout)
        kind, value = gate.reply
        if kind == "error":
            raise value
        if gate.lost:
            raise redis.exceptions.TimeoutError("the reply was lost (ask-lost)")
        return value


class Round:
    """An acquire the lab drives a master at a time."""

    def __init__(self, masters, timeout):
        self.delivered = threading.Event()
        self.gates = [Gate(self.delivered, timeout) for _ in masters]
        self.granted = 0
        self.acquired = None
        self.error = None
        self.thread = None


class PotteryRedlock(worker.Adapter):
    def __init__(self, start):
        super().__init__()
        urls = [start["redis"], *start.get("masters", [])]
        self.masters = [worker.redis_client(start, url, GatedRedis) for url in urls]
        self.name = f"pottery Redlock {version('pottery')} on redis-py {version('redis')}"
        if len(self.masters) > 1:
            self.name += f", {len(self.masters)} masters"
        self.lease = start["lease_ms"] / 1000
        self.timeout = (start["response_timeout_ms"] + start["connect_timeout_ms"]) / 1000
        self.redlock = Redlock
        quorum = start.get("quorum")
        if quorum:
            # The lab's drift allowance (a share of the lease and a floor)
            # as pottery's one factor (it adds 2 ms of its own).
            factor = quorum["drift_ppm"] / 1e6 + max(0.0, quorum["drift_floor_us"] / 1e6 - 0.002) / self.lease
            self.redlock = type("LabRedlock", (Redlock,), {"__slots__": (), "_CLOCK_DRIFT_FACTOR": factor})
        self.round = None
        self.reset(start["lock_key"])

    def reset(self, lock_key):
        self.end_round()
        self.key = lock_key
        self.lock = None

    def end_round(self):
        r, self.round = self.round, None
        if r is None:
            return
        for gate in r.gates:
            if not gate.opened.is_set():
                gate.open(ABANDONED)
        r.delivered.set()
        for m in self.masters:
            m.gate = None

    def quorum(self):
        return len(self.masters) // 2 + 1

    def new_lock(self):
        lock = self.redlock(key="-", masters=self.masters, auto_release_time=self.lease)
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

    def ask(self, node, lost):
        if not isinstance(node, int) or not 0 <= node < len(self.masters):
            raise worker.Definite(f"no master {node + 1}: this lock has {len(self.masters)}")
        if self.round is None:
            r = Round(self.masters, self.timeout)
            for m, gate in zip(self.masters, r.gates):
                m.gate = gate
            lock = self.new_lock()

            def attempt():
                try:
                    r.acquired = lock.acquire(blocking=False)
                except Exception as error:  # noqa: BLE001 - told to the lab at conclude
                    r.error = error

            r.lock = lock
            r.thread = threading.Thread(target=attempt, daemon=True)
            r.thread.start()
            self.round = r
        r = self.round
        gate = r.gates[node]
        gate.open(lost)
        if not gate.said.wait(self.timeout):
            raise TimeoutError(f"master {node + 1} did not answer within {self.timeout} s")
        kind, value = gate.reply
        if kind == "error":
            return {"ok": "unreachable"}
        if value:
            if not lost:
                r.granted += 1
            return {"ok": "granted"}
        return {"ok": "busy"}

    def conclude(self):
        r = self.round
        if r is None:
            raise worker.Definite("nothing to conclude: no master was asked")
        r.delivered.set()
        r.thread.join(self.timeout)
        alive = r.thread.is_alive()
        self.end_round()
        if alive:
            raise TimeoutError(f"pottery did not conclude within {self.timeout} s")
        if r.error is not None:
            raise r.error
        if r.acquired:
            self.lock = r.lock
            return {"ok": "granted", "token": r.lock._uuid}
        return {"ok": "expired"} if r.granted >= self.quorum() else {"ok": "busy"}

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
        for m in self.masters:
            m.ping()


if __name__ == "__main__":
    worker.serve(PotteryRedlock)
