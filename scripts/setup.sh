#!/usr/bin/env bash
# Installs what locklab needs beyond the Rust toolchain, and only what is
# missing: redis-server and redis-sentinel (Debian's Redis 7 packages); for
# the browser test of `locklab report` Debian's chromium, Node.js and the
# pinned playwright-core of lab/tests/browser (npm, from its lock file;
# playwright drives the system chromium and never downloads a browser); and
# for the lock adapters in other languages (adapters/): a Python venv at
# .venv/ with adapters/python/requirements.txt (pinned versions), and
# adapters/node's packages (`npm ci`, from the committed lock file). The
# same script serves a developer's machine, CI and a new user's.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
command -v redis-sentinel >/dev/null 2>&1 || need+=(redis-sentinel)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v node >/dev/null 2>&1 || need+=(nodejs)
command -v npm >/dev/null 2>&1 || need+=(npm)
command -v python3 >/dev/null 2>&1 || need+=(python3)
# A venv that works has pip; Debian's python3 makes one only with
# python3-venv (`-m venv --help` answers without it, ensurepip does not).
venv_ok() { [ -x .venv/bin/python ] && .venv/bin/python -m pip --version >/dev/null 2>&1; }
if ! venv_ok && ! python3 -c 'import ensurepip' >/dev/null 2>&1; then
  need+=(python3-venv)
fi

sudo=()
if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then sudo=(sudo); fi

if [ ${#need[@]} -gt 0 ]; then
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "setup: missing ${need[*]} and no apt-get here; install Redis 7 (redis-server, redis-sentinel), chromium, Node.js with npm and Python 3 with venv, and put them on PATH" >&2
    exit 2
  fi
  if [ "$(id -u)" -ne 0 ] && [ ${#sudo[@]} -eq 0 ]; then
    echo "setup: missing ${need[*]}; run this script as root or install them yourself" >&2
    exit 2
  fi
  echo "setup: installing ${need[*]}" >&2
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  # Debian's package starts a system redis-server on 6379 where an init
  # system runs; the lab never uses it (it starts its own servers on free
  # ports).
  redis-server --version >&2
fi

# playwright-core as its lock file pins it (1.61: the last to run on
# Debian 12's Node.js 18), again whenever the lock file changed.
browser=lab/tests/browser
if ! cmp -s "$browser/package-lock.json" "$browser/node_modules/.locklab-package-lock.json"; then
  echo "setup: installing playwright-core for the browser test (npm ci in $browser)" >&2
  npm ci --prefix "$browser" --no-audit --no-fund --silent
  cp "$browser/package-lock.json" "$browser/node_modules/.locklab-package-lock.json"
fi

# The Python adapters' venv: made once, packages installed when the pinned
# list changed since the last install.
requirements=adapters/python/requirements.txt
if ! venv_ok; then
  echo "setup: creating .venv for the Python adapters" >&2
  rm -rf .venv
  python3 -m venv .venv
fi
if ! cmp -s "$requirements" .venv/.locklab-requirements; then
  echo "setup: installing $requirements into .venv" >&2
  .venv/bin/python -m pip install -q --disable-pip-version-check -r "$requirements"
  cp "$requirements" .venv/.locklab-requirements
fi

# The Node adapters' packages, exactly as adapters/node/package-lock.json says.
node_modules=adapters/node/node_modules
if ! { cmp -s adapters/node/package-lock.json $node_modules/.locklab-package-lock.json &&
  [ -f $node_modules/.package-lock.json ]; }; then
  echo "setup: npm ci in adapters/node" >&2
  (cd adapters/node && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  cp adapters/node/package-lock.json $node_modules/.locklab-package-lock.json
fi
