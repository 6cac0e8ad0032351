#!/usr/bin/env bash
# Builds every Sluice binary the container image ships and copies them to
# OUT_DIR. The Dockerfile runs exactly this (with --profile release), and
# CI runs it too (scripts/check-deploy.sh, with the dev profile), so the
# image's build steps are the ones CI exercises.
#
#   bash scripts/build.sh [--profile dev|release] OUT_DIR
set -euo pipefail

profile=dev
if [[ ${1:-} == --profile ]]; then
  profile=${2:?--profile needs a name}
  shift 2
fi
out=${1:?usage: scripts/build.sh [--profile dev|release] OUT_DIR}

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
# Compile-time checked SQL reads the committed .sqlx/ data, not a database.
export SQLX_OFFLINE=true
target=${CARGO_TARGET_DIR:-$repo/target}

# One binary per service, the ledger, the review console and the
# operations CLI.
binaries=(sluice sluice-ingest sluice-interpreter sluice-gate sluice-executor
  sluice-notifier sluice-deadletter sluice-ledger sluice-console)
packages=(sluice-cli sluice-ingest sluice-interpreter sluice-gate sluice-executor
  sluice-notifier sluice-deadletter sluice-ledger sluice-console)

cargo build --locked --profile "$profile" --bins "${packages[@]/#/--package=}"

# Cargo puts the dev profile under target/debug.
dir=$profile
[[ $profile == dev ]] && dir=debug
mkdir -p "$out"
for bin in "${binaries[@]}"; do
  install -m 0755 "$target/$dir/$bin" "$out/$bin"
done
printf 'build: %s\n' "${binaries[@]/#/$out/}"
