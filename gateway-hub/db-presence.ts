// PresenceStore over the controller database.
import type { Db } from '../db';
import type { GatewayId } from '../protocol/ids';
import type { PresenceStore } from './presence';

export function dbPresenceStore(db: Db): PresenceStore {
  return {
    async secretHash(gatewayId) {
      const g = await db.gateway.findUnique({ where: { id: gatewayId }, select: { secretHash: true } });
      return g?.secretHash;
    },
    async markOnline(gatewayId, p) {
      await db.gateway.update({
        where: { id: gatewayId },
        data: { online: true, lastSeenAt: p.at, observedIp: p.observedIp ?? null, facts: JSON.stringify(p.facts), hubInstance: p.instance },
      });
    },
    async markOffline(gatewayId, instance, at) {
      // Conditional on the instance: if the agent already reconnected to another controller, keep that.
      await db.gateway.updateMany({ where: { id: gatewayId, hubInstance: instance }, data: { online: false, lastSeenAt: at } });
    },
    async touch(gatewayIds: GatewayId[], instance, at) {
      // Chunked so a large fleet does not hit SQL parameter limits.
      for (let i = 0; i < gatewayIds.length; i += 500) {
        await db.gateway.updateMany({ where: { id: { in: gatewayIds.slice(i, i + 500) }, hubInstance: instance }, data: { lastSeenAt: at } });
      }
    },
  };
}
