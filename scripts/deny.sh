#!/usr/bin/env bash
# cargo deny over licences, bans and sources (deny.toml).
#
# Advisories are not checked here: the advisory database is cloned from the
# network, which this project's CI machines do not reach. Run
# `cargo deny check advisories` where the network allows.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"

version=0.20.2
tools=${SLUICE_TOOLS_DIR:-$HOME/.cache/sluice-tools}
deny=$(command -v cargo-deny || true)
if [[ -z $deny ]] && [[ -x $tools/bin/cargo-deny ]]; then
  deny=$tools/bin/cargo-deny
fi
if [[ -z $deny ]]; then
  echo "deny: building cargo-deny $version into $tools (once per machine)" >&2
  cargo install "cargo-deny@$version" --locked --root "$tools" >&2
  deny=$tools/bin/cargo-deny
fi
"$deny" --version
"$deny" check licenses bans sources
