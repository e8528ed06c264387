// node-redlock v5 over ioredis as a locklab worker
// (docs/worker-protocol.md), on every master the start-up message gives:
// one (judged as `token`), or three — the Redlock it is (judged as
// `redlock`), driven a master at a time through gates.
//
// One attempt per `acquire` (retryCount 0; `acquire-within` lets redlock
// retry as it does by default, until the deadline): redlock's acquire script
// sets the key unless it exists, on every master, and counts a quorum. It
// does not check the grant's validity against the time the attempt took:
// `acquire` returns `new Lock(…, start + duration - drift)` with `start =
// Date.now()` taken before the first request, whatever the time the round
// took (dist/cjs/index.js, `acquire`), so the caller may get a Lock whose
// `expiration` is already past. A busy lock and an unreachable master both
// end in an ExecutionError; the adapter tells them apart by the votes
// (ResourceLockedError: busy). `release` of a lock that is no longer ours
// (on a quorum) throws an ExecutionError too: that is what the library tells
// its caller, passed on as `said`. No fencing token. ioredis runs with its
// defaults (it queues commands while disconnected and retries them after a
// reconnect) and the lab's timeouts.
//
// The gates (three masters): the quorum model's steps ask one master at a
// time (`ask n`), then `conclude`; node-redlock sends its acquire script to
// every master at once, inside one call. A gate on each master's client
// holds the acquire script until the lab asks that master — as the lab's
// proxy chooses when a reply comes back — while node-redlock itself counts
// the votes, decides and releases what it does not keep. The model's
// client decides at `conclude`, having heard from every master, and counts
// the time from its first request; node-redlock decides as soon as a
// majority answered, for or against. So each master's reply reaches
// node-redlock when the lab concludes (replies slow on their way back, as
// the lab's proxy may make them): it then decides where the model's client
// does, with `start` taken at the round's first request, as the model's.
// Every command on a master waits until the one before it on that master
// ran (as on one connection). Outside a round the lab drives with `ask`,
// nothing waits.
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

// What redlock sees of a master whose reply the lab dropped (`ask-lost`):
// the script ran, the client counts no grant.
class ReplyLost extends Error {}

