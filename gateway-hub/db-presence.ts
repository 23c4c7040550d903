// The hub's PresenceStore over the controller's store (store/presence.ts), and enrolment, which
// sets the secret the hub checks. Lookups and presence writes are batched (see Batcher): after a
// controller restart every agent dials at once, and one query and one commit per agent would queue
// thousands of statements behind a 10-connection pool and a disk that takes tens of milliseconds
// per fsync, until agents time out and retry, which only adds to the queue.
import type { Db } from '../db';
import type { GatewayId } from '../protocol/ids';
import { createStore, type PresenceWrite, type Store } from '../store';
import { Batcher } from './batcher';
import { GatewayGoneError, type PresenceStore } from './presence';

export function batchedPresenceStore(records: Store['presence']): PresenceStore {
  // Reads may overlap; a few in flight keep the pool busy without starving other users of the database.
  const lookups = new Batcher<GatewayId, string | undefined>((ids) => records.secretHashes(ids), { maxBatch: 1000, concurrency: 3 });
  // Re-checks after changes: one query at a time, beside the lookups agents wait on. In a reconnect
  // storm every presence write is a change, and sharing the lookups' slots made authentications
  // wait behind them (bench:hub: ten times the failed attempts, the storm 50% longer).
  const rechecks = new Batcher<GatewayId, string | undefined>((ids) => records.secretHashes(ids), { maxBatch: 1000, concurrency: 1 });
  // One batch in flight, each batch one transaction: writes apply in submission order (an agent
  // that drops and reconnects ends with the state of its last event), batches never contend for
  // the same rows, and a batch is all durable or all reported failed, so no hello is acknowledged
  // that was not recorded.
  const writes = new Batcher<PresenceWrite, boolean>((batch) => records.apply(batch), { maxBatch: records.writeBatchLimit, concurrency: 1 });

  return {
    secretHash: (gatewayId) => lookups.submit(gatewayId),
    secretHashes: (gatewayIds) => Promise.all(gatewayIds.map((gatewayId) => rechecks.submit(gatewayId))),
    async markOnline(gatewayId, presence) {
      const found = await writes.submit({ kind: 'online', gatewayId, ...presence });
      // A gateway deleted while its agent connected fails its own hello, not the whole batch.
      if (!found) throw new GatewayGoneError(`gateway ${gatewayId} no longer exists`);
    },
    async markOffline(gatewayId, instance, at) {
      await writes.submit({ kind: 'offline', gatewayId, instance, at });
    },
    async touch(gatewayIds, instance, at) {
      await writes.submit({ kind: 'touch', gatewayIds, instance, at });
    },
    redeemEnrolment: (gatewayId, tokenHash, newSecretHash, now) => records.redeemEnrolment(gatewayId, tokenHash, newSecretHash, now),
  };
}

/** The same over a database handle (tests and the hub benchmark build hubs this way). */
export function dbPresenceStore(db: Db): PresenceStore {
  return batchedPresenceStore(createStore(db).presence);
}
