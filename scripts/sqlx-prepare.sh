#!/usr/bin/env bash
# Regenerates the offline query data in .sqlx/ that lets `sqlx::query!` check
# SQL at compile time without a database (CI builds with SQLX_OFFLINE=true):
# creates a throw-away database, applies migrations/ with psql, builds
# sluice-ledger against it with the sqlx macros writing their data to .sqlx/,
# and drops the database again.
#
# Environment:
#   SLUICE_PG_URL     server to use (default postgres://postgres@127.0.0.1:5432/postgres)
#   CARGO_TARGET_DIR  honoured as usual
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
pg_url=${SLUICE_PG_URL:-postgres://postgres@127.0.0.1:5432/postgres}
db=sluice_sqlx_prepare_$$
db_url=${pg_url%/*}/$db

cleanup() { psql -q "$pg_url" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null || true; }
trap cleanup EXIT

psql -q -v ON_ERROR_STOP=1 "$pg_url" -c "CREATE DATABASE $db"
for migration in "$repo"/migrations/*.sql; do
  psql -q -v ON_ERROR_STOP=1 "$db_url" -f "$migration"
done

# Start from an empty folder so queries that no longer exist leave no files,
# and make cargo re-expand the macros even if nothing else changed.
rm -rf "$repo/.sqlx"
mkdir -p "$repo/.sqlx"
cd "$repo"
touch crates/ledger/src/lib.rs
DATABASE_URL=$db_url SQLX_OFFLINE=false SQLX_OFFLINE_DIR=$repo/.sqlx cargo check -p sluice-ledger --all-targets
echo "sqlx-prepare: $(ls "$repo/.sqlx" | wc -l) queries in .sqlx/" >&2
