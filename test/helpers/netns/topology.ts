// Builds the fixture's namespaces and links. Shape:
//
//   root ns: <id>-ctl (controllerIp/32, /32 routes to each public IP) ──┐
//   <id>-inet: bridge "br0" ─────────────────────────────────────────────┴── one port per site
//   plain site:   <id>-<site>-gw  pub = publicIp/32, on-link routes to both public ranges + controller
//   behindNat:    <id>-<site>-nat pub = publicIp/32, stateless 1:1 NAT to 172.31.<i>.10 on "inside"
//                 <id>-<site>-gw  pub = 172.31.<i>.10/24, default route via the NAT namespace
//   masquerade:   the same namespaces, but the NAT masquerades whatever leaves "pub" and lets in only
//                 replies (conntrack established/related): the site can only initiate
//   every site:   gw "lan" = first LAN address ── host "eth0" = second LAN address, default via gw
//   onlyThroughProxy: the gateway namespace drops everything to the controller address
//   proxy:        <id>-proxy      pub = proxy publicIp/32, on-link routes like a plain gateway (tinyproxy)
//
// The bridge sits in its own namespace so that the root namespace's firewall (e.g. Docker's FORWARD
// drop with br_netfilter) never sees the fixture's traffic. Nothing routes between LANs: a gateway
// has no route to another site's LAN until charon installs one via ipsec0.
import { ipBatch, nsShell, run } from './exec';
import { inetNsName, PUBLIC_RANGES, rootLinkName, type ProxyPlan, type SitePlan } from './plan';

const NAT_TABLE = 'netns_fixture_nat';
const EGRESS_TABLE = 'netns_fixture_egress';

/** Sysctls for namespaces that route: forwarding on, reverse-path filter off (NAT and tunnels are asymmetric). */
const ROUTER_SYSCTLS = [
  'echo 1 > /proc/sys/net/ipv4/ip_forward',
  'for f in /proc/sys/net/ipv4/conf/*/rp_filter; do echo 0 > "$f"; done',
  // Removing a primary address must not take the other addresses with it (see DESIGN §3 pitfalls).
  'echo 1 > /proc/sys/net/ipv4/conf/all/promote_secondaries',
  'echo 1 > /proc/sys/net/ipv4/conf/default/promote_secondaries',
].join('\n');

export function allNamespaces(id: string, plans: readonly SitePlan[], proxy?: ProxyPlan): string[] {
  const names = [inetNsName(id)];
  for (const p of plans) {
    names.push(p.gwNs, p.hostNs);
    if (p.natNs !== undefined) names.push(p.natNs);
  }
  if (proxy !== undefined) names.push(proxy.ns);
  return names;
}

/** The nft ruleset of a 1:1 NAT namespace: stateless, so a changed mapping needs no conntrack flush. */
export function natRuleset(publicIp: string, privateIp: string): string {
  return [
    `table ip ${NAT_TABLE} {}`,
    `delete table ip ${NAT_TABLE}`,
    `table ip ${NAT_TABLE} {`,
    '  chain pre {',
    '    type filter hook prerouting priority raw; policy accept;',
    `    ip daddr ${publicIp} ip daddr set ${privateIp} notrack`,
    `    ip saddr ${privateIp} notrack`,
    '  }',
    '  chain post {',
    '    type filter hook postrouting priority srcnat; policy accept;',
    `    ip saddr ${privateIp} ip saddr set ${publicIp}`,
    '  }',
    '}',
    '',
  ].join('\n');
}

/**
 * The nft ruleset of a masquerading NAT namespace, like a home or data-centre NAT router. It names
 * no address: masquerade takes the source from "pub", so a new public address needs no rule change,
 * and the kernel flushes the conntrack entries masqueraded to an address when that address is
 * deleted (which is what breaks flows bound to the old mapping). Inbound, only packets of flows
 * the inside started (and ICMP errors about them) pass; everything else is dropped silently.
 */
