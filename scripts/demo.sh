#!/usr/bin/env bash
# The demo: engines up, build, `sluice dev` (every service plus the example
# booking service in one process), the sample WhatsApp messages, what became
# of each, the booking service's count of bookings per idempotency key, and a
# clean stop. Exits non-zero if any scenario ends somewhere unexpected or any
# idempotency key was booked twice.
#
# Ports: SLUICE_DEMO_INGEST_PORT (8080), SLUICE_DEMO_BOOKING_PORT (8090),
# SLUICE_DEMO_LEDGER_PORT (50051), SLUICE_DEMO_METRICS_PORT (9464, /metrics).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/sluice-target}
dev_dir=${SLUICE_DEV_DIR:-$repo/.dev}
ingest_port=${SLUICE_DEMO_INGEST_PORT:-8080}
booking_port=${SLUICE_DEMO_BOOKING_PORT:-8090}
ledger_port=${SLUICE_DEMO_LEDGER_PORT:-50051}
metrics_port=${SLUICE_DEMO_METRICS_PORT:-9464}
mkdir -p "$dev_dir"

eval "$(bash scripts/dev-up.sh | sed 's/^/export /')"

echo "demo: building" >&2
cargo build --quiet -p sluice-cli

# A fresh signing secret per run, shared by the demo client and ingest.
export SLUICE_WHATSAPP_WEBHOOK_SECRET="whsec_$(python3 -c 'import base64,os;print(base64.b64encode(os.urandom(24)).decode())')"
# A fresh prefix and databases per run, so the counts are this run's alone.
run_id=demo$(date +%s)
export SLUICE_PREFIX=$run_id

"$CARGO_TARGET_DIR/debug/sluice" dev \
  --database-url "$SLUICE_DATABASE_URL" --database-prefix "sluice_$run_id" \
  --workflows workflows --sources sources \
  --ingest-listen "127.0.0.1:$ingest_port" --booking-listen "127.0.0.1:$booking_port" \
  --ledger-listen "127.0.0.1:$ledger_port" --metrics-listen "127.0.0.1:$metrics_port" \
  >"$dev_dir/demo.log" 2>&1 &
dev_pid=$!
stop() {
  kill -TERM "$dev_pid" 2>/dev/null || true
  wait "$dev_pid" 2>/dev/null || true
  # This run's databases: the demo leaves nothing behind but its log.
  for db in "sluice_${run_id}_ledger" "sluice_${run_id}_booking"; do
    psql -q "$SLUICE_DATABASE_URL" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
  done
}
trap stop EXIT

for _ in $(seq 1 150); do
  if curl -fsS "http://127.0.0.1:$ingest_port/v1/openapi.json" >/dev/null 2>&1; then break; fi
  kill -0 "$dev_pid" 2>/dev/null || { tail -n 30 "$dev_dir/demo.log" >&2; echo "demo: sluice dev exited" >&2; exit 1; }
  sleep 0.2
done

status=0
SLUICE_DEMO_INGEST="http://127.0.0.1:$ingest_port" SLUICE_DEMO_BOOKING="http://127.0.0.1:$booking_port" \
  SLUICE_DEMO_METRICS="http://127.0.0.1:$metrics_port/metrics" \
  python3 scripts/demo_client.py || status=$?

stop
trap - EXIT
echo "demo: stopped cleanly (log: $dev_dir/demo.log)" >&2
exit $status
