// Builds the fixture's namespaces and links. Shape:
//
//   root ns: <id>-ctl (controllerIp/32, /32 routes to each public IP) ──┐
//   <id>-inet: bridge "br0" ─────────────────────────────────────────────┴── one port per site
//   plain site:   <id>-<site>-gw  pub = publicIp/32, on-link routes to both public ranges + controller
//   behindNat:    <id>-<site>-nat pub = publicIp/32, stateless 1:1 NAT to 172.31.<i>.10 on "inside"
//                 <id>-<site>-gw  pub = 172.31.<i>.10/24, default route via the NAT namespace
//   every site:   gw "lan" = first LAN address ── host "eth0" = second LAN address, default via gw
//
// The bridge sits in its own namespace so that the root namespace's firewall (e.g. Docker's FORWARD
// drop with br_netfilter) never sees the fixture's traffic. Nothing routes between LANs: a gateway
// has no route to another site's LAN until charon installs one via ipsec0.
import { ipBatch, nsShell, run } from './exec';
import { inetNsName, PUBLIC_RANGES, rootLinkName, type SitePlan } from './plan';

const NAT_TABLE = 'netns_fixture_nat';

/** Sysctls for namespaces that route: forwarding on, reverse-path filter off (NAT and tunnels are asymmetric). */
const ROUTER_SYSCTLS = [
  'echo 1 > /proc/sys/net/ipv4/ip_forward',
  'for f in /proc/sys/net/ipv4/conf/*/rp_filter; do echo 0 > "$f"; done',
  // Removing a primary address must not take the other addresses with it (see DESIGN §3 pitfalls).
  'echo 1 > /proc/sys/net/ipv4/conf/all/promote_secondaries',
  'echo 1 > /proc/sys/net/ipv4/conf/default/promote_secondaries',
].join('\n');

export function allNamespaces(id: string, plans: readonly SitePlan[]): string[] {
  const names = [inetNsName(id)];
  for (const p of plans) {
    names.push(p.gwNs, p.hostNs);
    if (p.natNs !== undefined) names.push(p.natNs);
  }
  return names;
}

/** The nft ruleset of a NAT namespace: stateless, so a changed mapping needs no conntrack flush. */
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

function onLinkRoutes(controllerIp: string): string[] {
  return [...PUBLIC_RANGES.map((r) => `route add ${r} dev pub scope link`), `route add ${controllerIp}/32 dev pub scope link`];
}

function routerScript(batch: readonly string[]): string {
  return `${ROUTER_SYSCTLS}\nip -batch - <<'EOF'\n${batch.join('\n')}\nEOF\n`;
}

export async function buildTopology(id: string, controllerIp: string, plans: readonly SitePlan[]): Promise<void> {
  const inet = inetNsName(id);
  const rootLink = rootLinkName(id);

  // Root namespace: create every namespace and every veth pair directly inside its namespaces.
  const root: string[] = allNamespaces(id, plans).map((ns) => `netns add ${ns}`);
  root.push(`link add name ${rootLink} type veth peer name ctl netns ${inet}`);
  for (const p of plans) {
    const outer = p.natNs ?? p.gwNs;
    root.push(`link add name pub netns ${outer} type veth peer name s${p.index} netns ${inet}`);
    if (p.natNs !== undefined) root.push(`link add name pub netns ${p.gwNs} type veth peer name inside netns ${p.natNs}`);
    root.push(`link add name lan netns ${p.gwNs} type veth peer name eth0 netns ${p.hostNs}`);
  }
  root.push(`addr add ${controllerIp}/32 dev ${rootLink}`, `link set dev ${rootLink} up`);
  for (const p of plans) root.push(`route add ${p.spec.publicIp}/32 dev ${rootLink} src ${controllerIp}`);
  await ipBatch(root);

  const inetBatch = ['link set dev lo up', 'link add name br0 type bridge', 'link set dev br0 up', 'link set dev ctl master br0', 'link set dev ctl up'];
  for (const p of plans) inetBatch.push(`link set dev s${p.index} master br0`, `link set dev s${p.index} up`);

  await Promise.all([ipBatch(inetBatch, inet), ...plans.map(async (p) => configureSite(p, controllerIp))]);
}

async function configureSite(p: SitePlan, controllerIp: string): Promise<void> {
  const lan = ['link set dev lan up', `addr add ${p.gwLanIp}/${p.lanPrefix} dev lan`];
  const host = ['link set dev lo up', 'link set dev eth0 up', `addr add ${p.hostIp}/${p.lanPrefix} dev eth0`, `route add default via ${p.gwLanIp}`];
  const jobs: Promise<unknown>[] = [ipBatch(host, p.hostNs)];
  if (p.natNs === undefined) {
    const gw = ['link set dev lo up', 'link set dev pub up', `addr add ${p.spec.publicIp}/32 dev pub`, ...onLinkRoutes(controllerIp), ...lan];
    jobs.push(nsShell(p.gwNs, routerScript(gw)));
  } else {
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
        await nsShell(p.natNs as string, routerScript(nat));
        await run('ip', ['netns', 'exec', p.natNs as string, 'nft', '-f', '-'], { input: natRuleset(p.spec.publicIp, p.gwUplinkIp) });
      })(),
    );
  }
  await Promise.all(jobs);
}

/** Moves a site to a new public address; the old one disappears after the new one is in place. */
export async function movePublicIp(id: string, controllerIp: string, p: SitePlan, oldIp: string, newIp: string): Promise<void> {
  const rootLink = rootLinkName(id);
  const outer = p.natNs ?? p.gwNs;
  await ipBatch([`addr add ${newIp}/32 dev pub`], outer);
  if (p.natNs !== undefined) {
    await run('ip', ['netns', 'exec', p.natNs, 'nft', '-f', '-'], { input: natRuleset(newIp, p.gwUplinkIp) });
  }
  await ipBatch([`route replace ${newIp}/32 dev ${rootLink} src ${controllerIp}`, `route del ${oldIp}/32 dev ${rootLink}`]);
  await ipBatch([`addr del ${oldIp}/32 dev pub`], outer);
}