export function masqueradeRuleset(): string {
  return [
    `table ip ${NAT_TABLE} {}`,
    `delete table ip ${NAT_TABLE}`,
    `table ip ${NAT_TABLE} {`,
    '  chain forward {',
    '    type filter hook forward priority filter; policy drop;',
    '    ct state established,related accept',
    '    iifname "inside" oifname "pub" accept',
    '  }',
    '  chain input {',
    '    type filter hook input priority filter; policy drop;',
    '    iifname { "lo", "inside" } accept',
    '    ct state established,related accept',
    '  }',
    '  chain postrouting {',
    '    type nat hook postrouting priority srcnat; policy accept;',
    '    oifname "pub" masquerade',
    '  }',
    '}',
    '',
  ].join('\n');
}

/**
 * The nft ruleset of an onlyThroughProxy gateway: nothing from the gateway itself (output) or its
 * LAN (forward) reaches the controller address directly. Dropped, not rejected, as a corporate
 * firewall does, so a direct attempt hangs rather than failing fast. IKE/ESP to peers is untouched.
 */
export function egressRuleset(controllerIp: string): string {
  return [
    `table ip ${EGRESS_TABLE} {}`,
    `delete table ip ${EGRESS_TABLE}`,
    `table ip ${EGRESS_TABLE} {`,
    '  chain output {',
    '    type filter hook output priority filter; policy accept;',
    `    ip daddr ${controllerIp} drop`,
    '  }',
    '  chain forward {',
    '    type filter hook forward priority filter; policy accept;',
    `    ip daddr ${controllerIp} drop`,
    '  }',
    '}',
    '',
  ].join('\n');
}

async function nft(ns: string, ruleset: string): Promise<void> {
  await run('ip', ['netns', 'exec', ns, 'nft', '-f', '-'], { input: ruleset });
}

function onLinkRoutes(controllerIp: string): string[] {
  return [...PUBLIC_RANGES.map((r) => `route add ${r} dev pub scope link`), `route add ${controllerIp}/32 dev pub scope link`];
}

function routerScript(batch: readonly string[]): string {
  return `${ROUTER_SYSCTLS}\nip -batch - <<'EOF'\n${batch.join('\n')}\nEOF\n`;
}

export async function buildTopology(id: string, controllerIp: string, plans: readonly SitePlan[], proxy?: ProxyPlan): Promise<void> {
  const inet = inetNsName(id);
  const rootLink = rootLinkName(id);

  // Root namespace: create every namespace and every veth pair directly inside its namespaces.
  const root: string[] = allNamespaces(id, plans, proxy).map((ns) => `netns add ${ns}`);
  root.push(`link add name ${rootLink} type veth peer name ctl netns ${inet}`);
  for (const p of plans) {
    const outer = p.natNs ?? p.gwNs;
    root.push(`link add name pub netns ${outer} type veth peer name s${p.index} netns ${inet}`);
    if (p.natNs !== undefined) root.push(`link add name pub netns ${p.gwNs} type veth peer name inside netns ${p.natNs}`);
    root.push(`link add name lan netns ${p.gwNs} type veth peer name eth0 netns ${p.hostNs}`);
  }
  if (proxy !== undefined) root.push(`link add name pub netns ${proxy.ns} type veth peer name px netns ${inet}`);
  root.push(`addr add ${controllerIp}/32 dev ${rootLink}`, `link set dev ${rootLink} up`);
  for (const p of plans) root.push(`route add ${p.spec.publicIp}/32 dev ${rootLink} src ${controllerIp}`);
  if (proxy !== undefined) root.push(`route add ${proxy.publicIp}/32 dev ${rootLink} src ${controllerIp}`);
  await ipBatch(root);

  const inetBatch = ['link set dev lo up', 'link add name br0 type bridge', 'link set dev br0 up', 'link set dev ctl master br0', 'link set dev ctl up'];
  for (const p of plans) inetBatch.push(`link set dev s${p.index} master br0`, `link set dev s${p.index} up`);
  if (proxy !== undefined) inetBatch.push('link set dev px master br0', 'link set dev px up');

  const jobs = [ipBatch(inetBatch, inet), ...plans.map(async (p) => configureSite(p, controllerIp))];
  // The proxy is an end host, not a router: no forwarding in its namespace.
  if (proxy !== undefined) {
    jobs.push(ipBatch(['link set dev lo up', 'link set dev pub up', `addr add ${proxy.publicIp}/32 dev pub`, ...onLinkRoutes(controllerIp)], proxy.ns));
  }
  await Promise.all(jobs);
}

