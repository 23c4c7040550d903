// Branded identifiers: a GatewayId can never be passed where a LinkId is expected.
declare const brand: unique symbol;
export type Brand<T, B extends string> = T & { readonly [brand]: B };

export type GatewayId = Brand<string, 'GatewayId'>;
export type LinkId = Brand<string, 'LinkId'>;
export type RequestId = Brand<string, 'RequestId'>;
export type HubInstanceId = Brand<string, 'HubInstanceId'>;

export const asGatewayId = (s: string): GatewayId => s as GatewayId;
export const asLinkId = (s: string): LinkId => s as LinkId;
export const asHubInstanceId = (s: string): HubInstanceId => s as HubInstanceId;

/** The strongSwan connection (and CHILD_SA, and shared-secret id) name for a link. */
export const connName = (linkId: LinkId): string => `link-${linkId}`;

/**
 * What connName produces for any link id the API issues ("ln" + base32), within the 64 characters
 * a LinkConfig name may have. Names an agent reports are checked against it: nothing else is ours.
 */
export const CONN_NAME_PATTERN = /^link-([A-Za-z0-9_-]{1,59})$/;

export const isConnName = (name: string): boolean => CONN_NAME_PATTERN.test(name);

/** Inverse of connName; undefined for connections this project did not create. */
export function linkIdFromConn(name: string): LinkId | undefined {
  const match = CONN_NAME_PATTERN.exec(name);
  return match ? asLinkId(match[1]!) : undefined;
}

/** The IKE identity a gateway uses: explicit, never derived from an address (clouds NAT the public IP). */
export const ikeIdentity = (gatewayId: GatewayId): string => `gw-${gatewayId}`;
