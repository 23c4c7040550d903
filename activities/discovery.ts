// Stores what discovery found about a cloud gateway, all at once: either the whole picture becomes
// the gateway's truth (state ready), or nothing does (state failed, with the reason).
import type { Store } from '../store';
import type { DiscoveredGateway } from '../cloud/types';
import { normaliseCidrList } from '../lib/cidr';

export function createDiscoveryActivities(deps: { store: Store; clock: () => Date }) {
  const { gateways } = deps.store;
  const fail = (gatewayId: string, reason: string): Promise<void> => gateways.failDiscovery(gatewayId, reason, deps.clock());
  const gatewayOf = async (gatewayId: string) => {
    const gateway = await gateways.get(gatewayId);
    if (!gateway) throw new Error(`gateway ${gatewayId} not found`);
    return gateway;
  };

  return {
    async applyDiscovery(input: { gatewayId: string; discovered: DiscoveredGateway }): Promise<{ state: 'ready' | 'failed'; reason?: string }> {
      const gateway = await gatewayOf(input.gatewayId);
      const found = input.discovered;
      // Operators may restrict which route tables are written; each must belong to the VPC.
      const wanted = gateway.routeTablesWanted ?? undefined;
      const unknown = wanted?.filter((table) => !found.routeTableIds.includes(table)) ?? [];
      if (unknown.length > 0) {
        const reason = `route table(s) ${unknown.join(', ')} are not in ${found.vpcId} (its tables: ${found.routeTableIds.join(', ') || 'none'})`;
        await fail(input.gatewayId, reason);
        return { state: 'failed', reason };
      }
      let cidrs: string[];
      try {
        cidrs = normaliseCidrList(found.vpcCidrs);
      } catch (err) {
        const reason = `the VPC's CIDR blocks are unusable: ${(err as Error).message}`;
        await fail(input.gatewayId, reason);
        return { state: 'failed', reason };
      }
      await gateways.applyDiscovery(
        input.gatewayId,
        {
          cidrs,
          instanceId: found.instanceId,
          privateIp: found.privateIp,
          vpcId: found.vpcId,
          subnetId: found.subnetId,
          routeTableIds: wanted ?? found.routeTableIds,
          securityGroupIds: found.securityGroupIds,
          discovered: found,
        },
        deps.clock(),
      );
      return { state: 'ready' };
    },

    /**
     * The gateway now runs on the instance discovery found (the cloud confirmed what its agent
     * reported): its instance, address, subnet and security groups follow. Only within the same
     * VPC, for a gateway that is ready: another VPC means other networks and route tables, which
     * is a new gateway, not a failover.
     */
    async followDiscoveredInstance(input: { gatewayId: string; discovered: DiscoveredGateway }): Promise<{ changed: boolean } | { refused: string }> {
      const gateway = await gatewayOf(input.gatewayId);
      const found = input.discovered;
      if (gateway.state !== 'ready') return { refused: `gateway ${gateway.name} is ${gateway.state}` };
      if (gateway.vpcId !== found.vpcId) return { refused: `${found.instanceId} is in ${found.vpcId}, not in the gateway's VPC ${gateway.vpcId ?? '(none)'}` };
      const sameGroups = gateway.securityGroupIds.length === found.securityGroupIds.length && gateway.securityGroupIds.every((group, index) => group === found.securityGroupIds[index]);
      const changed = gateway.instanceId !== found.instanceId || !sameGroups || gateway.privateIp !== found.privateIp;
      if (changed) {
        const moved = { instanceId: found.instanceId, privateIp: found.privateIp, vpcId: found.vpcId, subnetId: found.subnetId, securityGroupIds: found.securityGroupIds, discovered: found };
        if (!(await gateways.followInstance(input.gatewayId, moved, deps.clock()))) return { refused: `gateway ${gateway.name} changed meanwhile` };
      }
      return { changed };
    },

    async failDiscovery(input: { gatewayId: string; reason: string }): Promise<void> {
      await fail(input.gatewayId, input.reason);
    },
  };
}