async function configureSite(p: SitePlan, controllerIp: string): Promise<void> {
  const lan = ['link set dev lan up', `addr add ${p.gwLanIp}/${p.lanPrefix} dev lan`];
  const host = ['link set dev lo up', 'link set dev eth0 up', `addr add ${p.hostIp}/${p.lanPrefix} dev eth0`, `route add default via ${p.gwLanIp}`];
  const jobs: Promise<unknown>[] = [ipBatch(host, p.hostNs)];
  if (p.natNs === undefined) {
    const gw = ['link set dev lo up', 'link set dev pub up', `addr add ${p.spec.publicIp}/32 dev pub`, ...onLinkRoutes(controllerIp), ...lan];
    jobs.push(nsShell(p.gwNs, routerScript(gw)));
  } else {
    const natNs = p.natNs;
    const inside = p.natInsideIp as string;
    const gw = ['link set dev lo up', 'link set dev pub up', `addr add ${p.gwUplinkIp}/24 dev pub`, `route add default via ${inside}`, ...lan];
    const nat = [
      'link set dev lo up',
      'link set dev pub up',
      `addr add ${p.spec.publicIp}/32 dev pub`,
      ...onLinkRoutes(controllerIp),
      'link set dev inside up',
      `addr add ${inside}/24 dev inside`,
      // Like a VPC router: ICMP errors for the LAN find their way back, so failed probes fail fast.
      `route add ${p.spec.lanCidr} via ${p.gwUplinkIp}`,
    ];
    jobs.push(nsShell(p.gwNs, routerScript(gw)));
    jobs.push(
      (async () => {
        await nsShell(natNs, routerScript(nat));
        await nft(natNs, p.nat === 'masquerade' ? masqueradeRuleset() : natRuleset(p.spec.publicIp, p.gwUplinkIp));
      })(),
    );
  }
  if (p.spec.onlyThroughProxy === true) jobs.push(nft(p.gwNs, egressRuleset(controllerIp)));
  await Promise.all(jobs);
}

/**
 * Moves a site to a new public address; the old one disappears after the new one is in place. For a
 * masquerading NAT, new flows keep the old address until it is deleted (masquerade picks the first
 * address of "pub"), and deleting it makes the kernel flush the entries masqueraded to it; that
 * flush runs in a kernel work queue, so wait until conntrack no longer mentions the old address.
 */
export async function movePublicIp(id: string, controllerIp: string, p: SitePlan, oldIp: string, newIp: string): Promise<void> {
  const rootLink = rootLinkName(id);
  const outer = p.natNs ?? p.gwNs;
  await ipBatch([`addr add ${newIp}/32 dev pub`], outer);
  if (p.natNs !== undefined && p.nat === 'one-to-one') await nft(p.natNs, natRuleset(newIp, p.gwUplinkIp));
  await ipBatch([`route replace ${newIp}/32 dev ${rootLink} src ${controllerIp}`, `route del ${oldIp}/32 dev ${rootLink}`]);
  await ipBatch([`addr del ${oldIp}/32 dev pub`], outer);
  if (p.natNs !== undefined && p.nat === 'masquerade') await waitForConntrackFlush(p.natNs, oldIp);
}

async function waitForConntrackFlush(ns: string, oldIp: string, timeoutMs = 2_000): Promise<void> {
  // /proc/net/nf_conntrack lists the reading process's namespace; kernels without it skip the wait.
  const script = `f=/proc/net/nf_conntrack; [ -r $f ] || exit 0; i=0; while grep -qF 'dst=${oldIp} ' $f; do [ $i -ge ${timeoutMs / 10} ] && exit 1; sleep 0.01; i=$((i+1)); done`;
  const result = await nsShell(ns, script, { allowFailure: true });
  if (result.code !== 0) throw new Error(`conntrack entries for ${oldIp} in ${ns} survived the address change for ${timeoutMs} ms`);
}
