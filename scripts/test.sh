#!/usr/bin/env bash
# The README's test command: installs what the tests need, then runs every test twice:
# on SQLite (with the real-Chromium tests), and again on a throwaway PostgreSQL server that this
# script starts (Debian's packages, pg_ctl on a temporary folder) and stops.
# Extra arguments go to both pytest runs (e.g. -x, -k overview).
set -euo pipefail
cd "$(dirname "$0")/.."

python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
python -m lib.maps.fetch_assets >/dev/null  # map scripts into ~/.cache/gridcrm/assets, hashes checked

need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
fc-list 2>/dev/null | grep -qi "noto sans cjk" || need+=(fonts-noto-cjk)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = "0" ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
  else
    echo "note: missing ${need[*]} and not root: those tests will be skipped" >&2
  fi
fi

echo "== lint (ruff.toml) =="
python -m ruff check --no-cache .

echo "== SQLite =="
python -m pytest "$@"

if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  pgdir=$(mktemp -d /tmp/gridcrm-pg.XXXXXX)
  port=$(python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  trap 'python scripts/pg_throwaway.py stop "$pgdir"; rm -rf "$pgdir"' EXIT
  url=$(python scripts/pg_throwaway.py start "$pgdir" "$port")
  echo "== PostgreSQL ($url) =="
  TEST_DATABASE_URL="$url" python -m pytest -m "not browser" "$@"
else
  echo "PostgreSQL is not installed: the PostgreSQL pass did not run" >&2
  exit 1
fi
