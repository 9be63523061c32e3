#!/usr/bin/env bash
# Install everything the tests need, then run them all: lint, format check, pytest.
# Works on a fresh Debian machine with Python 3.11; safe to run again (it only installs what is missing).
set -euo pipefail
cd "$(dirname "$0")/.."

debian_packages=(poppler-utils zbar-tools sqlite3 dovecot-imapd chromium ghostscript)
missing=()
for pkg in "${debian_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  echo "Installing Debian packages: ${missing[*]}"
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo_cmd apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null \
    || { $sudo_cmd apt-get update -q >/dev/null && $sudo_cmd apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null; }
fi

python=${PYTHON:-$(command -v python3.11 || command -v python3)}
[ -x .venv/bin/python ] || "$python" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
.venv/bin/python -m pip install -q -e ".[test]"

.venv/bin/ruff check .
.venv/bin/ruff format --check .
exec .venv/bin/python -m pytest "$@"
