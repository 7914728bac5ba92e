#!/usr/bin/env bash
# One command: set up (venv, packages, MariaDB for the 1.x adapter tests), then run every test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
if ! command -v mariadbd >/dev/null 2>&1 && ! [ -x /usr/sbin/mariadbd ]; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing mariadb-server (the MySQL adapter tests start their own private server)"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mariadb-server >/dev/null
  else
    echo "note: mariadb-server is not installed; the MySQL adapter tests will be skipped" >&2
  fi
fi
.venv/bin/ruff check .
exec .venv/bin/python -m pytest "$@"
