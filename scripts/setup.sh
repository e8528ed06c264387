#!/usr/bin/env bash
# Installs what locklab needs beyond the Rust toolchain, and only what is
# missing: redis-server and redis-sentinel (Debian's Redis 7 packages). The
# same script serves a developer's machine, CI and a new user's.
set -euo pipefail

need=()
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
command -v redis-sentinel >/dev/null 2>&1 || need+=(redis-sentinel)

if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "setup: missing ${need[*]} and no apt-get here; install Redis 7 (redis-server, redis-sentinel) and put it on PATH" >&2
  exit 2
fi

sudo=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then sudo=(sudo); else
    echo "setup: missing ${need[*]}; run this script as root or install them yourself" >&2
    exit 2
  fi
fi

echo "setup: installing ${need[*]}" >&2
"${sudo[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
# Debian's package starts a system redis-server on 6379 where an init system
# runs; the lab never uses it (it starts its own servers on free ports).
redis-server --version >&2