// A promise that rejects after `ms` with `what`; bounded waits only.
function within(promise, ms, what) {
  let timer;
  const late = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} within ${ms} ms`)), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

// What opens the gates of a round that ends before every master was asked
// (a reset): their requests are not sent.
const ABANDONED = "abandoned";

// One master's acquire, held until the lab asks that master.
class Gate {
  constructor(delivered) {
    this.opened = new Promise((resolve) => (this.open = resolve));
    this.said = new Promise((resolve) => (this.tell = resolve));
    this.delivered = delivered;
  }
}

// One master: its ioredis client, with `evalsha` and `eval` (what redlock
// sends) put in order, and the acquire script held at the round's gate.
class Master {
  constructor(client, acquireScript) {
    this.client = client;
    this.tail = Promise.resolve();
    this.gate = null;
    const evalsha = client.evalsha.bind(client);
    const evalScript = client.eval.bind(client);
    // The acquire by its hash, falling back to its text on NOSCRIPT (as
    // redlock does), in one gated request.
    const acquire = async (args) => {
      try {
        return await evalsha(acquireScript.hash, ...args.slice(1));
      } catch (error) {
        if (!(error instanceof Error) || !error.message.startsWith("NOSCRIPT")) throw error;
        return evalScript(acquireScript.value, ...args.slice(1));
      }
    };
    client.evalsha = (...args) =>
      args[0] === acquireScript.hash ? this.send(() => acquire(args), true) : this.send(() => evalsha(...args), false);
    client.eval = (...args) =>
      args[0] === acquireScript.value ? this.send(() => acquire(args), true) : this.send(() => evalScript(...args), false);
  }

  // A command, after the one sent before it on this master; the acquire of
  // a round goes out when the lab asks this master, and its reply reaches
  // redlock when the lab concludes.
  send(command, isAcquire) {
    const gate = isAcquire ? this.gate : null;
    const before = this.tail;
    let ran;
    const sent = (async () => {
      await before;
      if (!gate) return command();
      const lost = await gate.opened;
      let said;
      try {
        if (lost === ABANDONED) throw new Error("the round was abandoned before this master was asked");
        said = { result: await command() };
      } catch (error) {
        said = { error };
      }
      gate.tell(said);
      await gate.delivered;
      if (said.error) throw said.error;
      if (lost) throw new ReplyLost("the reply was lost (ask-lost)");
      return said.result;
    })();
    // The next command on this master waits until this one ran on Redis,
    // not until its reply was delivered.
    ran = gate ? Promise.race([gate.said, sent]) : sent;
    this.tail = ran.then(
      () => {},
      () => {},
    );
    return sent;
  }
}

// An acquire the lab drives a master at a time.
class Round {
  constructor(masters) {
    // The masters' replies reach redlock at the lab's `conclude`.
    this.concluding = new Promise((resolve) => (this.conclude = resolve));
    this.gates = masters.map(() => new Gate(this.concluding));
    this.granted = 0;
    this.outcome = null;
  }
}

class RedlockAdapter extends Adapter {
  constructor(start, clients) {
    super();
    this.name = `node-redlock ${versions.redlock} on ioredis ${versions.ioredis}`;
    if (clients.length > 1) this.name += `, ${clients.length} masters`;
    this.clients = clients;
    this.lease = start.lease_ms;
    this.timeout = start.response_timeout_ms + start.connect_timeout_ms;
    const settings = { retryCount: 0 };
    if (start.quorum) {
      // The lab's drift allowance (a share of the lease and a floor) as
      // redlock's one factor (redlock adds 2 ms of its own). Redlock never
      // compares the time an acquire took with it: only `extend` and
      // `using` read the Lock's expiration.
      const { drift_ppm: ppm, drift_floor_us: floor } = start.quorum;
      settings.driftFactor = ppm / 1e6 + Math.max(0, floor / 1000 - 2) / this.lease;
    }
    this.redlock = new Redlock(clients, settings);
    this.redlock.on("error", () => {});
    this.masters = clients.map((c) => new Master(c, this.redlock.scripts.acquireScript));
    this.round = null;
    this.reset(start.lock_key);
  }

  reset(lockKey) {
    this.key = lockKey;
    this.lock = null;
    this.endRound();
  }

  endRound() {
    if (this.round) {
      for (const gate of this.round.gates) gate.open(ABANDONED);
      this.round.conclude();
    }
    for (const m of this.masters) m.gate = null;
    this.round = null;
  }

  quorum() {
    return Math.floor(this.masters.length / 2) + 1;
  }

  async acquire() {
    return this.attempt({ retryCount: 0 });
  }

  // Its own waiting: redlock's retries (every 200 ms, ±100 ms of jitter).
  async acquireWithin(deadlineMs) {
    const { retryDelay } = this.redlock.settings;
    return this.attempt({ retryCount: Math.max(0, Math.ceil(deadlineMs / retryDelay)) });
  }

  async attempt(settings) {
    try {
      this.lock = await this.redlock.acquire([this.key], this.lease, settings);
      return { ok: "granted", token: this.lock.value };
    } catch (error) {
      return this.refused(error);
    }
  }

  // A failed acquire: busy when every vote against was a lock held.
  async refused(error) {
    const against = await votesAgainst(error);
    if (against.length && against.every((e) => e instanceof ResourceLockedError || e instanceof ReplyLost)) {
      return { ok: "busy" };
    }
    throw new Error(against.length ? against.map(describe).join("; ") : describe(error));
  }

  // Lets master `node`'s acquire of the lab's round go out, starting the
  // round (redlock's acquire, every master gated) at the first ask.
  async ask(node, lost) {
    if (!Number.isInteger(node) || node < 0 || node >= this.masters.length) {
      throw new Definite(`no master ${node + 1}: this lock has ${this.masters.length}`);
    }
    if (!this.round) {
      const round = new Round(this.masters);
      this.masters.forEach((m, i) => (m.gate = round.gates[i]));
      round.done = this.redlock.acquire([this.key], this.lease, { retryCount: 0 }).then(
        (lock) => (round.outcome = { lock }),
        (error) => (round.outcome = { error }),
      );
      this.round = round;
    }
    const round = this.round;
    const gate = round.gates[node];
    gate.open(lost);
    const said = await within(gate.said, this.timeout, `master ${node + 1} did not answer`);
    if (said.error) return { ok: "unreachable" };
    if (said.result === 1) {
      if (!lost) round.granted++;
      return { ok: "granted" };
    }
    return { ok: "busy" };
  }

  // node-redlock's verdict on the round, once its every request (and the
  // release it sends when it gives up) is done: held; busy without a
  // majority. It never answers `expired`: it does not check the validity.
  async conclude() {
    const round = this.round;
    if (!round) throw new Definite("nothing to conclude: no master was asked");
    round.conclude();
    try {
      await within(round.done, this.timeout, "redlock did not conclude");
      await within(Promise.all(this.masters.map((m) => m.tail)), this.timeout, "a master did not answer");
    } finally {
      this.endRound();
    }
    const { lock, error } = round.outcome;
    if (lock) {
      this.lock = lock;
      return { ok: "granted", token: lock.value };
    }
    if (round.granted >= this.quorum()) return { ok: "expired" };
    const against = await votesAgainst(error);
    if (!against.every((e) => e instanceof ResourceLockedError || e instanceof ReplyLost)) {
      this.note(against.map(describe).join("; "));
    }
    return { ok: "busy" };
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
    } finally {
      // redlock answers at a quorum: the last master's reply is awaited
      // too, so that Redis is settled when the lab looks.
      await within(Promise.all(this.masters.map((m) => m.tail)), this.timeout, "a master did not answer");
    }
  }

  // The lab pings before a client's first step and after a Redis restart:
  // loading redlock's scripts then makes a reply the lab holds later the
  // script's own, not a NOSCRIPT that keeps it from running.
  async ping() {
    for (const client of this.clients) {
      await client.ping();
      for (const script of Object.values(this.redlock.scripts)) {
        await client.script("LOAD", script.value);
      }
    }
  }
}

serve(async (start) => {
  const clients = [];
  for (const url of [start.redis, ...(start.masters || [])]) {
    const client = new Redis(url, {
      connectTimeout: start.connect_timeout_ms,
      commandTimeout: start.response_timeout_ms,
      lazyConnect: true,
    });
    client.on("error", (error) => console.error(`ioredis ${url}: ${describe(error)}`));
    await client.connect();
    await client.ping();
    clients.push(client);
  }
  return new RedlockAdapter(start, clients);
});
