#!/usr/bin/env bash
# npm start: install what is missing, then run the whole controller on embedded defaults
# (SQLite in .data/, a Temporal dev server with its Web UI) in one process.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$PWD/.tools/venv/bin:$PATH"
exec node_modules/.bin/tsx controller/main.ts
