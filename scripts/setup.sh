#!/usr/bin/env bash
# Installs what locklab needs beyond the Rust toolchain, and only what is
# missing: redis-server and redis-sentinel (Debian's Redis 7 packages); for
# the browser test of `locklab report` Debian's chromium, Node.js and the
# pinned playwright-core of lab/tests/browser (npm, from its lock file;
# playwright drives the system chromium and never downloads a browser); and
# for the lock adapters in other languages (adapters/): a Python venv at
# .venv/ with adapters/python/requirements.txt (pinned versions), and
# adapters/node's packages (`npm ci`, from the committed lock file); the
# JVM and Go adapters built when their sources or lock files changed
# (adapters/java: a jar with its dependencies and a class-data archive, by
# Maven from pom.xml; adapters/go: one binary, from go.mod and go.sum). The
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
# A JDK from Debian comes with Debian's Maven. A JDK from elsewhere (not
# known to dpkg) gets Maven from Maven Central instead, below: Debian's
# maven package would pull in a second JDK of its own, over the first where
# their paths meet.
maven_from_central=""
if command -v java >/dev/null 2>&1 && command -v javac >/dev/null 2>&1; then
  if ! command -v mvn >/dev/null 2>&1; then maven_from_central=yes; fi
else
  need+=(default-jdk-headless)
  command -v mvn >/dev/null 2>&1 || need+=(maven)
