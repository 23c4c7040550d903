#!/usr/bin/env bash
# npm test: install what is missing (as root also strongSwan and tinyproxy, so the real-tunnel tests run),
# type-check, lint, then run every test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
if [ "$(id -u)" = 0 ]; then
  bash scripts/ensure-test-tools.sh
else
  echo "[test] not root: strongSwan and tinyproxy are not installed and the real-tunnel tests will say they are skipped"
fi
export PATH="$PWD/.tools/venv/bin:$PATH"
echo "[test] type-checking…"
node_modules/.bin/tsc --noEmit -p tsconfig.json
echo "[test] linting…"
node_modules/.bin/eslint --max-warnings 0 .
echo "[test] running tests…"
# Vite warns that a future default config loader will not read an ESM-syntax .ts config in a
# CommonJS package; nothing is wrong with it today, and the notice repeats once per project.
export VITE_CONFIG_NATIVE_IGNORE_WARNING=true
exec node_modules/.bin/vitest run "$@"
