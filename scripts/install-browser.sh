#!/usr/bin/env bash
# Headless Chromium and chromedriver for the console's browser tests:
# Debian's `chromium` and `chromium-driver` packages, installed with apt when
# missing (as root, or through sudo). Prints `SLUICE_CHROMIUM=…` and
# `SLUICE_CHROMEDRIVER=…` for `eval`, as scripts/dev-up.sh does.
#
# Elsewhere, point SLUICE_CHROMIUM and SLUICE_CHROMEDRIVER at a Chromium and
# the chromedriver of the same version; this script then only checks them.
set -euo pipefail

chromium=${SLUICE_CHROMIUM:-/usr/bin/chromium}
chromedriver=${SLUICE_CHROMEDRIVER:-/usr/bin/chromedriver}

if [[ ! -x $chromium || ! -x $chromedriver ]]; then
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "install-browser: $chromium or $chromedriver is missing and there is no apt-get;" \
      "install Chromium and chromedriver and set SLUICE_CHROMIUM and SLUICE_CHROMEDRIVER" >&2
    exit 1
  fi
  sudo=()
  if [[ $(id -u) -ne 0 ]]; then sudo=(sudo -n); fi
  echo "install-browser: installing Debian's chromium and chromium-driver" >&2
  # The package lists may be stale on a fresh machine: refresh once on failure.
  if ! "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium chromium-driver >&2; then
    "${sudo[@]}" apt-get update -q >&2
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium chromium-driver >&2
  fi
fi

# The two must agree: chromedriver refuses a browser of another major version.
browser_major=$("$chromium" --version 2>/dev/null | grep -oE '[0-9]+' | head -n 1)
driver_major=$("$chromedriver" --version 2>/dev/null | grep -oE '[0-9]+' | head -n 1)
if [[ $browser_major != "$driver_major" ]]; then
  echo "install-browser: Chromium $browser_major but chromedriver $driver_major" >&2
  exit 1
fi
echo "install-browser: $("$chromium" --version 2>/dev/null), $("$chromedriver" --version 2>/dev/null | cut -d' ' -f1-2)" >&2
echo "SLUICE_CHROMIUM=$chromium"
echo "SLUICE_CHROMEDRIVER=$chromedriver"
