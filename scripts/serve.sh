#!/usr/bin/env bash
# Install certledger into .venv and start it on the embedded SQLite default (./data/certledger.sqlite3).
# Extra arguments go to `certledger serve`, e.g. scripts/serve.sh --host 0.0.0.0 --port 8080
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-$(command -v python3.11 || command -v python3)}
[ -x .venv/bin/python ] || "$python" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
.venv/bin/python -m pip install -q .
exec .venv/bin/certledger serve "$@"
