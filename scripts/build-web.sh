#!/usr/bin/env bash
# Builds the console (web/ → web/dist) when it is missing or older than any of its sources, so
# `npm start` serves the console that matches the checkout. `--force` builds regardless.
set -euo pipefail
cd "$(dirname "$0")/.."
stamp=web/dist/index.html
if [ "${1:-}" != --force ] && [ -f "$stamp" ] && [ -z "$(find web package-lock.json -path web/dist -prune -o -path web/node_modules -prune -o -path web/docs -prune -o -type f -newer "$stamp" -print -quit)" ]; then
  exit 0
fi
printf '[setup] building the console (web/ → web/dist)…\n'
node_modules/.bin/vite build --config web/vite.config.ts --logLevel warn
