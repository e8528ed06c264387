"""The locklab worker protocol, versions 1 and 2 (docs/worker-protocol.md),
for Python lock adapters.

An adapter gives `serve` a function that opens its lock from the lab's
start-up message; `serve` does the rest: the version check, `ready`, one
reply per request line, errors as definite or indefinite, and `said` notes.
stdout carries only protocol lines: `print` and any library that writes to
stdout are sent to stderr, which the lab keeps for its error messages.

Version 2 (offered by the lab in `max_version`): an adapter whose library
renews its lease in a background thread sets `renews` when given a period
(`renew_every`), and reports each renewal and loss with `event`, from any
thread: event lines and replies are written whole, one at a time.
"""

import json
import os
import sys
import threading

VERSION = 2
"""The newest version spoken; every start-up message says 1 in `version`."""

_out = threading.Lock()


def _write_line(message):
    data = (json.dumps(message) + "\n").encode()
    with _out:
        while data:  # straight to fd 1: no buffer to flush
            data = data[os.write(1, data) :]


def agreed_version(start):
    """The version both speak: the newest the lab offers, up to ours."""
    return min(start.get("max_version") or start.get("version") or 0, VERSION)


def renew_every(start):
    """The renewal period the start-up message asks for, in seconds (None:
    none asked, or a version-1 lab); a period of 0 or not below the lease is
    refused."""
    every = start.get("renew_every_ms")
    if every is None or agreed_version(start) < 2:
        return None
    if every <= 0 or every >= start["lease_ms"]:
        raise Definite(
            f"a renewal period of {every} ms: it must be above 0 and below the lease of {start['lease_ms']} ms"
        )
    return every / 1000


class Definite(Exception):
    """An error after which the operation surely did not happen."""


class Adapter:
    """What `serve` drives. `name` names the lock in reports; `said` collects
    what the library told its caller (an exception it raised, a background
    thread that died), sent with the next reply."""

    name = "adapter"
    renews = False
    """Set by an adapter whose library renews at `renew_every` (version 2)."""

    def __init__(self):
        self.said = []
        self._said_lock = threading.Lock()

    def note(self, text):
        with self._said_lock:
            self.said.append(text)

    def event(self, message):
        """An event line (version 2): a renewal or a loss, from any thread."""
        if self.renews:
            _write_line(message)

    def take_said(self):
        with self._said_lock:
            said, self.said = self.said, []
        return said

    def acquire(self):
        raise NotImplementedError

    def acquire_within(self, deadline):
        """Acquire, waiting by the library's own strategy for at most
        `deadline` seconds. Without it the lab polls `acquire`."""
        raise Definite("acquire-within: this adapter does not wait; poll acquire")

    def acquire_lost(self):
        """A new acquire request whose reply the client never reads: run it,
        report what Redis answered, and keep nothing of it but the request,
        for `acquire_resent`. Without it the lab skips the retry fault."""
        raise Definite("acquire-lost: this library cannot send a request again")

    def acquire_resent(self):
        """The request of the last `acquire_lost`, sent again; its reply is
        read (a library's own retry)."""
        raise Definite("acquire-resent: this library cannot send a request again")

    def ask(self, node, lost):
        """A quorum lock's step: one master's request of an acquire
        (`node`, 0-based); `lost`: its reply is dropped unread."""
        raise Definite("ask: this adapter is not a quorum lock")

    def conclude(self):
        """A quorum lock's step: the acquire's decision, once every master
        was asked."""
        raise Definite("conclude: this adapter is not a quorum lock")

    def write_fence(self):
        """The fencing token to write with; None: the lock issues none."""
        return None

    def release(self):
        raise NotImplementedError

    def reset(self, lock_key):
        raise NotImplementedError

    def ping(self):
        pass


def describe(error):
    """An exception as one line: its type and message."""
    text = " ".join(str(error).split())
    if isinstance(error, Definite):
        return text
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def definite_for(error):
    """Whether a library error means the operation surely did not happen:
    ours (Definite), or an error reply from Redis (it refused the command).
    A connection lost or a timeout may have let it happen."""
    if isinstance(error, Definite):
        return True
    try:
        import redis.exceptions

        return isinstance(error, redis.exceptions.ResponseError)
    except ImportError:
        return False


def redis_client(start, url=None, cls=None):
    """A redis-py client (of `cls`, a subclass of redis.Redis if given) for
    the start-up message's Redis (the lab's proxy), or for `url`, with its
    timeouts, checked with a PING."""
    import redis

    client = (cls or redis.Redis).from_url(
        url or start["redis"],
        socket_connect_timeout=start["connect_timeout_ms"] / 1000,
        socket_timeout=start["response_timeout_ms"] / 1000,
    )
    client.ping()
    return client


def serve(open_adapter):
    """Serves the protocol on stdin/stdout until stdin closes or `quit`."""
    sys.stdout.flush()
    sys.stdout = sys.stderr

    def reply(message, adapter=None):
        said = adapter.take_said() if adapter else []
        if said:
            message["said"] = "; ".join(said)
        _write_line(message)

    stdin = sys.stdin.buffer
    line = b""
    while not line.strip():
        line = stdin.readline()
        if not line:
            sys.exit("stdin closed before the start-up message")
    try:
        start = json.loads(line)
        if not isinstance(start, dict) or start.get("op") != "start":
            raise Definite(f"expected the start-up message, got {line[:200]!r}")
        if start.get("version") not in (1, 2):
            raise Definite(
                f"the lab speaks worker protocol version {start.get('version')}, "
                f"this adapter speaks 1 to {VERSION}"
            )
        renew_every(start)
        adapter = open_adapter(start)
    except Exception as error:  # noqa: BLE001 - any failure ends the worker, said once
        reply({"err": describe(error), "definite": True})
        print(f"adapter: {describe(error)}", file=sys.stderr)
        sys.exit(2)
    ready = {
        "ready": adapter.name,
        "version": agreed_version(start),
        "pid": os.getpid(),
        "name": start["client"],
    }
    if adapter.renews:
        ready["renews"] = True
    reply(ready)

    for line in stdin:
        if not line.strip():
            continue
        try:
            request = json.loads(line)
            op = request["op"]
        except (ValueError, KeyError, TypeError) as error:
            reply({"err": f"bad request {line[:200]!r}: {describe(error)}", "definite": True})
            continue
        try:
            if op == "acquire":
                answer = adapter.acquire()
            elif op == "acquire-within":
                answer = adapter.acquire_within(request["deadline_ms"] / 1000)
            elif op == "acquire-lost":
                answer = adapter.acquire_lost()
            elif op == "acquire-resent":
                answer = adapter.acquire_resent()
            elif op == "write":
                fence = adapter.write_fence()
                answer = {"ok": "write-with"}
                if fence is not None:
                    answer["fence"] = fence
            elif op == "release":
                answer = adapter.release()
            elif op in ("ask", "ask-lost"):
                answer = adapter.ask(request["node"], op == "ask-lost")
            elif op == "conclude":
                answer = adapter.conclude()
            elif op == "reset":
                adapter.reset(request["lock_key"])
                answer = {"ok": "reset"}
            elif op == "ping":
                adapter.ping()
                answer = {"ok": "pong"}
            elif op == "quit":
                reply({"ok": "bye"}, adapter)
                return
            else:
                raise Definite(f"unknown op {op!r}")
        except Exception as error:  # noqa: BLE001 - reported to the lab, which records it
            answer = {"err": describe(error), "definite": definite_for(error)}
        reply(answer, adapter)
