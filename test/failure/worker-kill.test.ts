// Failure: the worker process is killed (SIGKILL) in the middle of link creation, while route
// writes are in flight, and started again. The link must converge to `up` with exactly the
// routes it needs (no duplicates: the interrupted writes are adopted, not repeated), and deleting
// it must remove every route it made (no leaks).
//
// Shape: the API and the hub run in the test process (an in-process runtime with roles api,hub),
// so agents stay connected and requests keep being answered while the worker is down; the worker
// role (link and route-table workflows, store and cloud activities) runs alone in a real child
// process, `node --import tsx controller/main.ts` with ROLES=worker, which is what gets SIGKILLed. The
// replacement is a new process with the same task queue, database and SECRET_KEY. Killing only the
// worker isolates what a kill mid-create can break (workflow progress and in-flight cloud calls);
// hub failover is covered by multi-active.test.ts.
//
// Clouds: an Alibaba VPC (the fake, with slow asynchronous route entries) linked to an AWS VPC
// (moto), each with two route tables and two CIDRs, so four routes per side. Route-write budgets
// are lowered (CLOUD_RATE_LIMITS) so the writes take seconds and the kill lands in the middle.
// The kill is timed on the Alibaba emulator's own request log (the first CreateRouteEntry or
// CreateRouteEntries), which is earlier and more exact than the link's events (cloud.routes_added
// is recorded only once a side's routes are all in place); the test then checks that at that
// moment the link was still provisioning and not every route was in place.
import { beforeAll, describe, expect, it } from 'vitest';
import { DescribeRouteTablesCommand, DescribeSecurityGroupsCommand } from '@aws-sdk/client-ec2';
import { startTestAgent } from '../helpers/agents';
import { FakeIpsecNetwork } from '../helpers/fake-ipsec';
import { registerAccounts } from '../helpers/clouds';
import { missing, withStack, type StackNeeds } from '../helpers/with-stack';
import { addGatewaySite, type GatewaySite } from '../fakes/aliyun';
import { MOTO_REGION, motoEc2Client, seedAwsSite, type SeededSite } from '../helpers/moto';
import { LogDir, dumpLogsOnFailure, startControllerProc, waitFor, type ControllerProc } from '../helpers/procs';
import type { GatewayBody, LinkBody, LinkWithEventsBody, RegisteredGatewayBody } from '../helpers/api-harness';
import { newSecretKey, parseSecretKey } from '../../lib/crypto';
import type { BudgetOverrides } from '../../cloud/budgets';

const secretKey = newSecretKey();
// The stack's controller is API and hub only; the workers are processes of their own (killed below).
// Route entries stay Pending for 1.5 s, so each Alibaba write is in flight for a while.
const needs: StackNeeds = { controller: { roles: ['api', 'hub'], secretKey: parseSecretKey(secretKey), heartbeatMs: 1000 }, clouds: { asyncDelayMs: 1500 }, accounts: false, name: 'fail-wk' };

const ALI_IP = '203.0.113.131';
const AWS_IP = '198.51.100.131';
/** Slow enough that 4 routes per side take seconds, fast enough for the test budget. */
const BUDGETS: BudgetOverrides = { aliyun: { routeWrite: 2 }, aws: { routeWrite: 1 } };

/** A gateway as GET /api/gateways/:id shows it, with the agent secret its registration answered. */
type Gw = GatewayBody & Pick<RegisteredGatewayBody, 'agentSecret'>;

