#!/usr/bin/env bash
# The demo: engines up, build, `sluice dev` (every service plus the example
# booking service and CRM in one process), the sample WhatsApp messages, what
# became of each, the booking service's count of bookings per idempotency
# key; then the second workflow, crm-enrichment: enrichment requests for the
# example CRM's accounts, the account and its staged suggestion before and
# after, and the review queue; and a clean stop. Exits non-zero if any
# scenario ends somewhere unexpected, any idempotency key was booked twice or
# an enrichment was written twice.
#
# The review console runs too: the demo prints its address and a reviewer
# token. With SLUICE_DEMO_KEEP=1 the stack stays up after the scenarios, for
# the console, until Ctrl-C.
#
# Ports: SLUICE_DEMO_INGEST_PORT (8080), SLUICE_DEMO_BOOKING_PORT (8090),
# SLUICE_DEMO_LEDGER_PORT (50051), SLUICE_DEMO_METRICS_PORT (9464, /metrics),
# SLUICE_DEMO_CONSOLE_PORT (8070).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/sluice-target}
dev_dir=${SLUICE_DEV_DIR:-$repo/.dev}
ingest_port=${SLUICE_DEMO_INGEST_PORT:-8080}
booking_port=${SLUICE_DEMO_BOOKING_PORT:-8090}
ledger_port=${SLUICE_DEMO_LEDGER_PORT:-50051}
metrics_port=${SLUICE_DEMO_METRICS_PORT:-9464}
console_port=${SLUICE_DEMO_CONSOLE_PORT:-8070}
mkdir -p "$dev_dir"

eval "$(bash scripts/dev-up.sh | sed 's/^/export /')"

echo "demo: building" >&2
cargo build --quiet -p sluice-cli

# Fresh signing secrets per run (one per source), shared by the demo clients and ingest.
new_secret() { echo "whsec_$(python3 -c 'import base64,os;print(base64.b64encode(os.urandom(24)).decode())')"; }
SLUICE_WHATSAPP_WEBHOOK_SECRET=$(new_secret)
SLUICE_CRM_WEBHOOK_SECRET=$(new_secret)
export SLUICE_WHATSAPP_WEBHOOK_SECRET SLUICE_CRM_WEBHOOK_SECRET
# Fresh ledger tokens per run: one for the stack's own services, one per
# person. The demo's `sluice` commands run as the reviewer.
new_token() { python3 -c 'import secrets;print(secrets.token_urlsafe(24))'; }
service_token=$(new_token) reviewer_token=$(new_token) sre_token=$(new_token) trigger_token=$(new_token)
SLUICE_LEDGER_TOKENS="$service_token=service:sluice-dev,$reviewer_token=reviewer:demo-reviewer,$sre_token=sre:demo-sre,$trigger_token=trigger:front-desk"
export SLUICE_LEDGER_TOKENS
export SLUICE_LEDGER_TOKEN=$reviewer_token
# A fresh prefix and databases per run, so the counts are this run's alone.
run_id=demo$(date +%s)
export SLUICE_PREFIX=$run_id
# The example CRM's database, which `sluice dev` creates next to its own.
crm_db="${SLUICE_DATABASE_URL%/*}/sluice_${run_id}_crm"

"$CARGO_TARGET_DIR/debug/sluice" dev \
  --database-url "$SLUICE_DATABASE_URL" --database-prefix "sluice_$run_id" \
  --workflows workflows --sources sources \
  --ingest-listen "127.0.0.1:$ingest_port" --booking-listen "127.0.0.1:$booking_port" \
  --ledger-listen "127.0.0.1:$ledger_port" --metrics-listen "127.0.0.1:$metrics_port" \
  --console-listen "127.0.0.1:$console_port" \
  >"$dev_dir/demo.log" 2>&1 &
dev_pid=$!
stop() {
  kill -TERM "$dev_pid" 2>/dev/null || true
  wait "$dev_pid" 2>/dev/null || true
  # This run's databases: the demo leaves nothing behind but its log.
  for db in "sluice_${run_id}_ledger" "sluice_${run_id}_booking" "sluice_${run_id}_crm"; do
    psql -q "$SLUICE_DATABASE_URL" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
  done
}
trap stop EXIT

