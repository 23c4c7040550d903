// The store (store/) against real SQLite and PostgreSQL databases: typed records from the JSON
// columns, the raw statements of the hot paths (claims, state writes, events, presence) written
// portably, transactions that roll back, and the recorded delete intent that later state writes
// cannot overwrite.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStore, CorruptRowError, DuplicateError, type Store } from '../../store';
import type { CloudRef } from '../../cloud/types';
import { asGatewayId } from '../../protocol/ids';
import { createPgTestDb, createSqliteTestDb, pgAvailable, type TestDb } from '../helpers/db';

const withPg = await pgAvailable();
const ref: CloudRef = { provider: 'aws', accountId: 'ac1', region: 'eu-west-1' };

for (const { kind, enabled, create } of [
  { kind: 'sqlite', enabled: true, create: createSqliteTestDb },
  { kind: 'postgresql', enabled: withPg, create: createPgTestDb },
]) {
  describe.runIf(enabled)(`store on ${kind}`, () => {
    let testDb: TestDb;
    let store: Store;
    const at = new Date('2030-01-02T03:04:05.678Z');

    beforeAll(async () => {
      testDb = await create();
      store = createStore(testDb.db);
      await store.accounts.create({ id: 'ac1', name: 'acct', provider: 'aws', credentialsCiphertext: null, endpoints: { ec2: 'https://ec2.example' } });
      await store.gateways.create({ id: 'gwa', name: 'a', provider: 'onprem', cidrs: ['10.1.0.0/24'], publicIp: '198.51.100.1', inbound: true, secretHash: 'h-a' });
      await store.gateways.create({ id: 'gwb', name: 'b', provider: 'aws', cidrs: [], publicIp: '198.51.100.2', secretHash: 'h-b', cloud: { accountId: 'ac1', region: 'eu-west-1', routeTablesWanted: null } });
      await store.gateways.applyDiscovery('gwb', { cidrs: ['10.2.0.0/16'], instanceId: 'i-1', privateIp: '10.2.0.5', vpcId: 'vpc-1', subnetId: 'sn-1', routeTableIds: ['rtb-1', 'rtb-2'], securityGroupIds: ['sg-1'], discovered: { any: 'thing' } }, at);
      await store.links.create(
        { id: 'ln1', aId: 'gwa', bId: 'gwb', activePairKey: 'gwa|gwb', aCidrs: ['10.1.0.0/24'], bCidrs: ['10.2.0.0/16'], pskCiphertext: 'sealed', workflowId: 'link-ln1' },
        { type: 'link.requested', message: 'requested', data: { n: 1 } },
        at,
      );
    });
    afterAll(async () => {
      await testDb?.cleanup();
    });

    it('reads typed records: parsed lists, facts, presence, events', async () => {
      const link = await store.links.withEnds('ln1');
      expect(link).toMatchObject({ id: 'ln1', state: 'provisioning', aCidrs: ['10.1.0.0/24'], bCidrs: ['10.2.0.0/16'], aTunnelUp: false, deleteRequestedAt: null, keyVersion: 1 });
      expect(link!.b).toMatchObject({ provider: 'aws', routeTableIds: ['rtb-1', 'rtb-2'], securityGroupIds: ['sg-1'], cidrs: ['10.2.0.0/16'], inbound: null, online: false });
      expect(link!.a).toMatchObject({ inbound: true, routeTableIds: [], facts: null });
      expect(link!.createdAt).toBeInstanceOf(Date);
      expect(await store.links.events('ln1')).toEqual([{ id: expect.any(Number) as number, at, type: 'link.requested', message: 'requested', data: { n: 1 } }]);
      expect((await store.links.liveOf(['gwa'])).map((l) => l.id)).toEqual(['ln1']);
      expect(await store.links.liveOf(['gwa'], 'ln1')).toEqual([]);
      expect(await store.gateways.locate('gwb')).toEqual({ online: false, hubInstance: null, lastSeenAt: null });
      expect(await store.gateways.locate('nope')).toBeUndefined();
      expect(await store.gateways.budgetTargets()).toEqual([{ provider: 'aws', accountId: 'ac1', region: 'eu-west-1' }]);
      expect((await store.accounts.get('ac1'))!.endpoints).toEqual({ set: { ec2: 'https://ec2.example' } });
    });

    it('keeps times in UTC whatever the process\'s time zone, and raw statements agree with the model API on them', async () => {
      const zone = process.env.TZ;
      process.env.TZ = 'America/New_York'; // Node applies a TZ change at once
      try {
        const when = new Date('2031-07-08T23:30:00.125Z');
        // Written by a raw statement (PostgreSQL: straight on the pool), read back by Prisma's model API and raw.
        await store.links.addEvents('ln1', [{ type: 'link.tz', message: 'raw write' }], when);
        const row = await testDb.db.linkEvent.findFirst({ where: { linkId: 'ln1', type: 'link.tz' } });
        expect(row!.at.toISOString()).toBe(when.toISOString());
        expect((await store.links.events('ln1')).find((e) => e.type === 'link.tz')!.at.toISOString()).toBe(when.toISOString());
        // Written by the model API, read back by a raw statement.
        await testDb.db.linkEvent.create({ data: { linkId: 'ln1', at: new Date('2031-01-02T03:04:05.006Z'), type: 'link.tz2', message: 'model write', data: '{}' } });
        expect((await store.links.events('ln1')).find((e) => e.type === 'link.tz2')!.at.toISOString()).toBe('2031-01-02T03:04:05.006Z');
      } finally {
        await testDb.db.linkEvent.deleteMany({ where: { type: { in: ['link.tz', 'link.tz2'] } } });
        if (zone === undefined) delete process.env.TZ;
        else process.env.TZ = zone;
      }
    });

    it('refuses duplicates with DuplicateError and a corrupt JSON column with CorruptRowError', async () => {
      await expect(store.gateways.create({ id: 'gwz', name: 'a', provider: 'onprem', cidrs: [], publicIp: null, secretHash: 'x' })).rejects.toBeInstanceOf(DuplicateError);
      await testDb.db.gateway.create({ data: { id: 'gwbad', name: 'bad', provider: 'onprem', cidrs: '{"not":"a list"}', secretHash: 'x' } });
      await expect(store.gateways.get('gwbad')).rejects.toBeInstanceOf(CorruptRowError);
      await testDb.db.gateway.update({ where: { id: 'gwbad' }, data: { cidrs: '[]', facts: 'not json' } });
      expect((await store.gateways.get('gwbad'))!.facts).toBeNull();
      await testDb.db.gateway.delete({ where: { id: 'gwbad' } });
    });

    it('claims routes once per owner, refuses another link\'s route, records outcomes with events', async () => {
      const routes = [
        { routeTableId: 'rtb-1', destinationCidr: '10.1.0.0/24', instanceId: 'i-1' },
        { routeTableId: 'rtb-2', destinationCidr: '10.1.0.0/24', instanceId: 'i-1' },
      ];
      const first = await store.claims.claimRoutes({ linkId: 'ln1', gatewayId: 'gwb', ref, routes }, at);
      if ('conflict' in first) throw new Error(first.conflict);
      expect(first.claims.map((c) => [c.route.routeTableId, c.state, c.preexisting])).toEqual([['rtb-1', 'creating', false], ['rtb-2', 'creating', false]]);
      const again = await store.claims.claimRoutes({ linkId: 'ln1', gatewayId: 'gwb', ref, routes }, at);
      expect(again).toEqual(first);
      expect(await store.claims.claimRoutes({ linkId: 'ln2', gatewayId: 'gwb', ref, routes: routes.slice(0, 1) }, at)).toEqual({ conflict: 'route 10.1.0.0/24 in rtb-1 is already managed for link ln1' });
      const [one, two] = first.claims;
      await store.claims.markRoutes('ln1', [{ id: one!.id, state: 'present', preexisting: true }, { id: two!.id, state: 'present', instanceId: 'i-2' }], [{ type: 'cloud.routes_added', message: 'two' }], at);
      expect((await store.claims.routesOf('ln1', 'gwb')).map((c) => [c.state, c.preexisting, c.route.instanceId])).toEqual([['present', true, 'i-1'], ['present', false, 'i-2']]);
      await store.claims.markRoutes('ln1', [{ id: one!.id, state: 'deleted' }], [], at);
      expect((await store.claims.routesOf('ln1', 'gwb')).map((c) => c.id)).toEqual([two!.id]);
      // Released: another link may claim the route now.
      const taken = await store.claims.claimRoutes({ linkId: 'ln2', gatewayId: 'gwb', ref, routes: routes.slice(0, 1) }, at);
      expect('claims' in taken && taken.claims[0]!.id).not.toBe(one!.id);
      expect((await store.links.events('ln1')).map((e) => e.type)).toEqual(['link.requested', 'cloud.routes_added']);
    });

    it('claims peer rules idempotently and releases the last holder\'s rule', async () => {
      const rule = { securityGroupId: 'sg-1', peerIp: '198.51.100.1', description: 'ipsec peer' };
      await store.claims.claimRule({ linkId: 'ln1', gatewayId: 'gwb', ...rule }, at);
      await store.claims.claimRule({ linkId: 'ln1', gatewayId: 'gwb', ...rule }, at);
      await store.claims.claimRule({ linkId: 'ln9', gatewayId: 'gwb', ...rule }, at);
      expect(await store.claims.unclaimedRules([rule, { ...rule, peerIp: '203.0.113.9' }])).toEqual([{ ...rule, peerIp: '203.0.113.9' }]);
      expect(await store.claims.releaseRules('ln1', 'gwb')).toEqual({ unneeded: [], kept: 1 });
      expect(await store.claims.releaseRules('ln9', 'gwb')).toEqual({ unneeded: [rule], kept: 0 });
      expect(await store.claims.unclaimedRules([rule])).toEqual([rule]);
    });

    it('writes the workflow\'s state with its events in order; a recorded delete keeps its state', async () => {
      expect(await store.links.setState({ linkId: 'ln1', state: 'up', events: [{ type: 'e1', message: '1' }, { type: 'e2', message: '2', data: { x: [1] } }] }, at)).toBe(true);
      expect((await store.links.get('ln1'))!.state).toBe('up');
      const first = await store.links.requestDelete('ln1', at);
      if (typeof first === 'string') throw new Error(first);
      expect(first.first).toBe(true);
      expect(first.link).toMatchObject({ state: 'deleting', deleteRequestedAt: at });
      const later = new Date(at.getTime() + 1000);
      const repeat = await store.links.requestDelete('ln1', later);
      expect(repeat).toMatchObject({ first: false, link: { state: 'deleting', deleteRequestedAt: at } });
      // A late "up" from the workflow does not overwrite the intent; its events are kept.
      expect(await store.links.setState({ linkId: 'ln1', state: 'up', reason: 'late', events: [{ type: 'link.up', message: 'late' }] }, later)).toBe(false);
      expect(await store.links.requestChange({ linkId: 'ln1', fromState: 'deleting', aCidrs: [], bCidrs: [] }, later)).toBe(false);
      expect((await store.links.get('ln1'))!.state).toBe('deleting');
      expect(await store.links.setState({ linkId: 'ln1', state: 'deleting' }, later)).toBe(true);
      expect((await store.links.events('ln1')).map((e) => e.type).slice(-4)).toEqual(['e1', 'e2', 'link.delete_requested', 'link.up']);
      expect((await store.links.pendingIntents(new Date(later.getTime() + 1), 10)).map((p) => [p.id, p.intent])).toEqual([['ln1', 'delete']]);
      await store.links.finishDelete('ln1', { type: 'link.deleted', message: 'gone' }, later);
      expect(await store.links.get('ln1')).toMatchObject({ state: 'deleted', activePairKey: null, deletedAt: later });
      expect(await store.links.requestDelete('ln1', later)).toBe('deleted');
      expect(await store.links.requestDelete('nope', later)).toBe('missing');
      expect(await store.links.pendingIntents(new Date(later.getTime() + 1), 10)).toEqual([]);
      expect(await store.links.liveOf(['gwa'])).toEqual([]);
    });

    it('rolls a transaction back when its callback throws', async () => {
      await expect(
        store.transaction(async (tx) => {
          await tx.gateways.create({ id: 'gwt', name: 't', provider: 'onprem', cidrs: [], publicIp: null, secretHash: 'x' });
          await tx.transaction(async (nested) => nested.links.addEvents('ln1', [{ type: 'inside', message: 'x' }], at));
          throw new Error('no');
        }),
      ).rejects.toThrow('no');
      expect(await store.gateways.get('gwt')).toBeUndefined();
      expect((await store.links.events('ln1')).map((e) => e.type)).not.toContain('inside');
    });

    it('applies presence batches: online, offline by the holding instance only, touch, unknown gateways', async () => {
      const t1 = new Date('2030-01-02T03:05:00.000Z');
      const t2 = new Date('2030-01-02T03:06:00.000Z');
      const facts = { agentVersion: '0.1.0', localAddrs: ['10.0.0.2'], connection: { via: 'direct' as const } };
      const found = await store.presence.apply([
        { kind: 'online', gatewayId: asGatewayId('gwa'), observedIp: '203.0.113.5', facts, instance: 'h1', at: t1 },
        { kind: 'online', gatewayId: asGatewayId('ghost'), observedIp: undefined, facts, instance: 'h1', at: t1 },
        { kind: 'offline', gatewayId: asGatewayId('gwb'), instance: 'h2', at: t1 },
      ]);
      expect(found).toEqual([true, false, true]);
      // A heartbeat refreshes only the rows this instance holds.
      expect(await store.presence.apply([{ kind: 'touch', gatewayIds: [asGatewayId('gwa'), asGatewayId('gwb')], instance: 'h1', at: t2 }])).toEqual([true]);
      expect((await store.gateways.get('gwb'))!.lastSeenAt).toBeNull();
      expect(await store.gateways.get('gwa')).toMatchObject({ online: true, hubInstance: 'h1', observedIp: '203.0.113.5', facts, lastSeenAt: t2 });
      await store.presence.apply([{ kind: 'offline', gatewayId: asGatewayId('gwa'), instance: 'other', at: t2 }]);
      expect((await store.gateways.get('gwa'))!.online).toBe(true);
      await store.presence.apply([
        { kind: 'online', gatewayId: asGatewayId('gwb'), observedIp: '203.0.113.6', facts, instance: 'h2', at: t1 },
        { kind: 'offline', gatewayId: asGatewayId('gwb'), instance: 'h2', at: t2 },
      ]);
      expect(await store.gateways.locate('gwb')).toEqual({ online: false, hubInstance: 'h2', lastSeenAt: t2 });
      expect(await store.presence.secretHashes([asGatewayId('gwb'), asGatewayId('ghost'), asGatewayId('gwa')])).toEqual(['h-b', undefined, 'h-a']);
    });

    it('sets a tunnel flag only on a live link of that gateway', async () => {
      await store.links.create(
        { id: 'ln3', aId: 'gwa', bId: 'gwb', activePairKey: 'gwa|gwb', aCidrs: ['10.1.0.0/24'], bCidrs: ['10.2.0.0/16'], pskCiphertext: 'sealed', workflowId: 'link-ln3' },
        { type: 'link.requested', message: 'requested' },
        at,
      );
      expect(await store.links.setTunnelUp('ln3', 'gwb', true, at)).toBe(true);
      expect(await store.links.setTunnelUp('ln3', 'gwx', true, at)).toBe(false);
      expect(await store.links.get('ln3')).toMatchObject({ aTunnelUp: false, bTunnelUp: true });
      expect(await store.links.pskOf('ln3')).toBe('sealed');
      await expect(
        store.links.create({ id: 'ln4', aId: 'gwa', bId: 'gwb', activePairKey: 'gwa|gwb', aCidrs: [], bCidrs: [], pskCiphertext: 's', workflowId: 'link-ln4' }, { type: 't', message: 'm' }, at),
      ).rejects.toBeInstanceOf(DuplicateError);
    });
  });
}
