// What the hub needs from storage, kept small so the hub can be tested and benchmarked on its own.
import type { Facts } from '../protocol/messages';
import type { GatewayId } from '../protocol/ids';

export interface PresenceStore {
  /** The stored secret hash of a gateway, or undefined when it does not exist. */
  secretHash(gatewayId: GatewayId): Promise<string | undefined>;
  /**
   * The same for many gateways, queued apart from the authentications' lookups: re-checks after
   * changes (a reconnect storm changes every gateway's row) must not delay agents authenticating.
   */
  secretHashes?(gatewayIds: readonly GatewayId[]): Promise<Array<string | undefined>>;
  /** Records that this instance now holds the gateway's socket; resolves once it is durable. Rejects with GatewayGoneError when the gateway does not exist (any more). */
  markOnline(gatewayId: GatewayId, p: { observedIp: string | undefined; facts: Facts; instance: string; at: Date }): Promise<void>;
  /** Records the disconnect, unless another instance took the gateway over meanwhile. */
  markOffline(gatewayId: GatewayId, instance: string, at: Date): Promise<void>;
  /** Refreshes last-seen for many connected gateways at once. */
  touch(gatewayIds: GatewayId[], instance: string, at: Date): Promise<void>;
  /**
   * Spends an enrolment token and sets the gateway's secret, atomically: true only when a token
   * with this hash exists for this gateway, unused and not expired at `now`. Concurrent attempts
   * with one token: exactly one wins.
   */
  redeemEnrolment(gatewayId: GatewayId, tokenHash: string, newSecretHash: string, now: Date): Promise<boolean>;
}

/** The gateway was deleted while its agent was connecting or connected. */
export class GatewayGoneError extends Error {
  override name = 'GatewayGoneError';
}
