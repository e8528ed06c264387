"""A complete locklab worker in one file: a token lock on redis-py."""
import json, os, sys, uuid

import redis

RELEASE = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0"


def say(message):
    print(json.dumps(message), flush=True)


start = json.loads(sys.stdin.readline())
if start.get("op") != "start" or start.get("version") != 1:
    say({"err": f"cannot start from {start}", "definite": True})
    sys.exit(2)
r = redis.Redis.from_url(start["redis"], socket_timeout=start["response_timeout_ms"] / 1000)
key, lease, token = start["lock_key"], start["lease_ms"], None
say({"ready": "minimal token lock", "version": 1, "pid": os.getpid(), "name": start["client"]})

for line in sys.stdin:
    try:
        request = json.loads(line)
        op = request["op"]
        if op == "acquire":
            mine = uuid.uuid4().hex
            granted = r.set(key, mine, nx=True, px=lease)
            token = mine if granted else token
            say({"ok": "granted", "token": mine} if granted else {"ok": "busy"})
        elif op == "write":
            say({"ok": "write-with"})  # no fencing token: the lab writes plainly
        elif op == "release" and token:
            removed, token = r.eval(RELEASE, 1, key, token), None
            say({"ok": "released" if removed else "not-held"})
        elif op == "reset":
            key, token = request["lock_key"], None
            say({"ok": "reset"})
        elif op == "ping":
            r.ping()
            say({"ok": "pong"})
        elif op == "quit":
            say({"ok": "bye"})
            break
        else:  # a release without a grant, or an op this lock does not have
            say({"err": f"cannot {op} now", "definite": True})
    except (ValueError, KeyError, TypeError):
        say({"err": f"bad request {line.strip()!r}", "definite": True})
    except redis.RedisError as error:  # the command may have run: indefinite
        say({"err": f"{type(error).__name__}: {error}"})
