// The locklab worker protocol, version 1 (docs/worker-protocol.md), for
// Node.js lock adapters: `serve(open)` reads the start-up message, calls
// `open(start)` for the adapter, says ready, and answers one line per
// request, in order. stdout carries only protocol lines (console.log goes to
// stderr); errors are definite or indefinite; `said` notes ride on replies.
"use strict";

const readline = require("node:readline");

const VERSION = 1;

class Definite extends Error {}

function describe(error) {
  const text = String(error && error.message !== undefined ? error.message : error)
    .split(/\s+/)
    .join(" ")
    .trim();
  if (error instanceof Definite) return text;
  const type = error && error.constructor ? error.constructor.name : "Error";
  return text ? `${type}: ${text}` : type;
}

async function serve(open) {
  const out = process.stdout;
  console.log = console.error;
  let adapter = null;
  const reply = (message) => {
    const said = adapter ? adapter.takeSaid() : [];
    if (said.length) message.said = said.join("; ");
    out.write(JSON.stringify(message) + "\n");
  };
  const lines = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
  let started = false;
  for await (const line of lines) {
    if (!line.trim()) continue;
    if (!started) {
      started = true;
      try {
        const start = JSON.parse(line);
        if (!start || start.op !== "start") {
          throw new Definite(`expected the start-up message, got ${line.slice(0, 200)}`);
        }
        if (start.version !== VERSION) {
          throw new Definite(
            `the lab speaks worker protocol version ${start.version}, this adapter speaks ${VERSION}`,
          );
        }
        adapter = await open(start);
        reply({ ready: adapter.name, version: VERSION, pid: process.pid, name: start.client });
      } catch (error) {
        reply({ err: describe(error), definite: true });
        console.error(`adapter: ${describe(error)}`);
        process.exit(2);
      }
      continue;
    }
    let request;
    try {
      request = JSON.parse(line);
      if (!request || typeof request.op !== "string") throw new Definite("no op");
    } catch (error) {
      reply({ err: `bad request ${line.slice(0, 200)}: ${describe(error)}`, definite: true });
      continue;
    }
    let answer;
    try {
      switch (request.op) {
        case "acquire":
          answer = await adapter.acquire();
          break;
        case "acquire-within":
          answer = await adapter.acquireWithin(request.deadline_ms);
          break;
        case "acquire-lost":
          answer = await adapter.acquireLost();
          break;
        case "acquire-resent":
          answer = await adapter.acquireResent();
          break;
        case "write": {
          const fence = adapter.writeFence();
          answer = fence === null ? { ok: "write-with" } : { ok: "write-with", fence };
          break;
        }
        case "release":
          answer = await adapter.release();
          break;
        case "ask":
        case "ask-lost":
          answer = await adapter.ask(request.node, request.op === "ask-lost");
          break;
        case "conclude":
          answer = await adapter.conclude();
          break;
        case "reset":
          adapter.reset(request.lock_key);
          answer = { ok: "reset" };
          break;
        case "ping":
          await adapter.ping();
          answer = { ok: "pong" };
          break;
        case "quit":
          reply({ ok: "bye" });
          process.exit(0);
          break;
        default:
          throw new Definite(`unknown op ${JSON.stringify(request.op)}`);
      }
    } catch (error) {
      answer = { err: describe(error), definite: error instanceof Definite };
    }
    reply(answer);
  }
  if (!started) {
    console.error("stdin closed before the start-up message");
    process.exit(2);
  }
  process.exit(0);
}

class Adapter {
  constructor() {
    this.said = [];
  }
  note(text) {
    this.said.push(text);
  }
  takeSaid() {
    const said = this.said;
    this.said = [];
    return said;
  }
  // Acquire, waiting by the library's own strategy for at most deadlineMs.
  // Without it the lab polls `acquire`.
  async acquireWithin(_deadlineMs) {
    throw new Definite("acquire-within: this adapter does not wait; poll acquire");
  }
  // The retry fault's two operations (a request whose reply is lost, then
  // the same request again). Without them the lab skips the retry fault.
  async acquireLost() {
    throw new Definite("acquire-lost: this library cannot send a request again");
  }
  async acquireResent() {
    throw new Definite("acquire-resent: this library cannot send a request again");
  }
  // A quorum lock's steps (a lock judged against `redlock` on three
  // masters): one master's request of an acquire, then the decision.
  async ask(_node, _lost) {
    throw new Definite("ask: this adapter is not a quorum lock");
  }
  async conclude() {
    throw new Definite("conclude: this adapter is not a quorum lock");
  }
  writeFence() {
    return null;
  }
  async ping() {}
}

module.exports = { serve, Adapter, Definite, describe, VERSION };
