// Stores what discovery found about a cloud gateway, all at once: either the whole picture becomes
// the gateway's truth (state ready), or nothing does (state failed, with the reason).
import type { Db } from '../db';
import type { DiscoveredGateway } from '../cloud/types';
import { normaliseCidrList } from '../lib/cidr';
import { parseJsonList } from './store-helpers';

export function createDiscoveryActivities(deps: { db: Db; clock: () => Date }) {
  const { db } = deps;
  return {
    async applyDiscovery(p: { gatewayId: string; discovered: DiscoveredGateway }): Promise<{ state: 'ready' | 'failed'; reason?: string }> {
      const g = await db.gateway.findUniqueOrThrow({ where: { id: p.gatewayId } });
      const d = p.discovered;
      // Operators may restrict which route tables are written; each must belong to the VPC.
      const wanted = g.routeTablesWanted ? parseJsonList(g.routeTablesWanted) : undefined;
      const unknown = wanted?.filter((t) => !d.routeTableIds.includes(t)) ?? [];
      if (unknown.length > 0) {
        const reason = `route table(s) ${unknown.join(', ')} are not in ${d.vpcId} (its tables: ${d.routeTableIds.join(', ') || 'none'})`;
        await fail(p.gatewayId, reason);
        return { state: 'failed', reason };
      }
      let cidrs: string[];
      try {
        cidrs = normaliseCidrList(d.vpcCidrs);
      } catch (err) {
        const reason = `the VPC's CIDR blocks are unusable: ${(err as Error).message}`;
        await fail(p.gatewayId, reason);
        return { state: 'failed', reason };
      }
      await db.gateway.update({
        where: { id: p.gatewayId },
        data: {
          state: 'ready',
          stateReason: null,
          cidrs: JSON.stringify(cidrs),
          instanceId: d.instanceId,
          privateIp: d.privateIp,
          vpcId: d.vpcId,
          subnetId: d.subnetId,
          routeTableIds: JSON.stringify(wanted ?? d.routeTableIds),
          securityGroupIds: JSON.stringify(d.securityGroupIds),
          discovered: JSON.stringify(d),
          discoveredAt: deps.clock(),
        },
      });
      return { state: 'ready' };
    },

    /**
     * The gateway now runs on the instance discovery found (the cloud confirmed what its agent
     * reported): its instance, address, subnet and security groups follow. Only within the same
     * VPC, for a gateway that is ready: another VPC means other networks and route tables, which
     * is a new gateway, not a failover.
     */
    async followDiscoveredInstance(p: { gatewayId: string; discovered: DiscoveredGateway }): Promise<{ changed: boolean } | { refused: string }> {
      const g = await db.gateway.findUniqueOrThrow({ where: { id: p.gatewayId } });
      const d = p.discovered;
      if (g.state !== 'ready') return { refused: `gateway ${g.name} is ${g.state}` };
      if (g.vpcId !== d.vpcId) return { refused: `${d.instanceId} is in ${d.vpcId}, not in the gateway's VPC ${g.vpcId ?? '(none)'}` };
      const securityGroupIds = JSON.stringify(d.securityGroupIds);
      const changed = g.instanceId !== d.instanceId || g.securityGroupIds !== securityGroupIds || g.privateIp !== d.privateIp;
      if (changed) {
        const r = await db.gateway.updateMany({
          where: { id: p.gatewayId, state: 'ready', vpcId: d.vpcId },
          data: { instanceId: d.instanceId, privateIp: d.privateIp, subnetId: d.subnetId, securityGroupIds, discovered: JSON.stringify(d), discoveredAt: deps.clock() },
        });
        if (r.count === 0) return { refused: `gateway ${g.name} changed meanwhile` };
      }
      return { changed };
    },

    async failDiscovery(p: { gatewayId: string; reason: string }): Promise<void> {
      await fail(p.gatewayId, p.reason);
    },
  };

  async function fail(gatewayId: string, reason: string): Promise<void> {
    // No partial data is kept as truth: everything discovery would set is cleared.
    await db.gateway.update({
      where: { id: gatewayId },
      data: { state: 'failed', stateReason: reason, cidrs: '[]', instanceId: null, privateIp: null, vpcId: null, subnetId: null, routeTableIds: null, securityGroupIds: null, discovered: null, discoveredAt: deps.clock() },
    });
  }
}
