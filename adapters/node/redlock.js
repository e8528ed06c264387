// node-redlock v5 over ioredis, on one server, as a locklab worker
// (docs/worker-protocol.md).
//
// One attempt per `acquire` (retryCount 0; `acquire-within` lets redlock
// retry as it does by default, until the deadline): redlock's acquire script sets
// the key unless it exists, on every server (here one), and counts a
// quorum. It does not check the grant's validity against the time the
// attempt took: the caller gets a Lock whose `expiration` may already be
// past. A busy lock and an unreachable server both end in an ExecutionError;
// the adapter tells them apart by the votes (ResourceLockedError: busy).
// `release` of a lock that is no longer ours throws an ExecutionError too:
// that is what the library tells its caller, passed on as `said`. No
// fencing token. ioredis runs with its defaults (it queues commands while
// disconnected and retries them after a reconnect) and the lab's timeouts.
"use strict";

const Redis = require("ioredis");
const { default: Redlock, ResourceLockedError } = require("redlock");
const { serve, Adapter, Definite, describe } = require("./worker");

const path = require("node:path");
const fs = require("node:fs");

// redlock's package exports do not include its package.json: read the file.
const version = (name) =>
  JSON.parse(fs.readFileSync(path.join(__dirname, "node_modules", name, "package.json"))).version;
const versions = { redlock: version("redlock"), ioredis: version("ioredis") };

async function votesAgainst(error) {
  const attempts = await Promise.all(error.attempts || []);
  return attempts.flatMap((a) => [...a.votesAgainst.values()]);
}

class RedlockAdapter extends Adapter {
  constructor(start, client) {
    super();
    this.name = `node-redlock ${versions.redlock} on ioredis ${versions.ioredis}`;
    this.client = client;
    this.lease = start.lease_ms;
    this.redlock = new Redlock([client], { retryCount: 0 });
    this.redlock.on("error", () => {});
    this.reset(start.lock_key);
  }

  reset(lockKey) {
    this.key = lockKey;
    this.lock = null;
  }

  async acquire() {
    return this.attempt({ retryCount: 0 });
  }

  // Its own waiting: redlock's retries (every 200 ms, ±200 ms of jitter).
  async acquireWithin(deadlineMs) {
    const { retryDelay } = this.redlock.settings;
    return this.attempt({ retryCount: Math.max(0, Math.ceil(deadlineMs / retryDelay)) });
  }

  async attempt(settings) {
    try {
      this.lock = await this.redlock.acquire([this.key], this.lease, settings);
      return { ok: "granted", token: this.lock.value };
    } catch (error) {
      const against = await votesAgainst(error);
      if (against.length && against.every((e) => e instanceof ResourceLockedError)) {
        return { ok: "busy" };
      }
      throw new Error(against.length ? against.map(describe).join("; ") : describe(error));
    }
  }

  async release() {
    const lock = this.lock;
    this.lock = null;
    if (!lock) throw new Definite("nothing to release: no grant held");
    try {
      await this.redlock.release(lock);
      return { ok: "released" };
    } catch (error) {
      const against = await votesAgainst(error);
      if (against.length && against.every((e) => e instanceof ResourceLockedError)) {
        this.note(describe(error));
        return { ok: "not-held" };
      }
      throw new Error(against.length ? against.map(describe).join("; ") : describe(error));
    }
  }

  // The lab pings before a client's first step and after a Redis restart:
  // loading redlock's scripts then makes a reply the lab holds later the
  // script's own, not a NOSCRIPT that keeps it from running.
  async ping() {
    await this.client.ping();
    for (const script of Object.values(this.redlock.scripts)) {
      await this.client.script("LOAD", script.value);
    }
  }
}

serve(async (start) => {
  const client = new Redis(start.redis, {
    connectTimeout: start.connect_timeout_ms,
    commandTimeout: start.response_timeout_ms,
    lazyConnect: true,
  });
  client.on("error", (error) => console.error(`ioredis: ${describe(error)}`));
  await client.connect();
  await client.ping();
  return new RedlockAdapter(start, client);
});
