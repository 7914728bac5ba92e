#!/usr/bin/env bash
# One command: set up (venv, packages, MariaDB for the 1.x adapter tests, Chromium for the
# admin console's browser tests), then run every test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
missing=()
if ! command -v mariadbd >/dev/null 2>&1 && ! [ -x /usr/sbin/mariadbd ]; then
  missing+=(mariadb-server)
fi
if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
  missing+=(chromium chromium-driver)
fi
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing ${missing[*]} (MySQL adapter tests start their own server; console tests drive Chromium)"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "note: ${missing[*]} not installed; the MySQL adapter and browser tests will be skipped" >&2
  fi
fi
.venv/bin/ruff check .
exec .venv/bin/python -m pytest "$@"
