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

/** Inverse of connName; undefined for connections this project did not create. */
export function linkIdFromConn(name: string): LinkId | undefined {
  return name.startsWith('link-') && name.length > 5 ? asLinkId(name.slice(5)) : undefined;
}

/** The IKE identity a gateway uses: explicit, never derived from an address (clouds NAT the public IP). */
export const ikeIdentity = (gatewayId: GatewayId): string => `gw-${gatewayId}`;
