#!/usr/bin/env bash
# Makes sure the tools of the real-network tests are installed: strongSwan (charon + swanctl),
# nftables, iproute2 and tinyproxy (the HTTP CONNECT proxy of the namespace fixture), Debian's
# chromium for the console's browser tests (`npx playwright install` cannot download here), and
# podman, runc and mmdebstrap for the container images and their tests (DESIGN.md §3), and nginx
# (nginx-light) for the Compose front's test (test/deploy/front.test.ts). Silent
# when everything is present; needs root to install; never starts or enables a system service.
set -euo pipefail

# Non-root shells often lack /usr/sbin in PATH, so look there too.
have() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ] || [ -x "/sbin/$1" ]; }

missing=()
[ -x /usr/lib/ipsec/charon ] || missing+=(charon)
have swanctl || missing+=(swanctl)
have nft || missing+=(nft)
have ip || missing+=(ip)
have tinyproxy || missing+=(tinyproxy)
# CHROMIUM_PATH points the browser tests at another build; then Debian's is not needed.
[ -x "${CHROMIUM_PATH:-/usr/bin/chromium}" ] || missing+=(chromium)
# The images (scripts/images.sh): crun cannot run here, so runc; the base image comes from mmdebstrap.
have podman || missing+=(podman)
have runc || missing+=(runc)
have mmdebstrap || missing+=(mmdebstrap)
have nginx || missing+=(nginx)
# Userspace ESP and the control socket come from plugins that live in separate packages.
for plugin in kernel-libipsec vici openssl; do
  [ -e "/usr/lib/ipsec/plugins/libstrongswan-$plugin.so" ] || missing+=("$plugin plugin")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "ensure-test-tools: ${missing[*]} missing, but not root: not installing (tunnel, browser and container tests will be skipped)." >&2
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure-test-tools: ${missing[*]} missing and no apt-get here: install strongSwan, nftables, tinyproxy, chromium, podman, runc, mmdebstrap and nginx yourself." >&2
  exit 1
fi

packages=(strongswan-charon strongswan-swanctl libcharon-extra-plugins libstrongswan-standard-plugins nftables iproute2 tinyproxy chromium podman runc mmdebstrap nginx-light)
export DEBIAN_FRONTEND=noninteractive
echo "ensure-test-tools: installing ${packages[*]} (missing: ${missing[*]})" >&2

# Debian's tinyproxy package starts a system proxy (port 8888, every interface) on install. The
# tests run their own, in a namespace, so forbid service starts for the length of the install
# with a policy-rc.d (honoured by invoke-rc.d and deb-systemd-invoke), unless one already exists.
policy=/usr/sbin/policy-rc.d
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\n# Written by ensure-test-tools.sh for the length of one apt-get install.\nexit 101\n' >"$policy"
  chmod 755 "$policy"
  trap 'rm -f "$policy"' EXIT
fi

# The package lists are usually fresh enough; refresh them only when the first attempt fails.
if ! apt-get install -y --no-install-recommends "${packages[@]}" >/dev/null; then
  apt-get update >/dev/null
  apt-get install -y --no-install-recommends "${packages[@]}" >/dev/null
fi

# Nothing may run or start at boot because of the install: stop and disable the system services
# (tinyproxy's proxy on 8888, nginx's default site on 80) whatever policy-rc.d said (an existing
# one may allow starts). The tests run their own, with their own configuration.
for service in tinyproxy nginx; do
  if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
    systemctl disable --now "$service.service" >/dev/null 2>&1 || true
  else
    command -v deb-systemd-helper >/dev/null 2>&1 && deb-systemd-helper disable "$service.service" >/dev/null 2>&1 || true
    [ -x "/etc/init.d/$service" ] && "/etc/init.d/$service" stop >/dev/null 2>&1 || true
  fi
  command -v update-rc.d >/dev/null 2>&1 && update-rc.d "$service" disable >/dev/null 2>&1 || true
done
exit 0