for _ in $(seq 1 150); do
  if curl -fsS "http://127.0.0.1:$ingest_port/v1/openapi.json" >/dev/null 2>&1; then break; fi
  kill -0 "$dev_pid" 2>/dev/null || { tail -n 30 "$dev_dir/demo.log" >&2; echo "demo: sluice dev exited" >&2; exit 1; }
  sleep 0.2
done

echo "demo: review console at http://127.0.0.1:$console_port/ (sign in with the reviewer token $reviewer_token, or the sre token $sre_token)"
status=0
SLUICE_DEMO_INGEST="http://127.0.0.1:$ingest_port" SLUICE_DEMO_BOOKING="http://127.0.0.1:$booking_port" \
  SLUICE_DEMO_METRICS="http://127.0.0.1:$metrics_port/metrics" \
  python3 scripts/demo_client.py || status=$?

# The second workflow, crm-enrichment: declared in workflows/crm-enrichment,
# no service code of its own. An applied enrichment, its repeats, a review,
# an exception; the CRM's tables before and after.
crm_state=$dev_dir/crm-demo.env
rm -f "$crm_state"
SLUICE_DEMO_INGEST="http://127.0.0.1:$ingest_port" SLUICE_DEMO_CRM_DB="$crm_db" \
  SLUICE_DEMO_CRM_STATE="$crm_state" python3 scripts/demo_crm.py || status=$?
echo
echo "sluice review list --workflow crm-enrichment:"
"$CARGO_TARGET_DIR/debug/sluice" review list --workflow crm-enrichment \
  --ledger-url "http://127.0.0.1:$ledger_port" || status=$?
# shellcheck disable=SC1090 # written by demo_crm.py: CRM_DEMO_EXECUTION, CRM_DEMO_ACCOUNT
[[ -f $crm_state ]] && source "$crm_state"

# A person undoes the applied enrichment: the saga's compensations run in
# reverse order, each once under `<key>:compensate`; asked twice, nothing more.
if [[ -n ${CRM_DEMO_EXECUTION:-} ]]; then
  account_row() {
    psql -qAt "$crm_db" -c "SELECT industry, employee_count, hq_city FROM accounts WHERE account_id = '$CRM_DEMO_ACCOUNT'"
  }
  echo
  echo "account $CRM_DEMO_ACCOUNT before the revert: $(account_row)"
  for attempt in first second; do
    echo "sluice executions revert $CRM_DEMO_EXECUTION --reason \"demo: merged into the wrong account\" ($attempt time):"
    "$CARGO_TARGET_DIR/debug/sluice" executions revert "$CRM_DEMO_EXECUTION" \
      --reason "demo: merged into the wrong account" \
      --ledger-url "http://127.0.0.1:$ledger_port" || status=$?
  done
  echo "account $CRM_DEMO_ACCOUNT after the revert:  $(account_row)"
  echo "staged suggestions left for it: $(psql -qAt "$crm_db" -c "SELECT count(*) FROM enrichment_staging WHERE account_id = '$CRM_DEMO_ACCOUNT'")"
  echo "compensations in the CRM's key table: $(psql -qAt "$crm_db" -c "SELECT count(*) FROM sluice_effects WHERE key LIKE '%:compensate'")"
fi

# A booking started by hand (the front desk's trigger token): the same
# command twice is the same execution, one booking.
trigger_input=$dev_dir/trigger-request.json
printf '{"id": "desk-%s", "from": "+34600000099", "name": "Front desk", "text": "A table for 2 tomorrow at 13:00"}\n' "$run_id" >"$trigger_input"
echo
for attempt in first second; do
  echo "sluice trigger reservation --input $trigger_input ($attempt time):"
  SLUICE_LEDGER_TOKEN=$trigger_token "$CARGO_TARGET_DIR/debug/sluice" trigger reservation \
    --input "$trigger_input" --ingest-url "http://127.0.0.1:$ingest_port" || status=$?
done

if [[ ${SLUICE_DEMO_KEEP:-0} == 1 ]]; then
  echo
  echo "demo: the stack stays up; review console at http://127.0.0.1:$console_port/ (reviewer token $reviewer_token). Ctrl-C stops it." >&2
  wait "$dev_pid" || true
fi
stop
trap - EXIT
echo "demo: stopped cleanly (log: $dev_dir/demo.log)" >&2
exit $status
