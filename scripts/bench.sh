#!/usr/bin/env bash
# The benchmark: the full pipeline against a raw five-hop JetStream relay,
# interleaved in one run, plus the ledger alone; prints the tables and the
# ratios and writes them into docs/benchmarks.md.
#   bash scripts/bench.sh                 # the full run (a few minutes), release build
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

cargo build --locked --quiet --profile "$profile" -p sluice-bench
dir=$([[ $profile == dev ]] && echo debug || echo "$profile")
"$CARGO_TARGET_DIR/$dir/sluice-bench" --repo "$repo" --command "bash scripts/bench.sh $*" "${doc[@]}" "$@"