describe.skipIf(missing(needs, 'worker-kill failure test'))('worker process SIGKILLed in the middle of link creation', () => {
  const s = withStack(needs);
  let logs: LogDir;
  const workers: ControllerProc[] = [];
  let ali: GatewaySite;
  let extraAliTable: string;
  let aws: SeededSite;

  const startWorker = async (name: string) => {
    const w = s.track(await startControllerProc({ name, logs, roles: ['worker'], temporalAddress: s.temporal.address, temporalNamespace: s.temporal.namespace, databaseUrl: s.db.url, taskQueue: s.taskQueue, secretKey, cloudRateLimits: BUDGETS }));
    workers.push(w);
    return w;
  };

  beforeAll(async () => {
    logs = new LogDir('fail-wk');
    s.onClose(() => logs.remove());
    await startWorker('worker-1');
  });

  const linkOf = async (id: string) => (await s.ctl.api<LinkWithEventsBody>('GET', `/api/links/${id}`)).body;

  /** Our routes as the emulators hold them: "<table>|<cidr>|<next hop>|<state>". */
  async function cloudRoutes(): Promise<{ aliyun: string[]; aws: string[] }> {
    const aliyun = [ali.systemTableId, extraAliTable].flatMap((t) =>
      s.clouds.aliyun.routeEntries(t).filter((e) => e.nextHopId === ali.instanceId).map((e) => `${t}|${e.destinationCidrBlock}|${e.nextHopId}|${e.status}`),
    );
    const ec2 = motoEc2Client(s.clouds.moto.endpoint, MOTO_REGION);
    try {
      const tables = (await ec2.send(new DescribeRouteTablesCommand({ RouteTableIds: [aws.mainRouteTableId, aws.routeTableId] }))).RouteTables!;
      const awsRoutes = tables.flatMap((t) => t.Routes!.filter((r) => r.InstanceId === aws.instanceId).map((r) => `${t.RouteTableId}|${r.DestinationCidrBlock}|${r.InstanceId}|${r.State}`));
      return { aliyun: aliyun.sort(), aws: awsRoutes.sort() };
    } finally {
      ec2.destroy();
    }
  }

  it('converges to up after a restart, with each route once, and deletes without leaking', async ({ onTestFailed }) => {
    onTestFailed(dumpLogsOnFailure(logs));
    const accounts = await registerAccounts(s.ctl, s.clouds);
    ali = addGatewaySite(s.clouds.aliyun, 31, { eip: ALI_IP });
    extraAliTable = s.clouds.aliyun.addRouteTable({ vpcId: ali.vpcId }).routeTableId;
    aws = await seedAwsSite(s.clouds.moto.endpoint, { cidr: '10.132.0.0/16', secondaryCidr: '10.133.0.0/16', publicIp: AWS_IP, name: 'wk' });
    const gws: Gw[] = [];
    for (const [name, provider, ip] of [['wk-ali', 'aliyun', ALI_IP], ['wk-aws', 'aws', AWS_IP]] as const) {
      const r = await s.ctl.api<RegisteredGatewayBody>('POST', '/api/gateways', { name, provider, region: provider === 'aws' ? MOTO_REGION : 'cn-hangzhou', publicIp: ip, account: accounts[provider] });
      expect(r.status).toBe(201);
      await expect.poll(async () => (await s.ctl.api<GatewayBody>('GET', `/api/gateways/${r.body.id}`)).body.state, { timeout: 30_000 }).toBe('ready');
      gws.push({ ...(await s.ctl.api<GatewayBody>('GET', `/api/gateways/${r.body.id}`)).body, agentSecret: r.body.agentSecret });
    }
    const [ga, gw] = gws as [Gw, Gw];
    const net = new FakeIpsecNetwork();
    s.track(await startTestAgent({ controllerUrl: s.ctl.agentUrl, gatewayId: ga.id, secret: ga.agentSecret, driver: net.driver(ALI_IP), publicIp: ALI_IP }));
    s.track(await startTestAgent({ controllerUrl: s.ctl.agentUrl, gatewayId: gw.id, secret: gw.agentSecret, driver: net.driver(AWS_IP), publicIp: AWS_IP }));
    await expect.poll(async () => (await Promise.all(gws.map(async (g) => (await s.ctl.api<GatewayBody>('GET', `/api/gateways/${g.id}`)).body.online))).every(Boolean), { timeout: 10_000 }).toBe(true);
    // Expected routes: AWS's CIDRs in both Alibaba tables, Alibaba's CIDRs in both AWS tables.
    const wantAli = [ali.systemTableId, extraAliTable].flatMap((t) => gw.cidrs.map((c) => `${t}|${c}|${ali.instanceId}|Available`)).sort();
    const wantAws = [aws.mainRouteTableId, aws.routeTableId].flatMap((t) => ga.cidrs.map((c) => `${t}|${c}|${aws.instanceId}|active`)).sort();
    expect(wantAli).toHaveLength(4);
    expect(wantAws).toHaveLength(4);

    // One by one, or batched when writes queue behind a busy table.
    const createRouteCalls = () => s.clouds.aliyun.calls.filter((c) => c.api === 'CreateRouteEntry' || c.api === 'CreateRouteEntries').length;
    const r = await s.ctl.api<LinkBody>('POST', '/api/links', { a: ga.id, b: gw.id });
    expect(r.status).toBe(202);
    const linkId = r.body.id;

    // Kill as soon as the first route write reached a cloud.
    await waitFor('the first CreateRouteEntry (or CreateRouteEntries)', async () => (createRouteCalls() > 0 ? true : undefined), 30_000, 10);
    await workers[0]!.kill('SIGKILL');
    const atKill = { link: await linkOf(linkId), routes: await cloudRoutes(), claims: await s.ctl.db.routeClaim.findMany({ where: { linkId } }) };
    console.log(
      `[worker-kill] killed with link ${atKill.link.state}; claims: ${atKill.claims.map((c) => c.state).join(',')}; ` +
        `cloud routes: aliyun ${atKill.routes.aliyun.length}/4 (${atKill.routes.aliyun.map((x) => x.split('|')[3]).join(',')}), aws ${atKill.routes.aws.length}/4`,
    );
    // The kill really landed mid-create: not up, and not every route in place.
    expect(atKill.link.state).toBe('provisioning');
    expect(atKill.routes.aliyun.filter((x) => x.endsWith('|Available')).length + atKill.routes.aws.length).toBeLessThan(8);
    expect(atKill.claims.length).toBeGreaterThan(0);

    const restartedAt = Date.now();
    await startWorker('worker-2');
    const link = await waitFor(
      'the link to settle after the restart',
      async () => {
        const l = await linkOf(linkId);
        return l.state === 'up' || l.state === 'failed' ? l : undefined;
      },
      90_000,
      200,
    );
    console.log(`[worker-kill] link ${link.state} ${Date.now() - restartedAt} ms after the new worker started`);
    expect(link.stateReason).toBeNull();
    expect(link.state).toBe('up');
    expect(link.events.map((e) => e.type)).not.toContain('link.failed');

    // Exactly the routes the link needs, each once, with the right next hop.
    const routes = await cloudRoutes();
    expect(routes.aliyun).toEqual(wantAli);
    expect(routes.aws).toEqual(wantAws);
    // Ownership records: one per (table, CIDR), all present, none of them a duplicate.
    const claims = await s.ctl.db.routeClaim.findMany({ where: { linkId } });
    const keys = claims.map((c) => `${c.routeTableId}|${c.destinationCidr}`);
    expect(new Set(keys).size).toBe(keys.length);
    expect(keys.sort()).toEqual([...wantAli, ...wantAws].map((x) => x.split('|').slice(0, 2).join('|')).sort());
    expect(claims.every((c) => c.state === 'present' && !c.preexisting)).toBe(true);

    // Delete: nothing of ours may remain in either cloud.
    expect((await s.ctl.api('DELETE', `/api/links/${linkId}`)).status).toBe(202);
    await expect.poll(async () => (await linkOf(linkId)).state, { timeout: 60_000 }).toBe('deleted');
    expect(await cloudRoutes()).toEqual({ aliyun: [], aws: [] });
    const after = await s.ctl.db.routeClaim.findMany({ where: { linkId } });
    expect(after.map((c) => `${c.state}|${c.activeKey}`)).toEqual(after.map(() => 'deleted|null'));
    expect(s.clouds.aliyun.securityGroupRules(ali.securityGroupId).filter((x) => x.sourceCidrIp?.startsWith(AWS_IP))).toEqual([]);
    const ec2 = motoEc2Client(s.clouds.moto.endpoint, MOTO_REGION);
    const sg = (await ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: [aws.securityGroupId] }))).SecurityGroups![0]!;
    ec2.destroy();
    expect(sg.IpPermissions!.filter((p) => p.IpRanges?.some((x) => x.CidrIp === `${ALI_IP}/32`))).toEqual([]);
    // The killed process is really gone (its whole process group).
    await expect.poll(() => workers[0]!.groupAlive(), { timeout: 5_000 }).toBe(false);
  }, 240_000);
});
