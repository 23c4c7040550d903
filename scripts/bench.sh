#!/usr/bin/env bash
# npm run bench:*: same set-up as the tests, then run one benchmark script.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
[ "$(id -u)" = 0 ] && bash scripts/ensure-test-tools.sh
export PATH="$PWD/.tools/venv/bin:$PATH"
exec node_modules/.bin/tsx "$@"
