#!/usr/bin/env bash
# npm start: install what is missing, then run the whole controller on embedded defaults
# (SQLite in .data/, a Temporal dev server with its Web UI) in one process.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build-web.sh
export PATH="$PWD/.tools/venv/bin:$PATH"
# One node process (the tsx CLI in front would relay Ctrl-C/SIGTERM and SIGKILL a busy controller
# that does not acknowledge within 30 ms).
exec node --import tsx controller/main.ts
