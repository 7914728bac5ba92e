#!/usr/bin/env bash
# One command: set up, then run the demo (simulated hospitals -> embedded SQLite passport).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/sync2 demo "$@"
