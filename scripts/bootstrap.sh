#!/usr/bin/env bash
# Creates .venv with Python 3.10 and installs the pinned dependencies.
# Re-running is cheap: it reinstalls only when requirements.lock changed.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=.venv
STAMP="$VENV/.requirements.sha256"

find_python310() {
  local candidate
  for candidate in "${PYTHON310:-}" python3.10; do
    if [ -n "$candidate" ] && command -v "$candidate" >/dev/null 2>&1 \
       && "$candidate" -c 'import sys; assert sys.version_info[:2] == (3, 10)' 2>/dev/null; then
      command -v "$candidate"; return 0
    fi
  done
  if command -v python3 >/dev/null 2>&1 && python3 -c 'import sys; assert sys.version_info[:2] == (3, 10)' 2>/dev/null; then
    command -v python3; return 0
  fi
  local pyenv_root="${PYENV_ROOT:-$HOME/.pyenv}"
  if command -v pyenv >/dev/null 2>&1; then pyenv_root="$(pyenv root)"; fi
  for candidate in $(ls -d "$pyenv_root"/versions/3.10* 2>/dev/null | sort -V -r); do
    if [ -x "$candidate/bin/python3.10" ]; then echo "$candidate/bin/python3.10"; return 0; fi
  done
  return 1
}

if [ ! -x "$VENV/bin/python" ]; then
  if ! PY=$(find_python310); then
    cat >&2 <<'MSG'
ERROR: Python 3.10 was not found. Rasa 3.6 runs only on Python 3.8-3.10; this project uses 3.10.
Looked for: $PYTHON310, python3.10 and python3 on PATH, and pyenv versions 3.10.*.
Install it (e.g. `pyenv install 3.10.13`) or set PYTHON310=/path/to/python3.10, then re-run.
MSG
    exit 1
  fi
  echo "[setup] creating $VENV with $PY"
  "$PY" -m venv "$VENV"
fi

want=$(sha256sum requirements.lock | cut -d' ' -f1)
if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$want" ]; then
  echo "[setup] installing pinned dependencies (requirements.lock); the first time takes a few minutes"
  "$VENV/bin/python" -m pip install --quiet --upgrade "pip==24.2" "setuptools<71"
  "$VENV/bin/python" -m pip install --quiet -r requirements.lock
  echo "$want" > "$STAMP"
else
  echo "[setup] dependencies up to date"
fi
