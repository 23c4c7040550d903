#!/bin/bash
# Entrypoint of the agent container: starts charon and the agent, forwards SIGTERM/SIGINT, and
# exits non-zero when either dies on its own so the orchestrator restarts the container.
# A bash script rather than a Node supervisor: bash is in every Debian base, `wait -n -p` (bash 5.1+)
# says which child ended, and a supervisor in the agent's own process could not outlive its crash.
set -uo pipefail

log() { printf 'ipsec-mesh-agent: %s\n' "$*" >&2; }

# Userspace ESP (kernel-libipsec, a TUN device) by default: it works on every host, including
# those whose kernel lacks ESP. KERNEL_LIBIPSEC=no uses the kernel's IPsec (faster) instead.
conf=/run/ipsec-mesh/strongswan.conf
mkdir -p /run/ipsec-mesh
case "${KERNEL_LIBIPSEC:-yes}" in
  no | false | 0) cp /etc/strongswan.conf "$conf" ;;
  *)
    if [ ! -c /dev/net/tun ]; then
      log "/dev/net/tun is missing: run with --device /dev/net/tun (userspace ESP), or set KERNEL_LIBIPSEC=no on a host with kernel IPsec"
      exit 1
    fi
    # Before kernel-netlink: the first loaded kernel interface handles the SAs (measured order).
    sed 's/^\(  load = .*\) kernel-netlink /\1 kernel-libipsec kernel-netlink /' /etc/strongswan.conf >"$conf"
    grep -q kernel-libipsec "$conf" || { log "could not add kernel-libipsec to the plugin list of /etc/strongswan.conf"; exit 1; }
    ;;
esac
export STRONGSWAN_CONF=$conf

# A container restarted in place keeps its files: a stale pid file would stop charon from starting.
rm -f /var/run/charon.pid /var/run/charon.vici

/usr/lib/ipsec/charon &
charon=$!
/usr/local/bin/node /app/agent.js "$@" &
agent=$!

# On a signal the agent goes first (it closes its VICI session and controller connection), then
# charon; the container's exit code is the agent's.
stopping=
trap 'stopping=1; kill -TERM "$agent" 2>/dev/null' TERM INT

ended=
while [ -z "${ended:-}" ]; do
  # Returns early (status > 128, $ended unset) when a trapped signal arrives: wait again.
  wait -n -p ended "$charon" "$agent"
  code=$?
done

if [ "$ended" = "$agent" ]; then
  [ -n "$stopping" ] || log "agent exited (status $code); stopping charon"
  kill -TERM "$charon" 2>/dev/null
  wait "$charon"
else
  log "charon exited (status $code); stopping the agent"
  kill -TERM "$agent" 2>/dev/null
  wait "$agent"
  [ -n "$stopping" ] || [ "$code" -ne 0 ] || code=1
fi
# An unprompted exit is a failure even when the child said 0: the orchestrator must restart us.
if [ -z "$stopping" ] && [ "$code" -eq 0 ]; then code=1; fi
exit "$code"