fi
command -v go >/dev/null 2>&1 || need+=(golang)
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
    echo "setup: missing ${need[*]} and no apt-get here; install Redis 7 (redis-server, redis-sentinel), chromium, Node.js with npm, Python 3 with venv, a JDK 17 or later with Maven, and Go 1.21 or later, and put them on PATH" >&2
    exit 2
  fi
  if [ "$(id -u)" -ne 0 ] && [ ${#sudo[@]} -eq 0 ]; then
    echo "setup: missing ${need[*]}; run this script as root or install them yourself" >&2
    exit 2
  fi
  echo "setup: installing ${need[*]}" >&2
  apt_log=$(mktemp)
  if ! { "${sudo[@]}" apt-get update -qq &&
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${need[@]}"; } >"$apt_log" 2>&1; then
    tail -n 15 "$apt_log" >&2
    echo "setup: apt-get could not install ${need[*]} (its last lines above; all of it in $apt_log)" >&2
    exit 2
  fi
  rm -f "$apt_log"
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

# A build's output is kept with a stamp of what it was built from; it is
# built again only when a source or lock file changed. A failed build is its
# last lines and exit 2; every build is bounded in time.
stamp() { cat "$@" | sha256sum | cut -d' ' -f1; }
build() { # build NAME LOG COMMAND...: runs COMMAND, its output to LOG
  local name=$1 log=$2
  shift 2
  if ! timeout 900 "$@" >"$log" 2>&1; then
    tail -n 25 "$log" >&2
    echo "setup: building $name failed (the lines above; all of it in $log)" >&2
    exit 2
  fi
}

# A JDK from Debian's package links its configuration from /etc (its
# security settings, jvm.cfg, the trust store). Such a JDK copied or
# mounted without that /etc (a container given the host's JDK) cannot start
# Maven ("Error loading java.security file") nor reach Maven Central. Its
# /etc comes back from the package it came from (downloaded, not
# installed: installing it would write over the JDK), and its trust store
# from the system's certificates.
java_home=""
if command -v javac >/dev/null 2>&1; then
  java_home=$(dirname "$(dirname "$(readlink -f "$(command -v javac)")")")
fi
dangling() { [ -L "$1" ] && [ ! -e "$1" ]; }
if [ -n "$java_home" ] && dangling "$java_home/conf/security/java.security"; then
  etc_dir=$(dirname "$(dirname "$(readlink "$java_home/conf/security/java.security")")")
  release=$(basename "$etc_dir" | sed -n 's/^java-\([0-9]*\)-openjdk$/\1/p')
  if [ -z "$release" ] || ! command -v apt-get >/dev/null 2>&1 || [ "$(id -u)" -ne 0 ]; then
    echo "setup: the JDK at $java_home lacks its configuration ($etc_dir); reinstall it, or put a complete JDK 17 or later first on PATH" >&2
    exit 2
  fi
  echo "setup: the JDK at $java_home lacks $etc_dir: restoring it from Debian's openjdk-$release-jre-headless" >&2
  jdk_tmp=$(mktemp -d)
  if ! { apt-get update -qq && (cd "$jdk_tmp" && apt-get download -qq "openjdk-$release-jre-headless") &&
    dpkg-deb -x "$jdk_tmp"/openjdk-*.deb "$jdk_tmp/root"; } >"$jdk_tmp/log" 2>&1; then
    tail -n 15 "$jdk_tmp/log" >&2
    echo "setup: could not fetch openjdk-$release-jre-headless to restore $etc_dir" >&2
    exit 2
  fi
  mkdir -p "$(dirname "$etc_dir")"
  cp -a "$jdk_tmp/root$etc_dir" "$(dirname "$etc_dir")/"
  rm -rf "$jdk_tmp"
fi
if [ -n "$java_home" ] && dangling "$java_home/lib/security/cacerts"; then
  cacerts=$(readlink "$java_home/lib/security/cacerts")
  echo "setup: the JDK's trust store $cacerts is missing: writing it from /etc/ssl/certs/ca-certificates.crt" >&2
  mkdir -p "$(dirname "$cacerts")"
  java scripts/PemTrustStore.java /etc/ssl/certs/ca-certificates.crt "$cacerts"
fi

# Apache Maven, pinned, from Maven Central, checked against the digest
# written here, when the JDK is not Debian's (see above).
maven_version=3.9.16
maven_sha512=831a8591fe20c8243b1dbe7d71e3244f31d1665b0804b2e825e38cbbe5ce0cafb8338851f90780735568773e0a6cd07bbec107cda0b896b008b861075358b6f6
maven_home=target/tools/apache-maven-$maven_version
if [ -n "$maven_from_central" ]; then
  if [ ! -x "$maven_home/bin/mvn" ]; then
    echo "setup: fetching Apache Maven $maven_version from Maven Central" >&2
    mkdir -p target/tools
    if ! python3 - "$maven_version" "$maven_sha512" target/tools <<'PY' >&2; then
import hashlib, io, sys, tarfile, urllib.request
version, digest, into = sys.argv[1:]
url = f"https://repo.maven.apache.org/maven2/org/apache/maven/apache-maven/{version}/apache-maven-{version}-bin.tar.gz"
data = urllib.request.urlopen(url, timeout=120).read()
if hashlib.sha512(data).hexdigest() != digest:
    sys.exit(f"{url}: its SHA-512 is not the one setup.sh pins")
archive = tarfile.open(fileobj=io.BytesIO(data))
# Every entry inside the one directory, no links (Debian 12's Python 3.11.2
# predates extractall's filter argument).
for member in archive.getmembers():
    parts = member.name.split("/")
    if parts[0] != f"apache-maven-{version}" or ".." in parts or member.issym() or member.islnk():
        sys.exit(f"{url}: unexpected entry {member.name}")
archive.extractall(into)
PY
      echo "setup: could not fetch Apache Maven $maven_version (the line above); install Maven 3.6 or later and put mvn on PATH" >&2
      exit 2
    fi
  fi
  PATH="$PWD/$maven_home/bin:$PATH"
fi

# The Redisson adapter: a jar with its dependencies, and the class-data
# archive of one short conversation with a Redis of its own (the lab
# starts a JVM per client per schedule; the archive halves its start-up).
java_out=adapters/java/target
java_stamp=$(stamp adapters/java/pom.xml adapters/java/redisson $(find adapters/java/src -type f | sort))
if [ "$(cat $java_out/.locklab-stamp 2>/dev/null)" != "$java_stamp" ]; then
  echo "setup: building adapters/java (Maven)" >&2
  mkdir -p $java_out
  build adapters/java $java_out/build.log mvn -B -q -f adapters/java/pom.xml package
  rm -f $java_out/locklab-redisson.jsa
  port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no >/dev/null 2>&1 &
  redis=$!
  for _ in $(seq 50); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
  start='{"op":"start","version":1,"client":"c1","redis":"redis://127.0.0.1:'$port'/","lock_key":"setup:lock","resource_key":"setup:resource","lease_ms":3000,"connect_timeout_ms":2000,"response_timeout_ms":5000}'
  if ! printf '%s\n{"op":"ping"}\n{"op":"acquire"}\n{"op":"write","data":"x"}\n{"op":"release"}\n{"op":"quit"}\n' "$start" |
    timeout 120 java -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Xlog:disable -Xlog:all=error:stderr \
      -XX:ArchiveClassesAtExit=$java_out/locklab-redisson.jsa.tmp -jar $java_out/locklab-redisson.jar fenced \
      >$java_out/archive.log 2>&1; then
    echo "setup: adapters/java: no class-data archive (see $java_out/archive.log); the adapter starts slower without it" >&2
  fi
  kill "$redis" 2>/dev/null || true
  wait "$redis" 2>/dev/null || true
  [ -f $java_out/locklab-redisson.jsa.tmp ] && mv $java_out/locklab-redisson.jsa.tmp $java_out/locklab-redisson.jsa
  echo "$java_stamp" >$java_out/.locklab-stamp
fi

# The Go adapter: one binary. go.mod asks for Go 1.26; a go command from
# 1.21 on fetches that toolchain from the Go module proxy by itself, an
# older one (Debian 12's golang is 1.19) cannot.
go_out=adapters/go/bin
go_stamp=$(stamp adapters/go/go.mod adapters/go/go.sum $(find adapters/go -maxdepth 1 -name '*.go' | sort))
if [ "$(cat $go_out/.locklab-stamp 2>/dev/null)" != "$go_stamp" ]; then
  go_minor=$(go env GOVERSION 2>/dev/null | sed -n 's/^go1\.\([0-9]*\).*/\1/p')
  if [ -z "$go_minor" ] || [ "$go_minor" -lt 21 ]; then
    echo "setup: adapters/go needs Go 1.21 or later (it then fetches the Go 1.26 that go.mod asks for); this go is $(go version 2>/dev/null || echo missing) — install a newer Go and put it first on PATH" >&2
    exit 2
  fi
  echo "setup: building adapters/go" >&2
  mkdir -p $go_out
  (cd adapters/go && build adapters/go bin/build.log go build -trimpath -o bin/locklab-go .)
  echo "$go_stamp" >$go_out/.locklab-stamp
fi
