"""A worker that talks to no Redis at all: every answer at once. What it
costs per operation is the worker protocol's own cost (pipes, JSON, a
Python process), which `locklab bench --lock-cmd` measures beside the real
adapters (docs/worker-protocol.md). Not a lock: it grants every acquire."""

import os

import locklab_worker as worker


class Noop(worker.Adapter):
    name = "no-op (no Redis)"

    def __init__(self, start):
        super().__init__()
        self.held = False

    def reset(self, lock_key):
        self.held = False

    def acquire(self):
        self.held = True
        return {"ok": "granted", "token": str(os.getpid())}

    def acquire_within(self, deadline):
        return self.acquire()

    def release(self):
        held, self.held = self.held, False
        return {"ok": "released" if held else "not-held"}


if __name__ == "__main__":
    worker.serve(Noop)
