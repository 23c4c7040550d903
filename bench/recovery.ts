// npm run bench:recovery — how fast a running link follows change, with real charon and agents on
// the namespace fixture:
//   - public-IP change: site vpc's public address moves (as when its EIP is re-associated); timed
//     from the move until a TCP connection from dc's LAN reaches vpc's LAN again. Nobody calls the
//     API: the agent notices (metadata service, checked every ADDRESS_CHECK_MS, default 2 s),
//     redials, and the link workflow re-points the peer and re-establishes the tunnel.
//   - CIDR change: PATCH /api/links/:id adds a subnet; timed from the PATCH until TCP reaches a host
//     in that subnet through the tunnel.
// Each over BENCH_RUNS runs (default 10). Targets for the IP change: p50 ≤ 5 s, p95 ≤ 10 s.
import { netnsSupport } from '../test/helpers/netns';
import { temporalCliAvailable } from '../test/helpers/temporal';
import { startChangeStack } from '../test/helpers/change-stack';
import { percentile, summarize } from './stats';

const RUNS = Number(process.env.BENCH_RUNS ?? 10);
const CHECK_MS = Number(process.env.ADDRESS_CHECK_MS ?? 2000);

async function main(): Promise<void> {
  const net = await netnsSupport();
  const cli = temporalCliAvailable();
  if (!net.ok || !cli.ok) {
    console.error(`bench:recovery needs root, strongSwan and the Temporal CLI: ${!net.ok ? net.reason : (cli as { reason: string }).reason}`);
    process.exit(1);
  }
  const dcLan = '10.91.0.0/24';
  const c = await startChangeStack({ id: 'brc', dcIp: '198.51.100.91', vpcIp: '203.0.113.91', dcLan, vpcLan: '10.92.0.0/24', dcExtra: '10.93.0.0/24' }, { addressCheckMs: CHECK_MS });
  const api = c.stack.controller.api.bind(c.stack.controller);
  const f = c.stack.fixture;
  const waitUp = async (id: string): Promise<void> => {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const l = await api<{ state: string; stateReason: string | null }>('GET', `/api/links/${id}`);
      if (l.body.state === 'up') return;
      if (Date.now() > deadline) throw new Error(`link ${id} stuck in ${l.body.state}: ${l.body.stateReason}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  const ipTimes: number[] = [];
  const cidrTimes: number[] = [];
  try {
    const r = await api<{ id: string }>('POST', '/api/links', { a: c.dcId, b: c.vpcId, cidrs: { a: [dcLan] } });
    if (r.status !== 202) throw new Error(`POST /api/links: ${r.status} ${JSON.stringify(r.body)}`);
    const id = r.body.id;
    await waitUp(id);
    const vpcHost = f.site('vpc').hostIp;
    await f.waitForTcp('dc', vpcHost, 7000, { timeoutMs: 20_000, intervalMs: 20 });

    console.log(`public-IP change (agent checks every ${CHECK_MS} ms):`);
    for (let i = 0; i < RUNS; i++) {
      const to = `203.0.113.${200 + i}`;
      const t0 = Date.now();
      await c.moveVpc(to);
      await f.waitForTcp('dc', vpcHost, 7000, { timeoutMs: 30_000, intervalMs: 20 });
      ipTimes.push(Date.now() - t0);
      process.stdout.write(`  run ${String(i + 1).padStart(2)}/${RUNS}: → ${to}, traffic restored after ${ipTimes.at(-1)} ms\n`);
      await waitUp(id);
      // Let the change settle (pruning, events) so runs do not overlap; then a random phase
      // against the agent's check interval, as a real move would have.
      await new Promise((res) => setTimeout(res, 500 + Math.floor(Math.random() * CHECK_MS)));
    }

    console.log('CIDR change (PATCH adds a subnet):');
    for (let i = 0; i < RUNS; i++) {
      const narrow = await api('PATCH', `/api/links/${id}`, { cidrs: { a: [dcLan] } });
      if (narrow.status !== 202 && narrow.status !== 200) throw new Error(`PATCH: ${narrow.status} ${JSON.stringify(narrow.body)}`);
      await waitUp(id);
      if (await f.tcpProbe('vpc', c.dcExtraHost, 7000, 1000)) throw new Error('the extra subnet is still reachable after it was removed from the link');
      const t0 = Date.now();
      const wide = await api('PATCH', `/api/links/${id}`, { cidrs: { a: [dcLan, '10.93.0.0/24'] } });
      if (wide.status !== 202) throw new Error(`PATCH: ${wide.status} ${JSON.stringify(wide.body)}`);
      await f.waitForTcp('vpc', c.dcExtraHost, 7000, { timeoutMs: 30_000, intervalMs: 10 });
      cidrTimes.push(Date.now() - t0);
      process.stdout.write(`  run ${String(i + 1).padStart(2)}/${RUNS}: new subnet reachable after ${cidrTimes.at(-1)} ms\n`);
      await waitUp(id);
    }
  } finally {
    await c.close();
  }
  console.log('');
  console.log(summarize('public-IP change → traffic restored', ipTimes));
  console.log(summarize('CIDR change → traffic on the new CIDR', cidrTimes));
  const p50 = percentile(ipTimes, 50);
  const p95 = percentile(ipTimes, 95);
  console.log(`target (IP change): p50 ≤ 5000 ms, p95 ≤ 10000 ms → ${p50 <= 5000 && p95 <= 10_000 ? 'met' : 'NOT met'} (p50 ${p50} ms, p95 ${p95} ms)`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
