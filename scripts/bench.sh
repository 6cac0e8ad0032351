#!/usr/bin/env bash
# The benchmark: the full pipeline against a raw five-hop JetStream relay,
# interleaved in one run, plus the ledger alone; prints the tables and the
# ratios and writes them into docs/benchmarks.md.
#   bash scripts/bench.sh                 # the full run (a few minutes), release build,
#                                         # and each service's memory in its own process
#   bash scripts/bench.sh --quick         # the smoke test (well under a minute), no doc written
#   bash scripts/bench.sh --rounds 3 ...  # any other sluice-bench flag (see --help)
# SLUICE_BENCH_PROFILE=dev uses a debug build (what CI's quick step runs).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/sluice-target}
[[ -d .sqlx ]] && export SQLX_OFFLINE=${SQLX_OFFLINE:-true}
profile=${SLUICE_BENCH_PROFILE:-release}

eval "$(bash scripts/dev-up.sh | sed 's/^/export /')"

quick=false
for arg in "$@"; do [[ $arg == --quick ]] && quick=true; done
doc=()
$quick || doc=(--write-doc docs/benchmarks.md)

services=()
if ! $quick; then
  # Memory per service needs each service in a process of its own, which the
  # in-process bench cannot give: the reliability harness runs them so, here
  # under steady load without faults, and reports each one's peak RSS.
  harness=$(mktemp -d)
  trap 'rm -rf "$harness"' EXIT
  # The harness's private Postgres runs as the postgres user, which must
  # reach its data folder inside this one.
  chmod 0755 "$harness"
  echo "bench: each service in its own process under load (scripts/chaos.sh --profile load)"
  if ! bash scripts/chaos.sh --profile load --seed 1 --work-dir "$harness/run" --keep \
    >"$harness/chaos.log" 2>&1; then
    cat "$harness/chaos.log" >&2
    echo "bench: the load run failed (above)" >&2
    exit 1
  fi
  grep -E 'summary: peak RSS|RESULT' "$harness/chaos.log"
  services=(--service-rss "$harness/run/report.json")
fi

cargo build --locked --quiet --profile "$profile" -p sluice-bench
dir=$([[ $profile == dev ]] && echo debug || echo "$profile")
"$CARGO_TARGET_DIR/$dir/sluice-bench" --repo "$repo" --command "bash scripts/bench.sh $*" \
  "${doc[@]}" "${services[@]}" "$@"
