#!/usr/bin/env bash
# Fetches htmx from the npm registry into crates/console/assets/ (the
# console serves it itself: no CDN, no Node build step), or with --check
# verifies that the vendored file is byte for byte the published one.
#   bash scripts/vendor-htmx.sh [--check] [VERSION]
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
check=0
if [[ ${1:-} == --check ]]; then check=1; shift; fi
version=${1:-2.0.11}
assets=$repo/crates/console/assets
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "htmx.org@$version" >/dev/null && tar xzf "htmx.org-$version.tgz")
if [[ $check == 1 ]]; then
  cmp "$work/package/dist/htmx.min.js" "$assets/htmx-$version.min.js"
  echo "vendor-htmx: crates/console/assets/htmx-$version.min.js is htmx.org@$version"
  exit 0
fi
cp "$work/package/dist/htmx.min.js" "$assets/htmx-$version.min.js"
cp "$work/package/LICENSE" "$assets/htmx-LICENSE"
echo "vendor-htmx: htmx.org@$version into crates/console/assets (update the file name in crates/console/src/pages/assets.rs)"
