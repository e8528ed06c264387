#!/usr/bin/env bash
# The whole test suite, as the README gives it and CI runs it: installs what
# is missing (redis-server, redis-sentinel), then runs every test of the
# workspace (release build, every feature: the peer lock crates too), then
# the loom models of the lease watchdog and of the re-entrant lock's hold,
# which need their own cfg flag (and
# so their own target directory, to keep the main build cache).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo test --workspace --release --all-features
RUSTFLAGS="--cfg locklab_loom" CARGO_TARGET_DIR=target/loom \
  cargo test -p locklab-impl --release --test loom_watchdog --test loom_reentrant -- --nocapture
