#!/usr/bin/env bash
# The README's test command: installs what the tests need, then runs every test.
# Browser tests use Debian's Chromium (no browser download); it is installed here when missing.
set -euo pipefail
cd "$(dirname "$0")/.."

python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt

if ! command -v chromium >/dev/null 2>&1 || ! fc-list 2>/dev/null | grep -qi "noto sans cjk"; then
  if [ "$(id -u)" = "0" ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null
  else
    echo "note: chromium or fonts-noto-cjk missing and not root: browser tests will be skipped" >&2
  fi
fi

python -m pytest "$@"
