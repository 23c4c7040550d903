#!/usr/bin/env bash
# Makes sure strongSwan (charon + swanctl) and nftables are installed for the tunnel tests.
# Silent when everything is present; needs root to install; never touches anything else.
set -euo pipefail

# Non-root shells often lack /usr/sbin in PATH, so look there too.
have() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ] || [ -x "/sbin/$1" ]; }

missing=()
[ -x /usr/lib/ipsec/charon ] || missing+=(charon)
have swanctl || missing+=(swanctl)
have nft || missing+=(nft)
have ip || missing+=(ip)
# Userspace ESP and the control socket come from plugins that live in separate packages.
for plugin in kernel-libipsec vici openssl; do
  [ -e "/usr/lib/ipsec/plugins/libstrongswan-$plugin.so" ] || missing+=("$plugin plugin")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "ensure-strongswan: ${missing[*]} missing, but not root: not installing (tunnel tests will be skipped)." >&2
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure-strongswan: ${missing[*]} missing and no apt-get here: install strongSwan and nftables yourself." >&2
  exit 1
fi

packages=(strongswan-charon strongswan-swanctl libcharon-extra-plugins libstrongswan-standard-plugins nftables iproute2)
export DEBIAN_FRONTEND=noninteractive
echo "ensure-strongswan: installing ${packages[*]} (missing: ${missing[*]})" >&2
# The package lists are usually fresh enough; refresh them only when the first attempt fails.
if ! apt-get install -y --no-install-recommends "${packages[@]}" >/dev/null; then
  apt-get update >/dev/null
  apt-get install -y --no-install-recommends "${packages[@]}" >/dev/null
fi
